"""The ``pct`` engine: probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010), fair.

PCT gives every actor a random priority and always runs the highest-priority enabled actor. At
``d - 1`` change points, drawn uniformly over the run's length, the running actor drops below
every initial priority. A bug of *depth* d (d ordering constraints between steps) is then found
by one run with probability at least ``1 / (n * k^(d-1))`` for n actors and k steps, and in
practice far more often: PCT with d = 3 found 48 of the 49 SCTBench bugs.

Adapted to this scheduler:

* k counts choice points, not steps (a step with one enabled actor cannot be reordered). It is
  learned from earlier runs: the first ``CALIBRATION`` schedules of a search run with d = 1 (pure
  random priorities, no change point), and k is the largest number of choice points they met.
  Every worker process runs those few schedules itself, so schedule ``i`` is the same everywhere.
* Actors spawned mid-run get a random priority among the initial ones when first seen.
* Fairness (PCT itself is not fair, so a spin-wait at high priority would starve the actor it
  waits for): an actor that yields (``checkpoint(yield_=True)``) or runs a full
  ``Settings.fair_quantum`` while others are enabled drops below every other priority, as
  Shuttle's PCT demotes a yielding task. Spin-waits then terminate and a run that hits the step
  bound is still evidence of a livelock.

The answer to the scheduler is relative: the chosen actor's index in the choice order
(``RunView.choice_order``).
"""

from __future__ import annotations

import random
from typing import Any

from schedfuzz._core.actor import ActorState
from schedfuzz._core.oracle import Oracle
from schedfuzz._core.runner import Runner
from schedfuzz.budget import Budget
from schedfuzz.engines import register_engine
from schedfuzz.engines.random_walk import derive_seed
from schedfuzz.engines.sampling import sample
from schedfuzz.errors import InvalidArgument
from schedfuzz.scenario import ScenarioInfo
from schedfuzz.settings import Settings
from schedfuzz.verdict import Report

__all__ = ["CALIBRATION", "Pct", "PctOracle", "pct_engine", "search"]

CALIBRATION = 4  # schedules run with d = 1 to learn the run length
RUNNABLE = ActorState.RUNNABLE


class PctOracle(Oracle):
    """One PCT schedule: random priorities, ``depth - 1`` change points in ``1..length``."""

    def __init__(self, seed: int, depth: int, length: int) -> None:
        self.random = random.Random(seed)
        self.depth = depth
        self.change_points = sorted(self.random.randint(1, max(1, length))
                                    for _ in range(depth - 1))
        self.priority: dict[int, float] = {}  # actor id -> priority; higher runs first
        self.count = 0  # choice points so far
        self.next_change = 0  # index into change_points
        self.floor = 0.0  # below every priority given so far (fairness demotions)

    def _priority(self, aid: int) -> float:
        p = self.priority.get(aid)
        if p is None:
            # Initial priorities lie in (depth, depth + 1); change point i sets priority i.
            p = self.priority[aid] = self.depth + self.random.random()
        return p

    def choose_value(self, n: int) -> int:
        return self.random.randrange(n)  # a value, not an actor: any, at random

    def choose_actor(self, n: int) -> int:
        runner = self.run
        assert runner is not None  # internal: new_run came first
        order = runner.choice_order()
        self.count += 1
        cur = runner.current
        points = self.change_points
        while self.next_change < len(points) and points[self.next_change] <= self.count:
            self.next_change += 1
            if cur is not None:
                self.priority[cur.aid] = float(self.next_change)
        # Not kept although runnable: it yielded or used up its fair quantum.
        if cur is not None and cur.state is RUNNABLE and not runner.keep:
            self.floor -= 1.0
            self.priority[cur.aid] = self.floor
        best = 0
        best_p = self._priority(order[0].aid)
        for i in range(1, n):
            p = self._priority(order[i].aid)
            if p > best_p:
                best, best_p = i, p
        return best


class Pct:
    """The sampler of the ``pct`` engine (see the module docstring)."""

    def __init__(self, info: ScenarioInfo, params: dict[str, Any], settings: Settings,
                 seed: int, depth: int = 3) -> None:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            msg = f"PCT depth must be a positive int, got {depth!r}"
            raise InvalidArgument(msg)
        self.seed = seed
        self.depth = depth
        self.length = 1
        for index in range(CALIBRATION):
            try:
                result = Runner(info.fn, params, self.oracle(index), settings).run()
            except Exception:  # the search itself reports a scenario that cannot run
                break
            self.length = max(self.length, len(result.decisions))
            if result.error is not None or not result.decisions:
                break  # the search meets this run again at once; nothing more to learn

    def oracle(self, index: int) -> PctOracle:
        seed = derive_seed(self.seed, index, "pct")
        if index < CALIBRATION:
            return PctOracle(seed, 1, 1)
        return PctOracle(seed, self.depth, self.length)


def search(info: ScenarioInfo, params: dict[str, Any], settings: Settings, budget: Budget, *,
           depth: int = 3) -> Report:
    """PCT with bug depth ``depth`` (the registered engine uses 3)."""
    return sample("pct", info, params, settings, budget, "schedfuzz.engines.pct:Pct",
                  depth=depth)


@register_engine("pct", parallel=True)
def pct_engine(info: ScenarioInfo, params: dict[str, Any], settings: Settings,
               budget: Budget) -> Report:
    """PCT with depth 3, split over ``budget.workers`` processes."""
    return search(info, params, settings, budget)
