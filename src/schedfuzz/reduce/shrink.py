"""Shrinking: turn a failing schedule into a minimal one that fails the same way.

A failure found by a random walk or by PCT carries every decision of a noisy run: dozens of
needless switches. The shrinker replays *candidates* (edited decision lists, or actor orders) and
keeps one only if

* it gives the same verdict kind (and, for an actor's exception, the same exception type; for a
  proved livelock, again a proved lasso rather than a step bound), and
* it is strictly simpler: fewer preemptions (what the field counts), then ``Schedule.sort_key``
  (fewer departures from the default policy, then fewer choice points, then smaller answers).

Each kept candidate is normalised to the decisions the run actually took (trailing default
answers dropped, since a replay answers 0 after the end anyway), so the result is a schedule the
ordinary ``ReplayOracle`` reproduces exactly and that the corpus stores as it is.

The passes, repeated until a whole round changes nothing or the time limit is reached:

1. join turns: two blocks of steps of one actor with others between become one
   (``schedfuzz.reduce.turns``); this removes most of a walk's switches in a few dozen runs;
2. truncate: keep the shortest prefix that still fails (the rest follows the default policy,
   also for a livelock, whose cycle the run loop then finds again);
3. delete runs of 8, 4, 2 and 1 consecutive decisions (later choices move up to earlier points);
4. zero runs of 8, 4, 2 and 1 decisions (each zeroed decision is one departure fewer);
5. lower each answer above 1 towards 1 (a nearer actor in the rotation);
6. move each departure one choice point later (same count, but a canonical, later placement);
7. when passes 1-6 are stuck: a bounded exhaustive search (``search.dfs`` pricing every
   departure, with state caching) for a failure of the same kind with fewer departures.

Passes 1-6 are local: they cannot turn three departures into one that sits somewhere else, which
a random walk's failure sometimes needs. Pass 7 can: it finds the fewest departures any such
failure needs, up to ``exhaustive_runs`` runs, and hands that schedule back to the local passes.

Every pass is deterministic and bounded (by the schedule's length, or by a run count), and every
kept candidate is strictly smaller, so shrinking terminates; the same failure always shrinks to
the same schedule unless the time limit cuts it short (a run limit, ``max_runs``, cuts it at the
same place on every machine).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import attrs

from schedfuzz._core import clock
from schedfuzz._core.oracle import Oracle
from schedfuzz._core.runner import RunResult
from schedfuzz.budget import Budget
from schedfuzz.execute import Outcome, run
from schedfuzz.reduce.turns import GuidedOracle, joined_orders, values_by_actor
from schedfuzz.schedule import Schedule
from schedfuzz.search import dfs
from schedfuzz.verdict import FailureKey

__all__ = ["ShrinkResult", "shrink", "size"]


def size(outcome: Outcome) -> tuple[int, int, int, tuple[int, ...]]:
    """Smaller is simpler: preemptions, then ``Schedule.sort_key`` (deviations, length, ...)."""
    return (outcome.result.preemptions, *outcome.schedule.sort_key())

Candidate = tuple[tuple[int, ...], int | None]


class LenientReplay(Oracle):
    """Replays a candidate that may no longer fit the run: out-of-range answers are clamped.

    Deleting a decision shifts the later ones to other choice points, where fewer actors may be
    enabled; clamping keeps the candidate meaningful instead of rejecting it. The run records
    what was actually answered, which is the candidate's normal form.
    """

    def __init__(self, decisions: tuple[int, ...], cycle_start: int | None) -> None:
        self.decisions = decisions
        self.cycle_start = cycle_start
        self.index = 0
        self.exhausted = not decisions and cycle_start is None

    def choose_actor(self, n: int) -> int:
        i = self.index
        self.index = i + 1
        decisions = self.decisions
        if i >= len(decisions):
            cs = self.cycle_start
            if cs is None or cs >= len(decisions):
                self.exhausted = True
                return 0
            i = cs + (i - len(decisions)) % (len(decisions) - cs)
        d = decisions[i]
        return d if d < n else n - 1

    choose_value = choose_actor  # one list of answers, in the order they were asked


@attrs.define
class ShrinkResult:
    """The shrunk failure and what shrinking it cost."""

    outcome: Outcome
    original: Schedule
    original_preemptions: int
    runs: int
    seconds: float
    timed_out: bool

    def stats(self) -> dict[str, Any]:
        return {
            "unshrunk_preemptions": self.original_preemptions,
            "unshrunk_decisions": len(self.original.decisions),
            "shrink_runs": self.runs,
            "shrink_seconds": round(self.seconds, 3),
            "shrink_timed_out": self.timed_out,
        }


class _Timeout(Exception):
    pass


def _normal_form(outcome: Outcome) -> Schedule:
    schedule = outcome.schedule
    if schedule.cycle_start is not None:
        return schedule
    decisions = list(schedule.decisions)
    while decisions and decisions[-1] == 0:
        decisions.pop()
    return Schedule(decisions)


class Shrinker:
    """Holds the best failing run so far and tries candidates against it."""

    def __init__(self, outcome: Outcome, deadline: float, exhaustive_runs: int = 2000,
                 max_runs: int | None = None) -> None:
        self.best = outcome
        self.schedule = _normal_form(outcome)
        self.key = size(attrs.evolve(outcome, schedule=self.schedule))
        self.failure = FailureKey.of(outcome)
        self.deadline = deadline  # on ``schedfuzz._core.clock``
        self.max_runs = max_runs
        self.tried: set[Candidate] = set()
        self.tried_orders: set[tuple[int, ...]] = set()
        self.runs = 0
        self.exhaustive_runs = exhaustive_runs
        self.searched_below: set[int] = set()  # departure counts pass 6 already searched under

    def same_failure(self, outcome: Outcome) -> bool:
        return self.same_result(outcome.result)

    def same_result(self, result: RunResult) -> bool:
        return self.failure.shown_by(FailureKey.of(result))

    def consider(self, decisions: tuple[int, ...], cycle_start: int | None) -> bool:
        """Run a candidate; keep it if it fails the same way and is simpler. True if kept."""
        key = (decisions, cycle_start)
        if key in self.tried:
            return False
        self.tried.add(key)
        return self._keep(LenientReplay(decisions, cycle_start))

    def _keep(self, oracle: Oracle) -> bool:
        if self._spent():
            raise _Timeout
        best = self.best
        outcome = run(best.info, oracle=oracle, settings=best.settings, **best.params)
        self.runs += 1
        if not self.same_failure(outcome):
            return False
        candidate = Outcome(best.info, best.params, outcome.result, _normal_form(outcome),
                            best.settings)
        key = size(candidate)  # fewer preemptions first, then the sort key
        if key >= self.key:
            return False
        self.best = candidate
        self.schedule = candidate.schedule
        self.key = key
        return True

    def _spent(self) -> bool:
        """The time limit passed, or the run limit is used up."""
        return clock.now() >= self.deadline or (
            self.max_runs is not None and self.runs >= self.max_runs)

    # -- passes: each yields candidates built from the current schedule ------------------------

    def join_turns(self) -> bool:
        """Replay the run's actor order with two turns of one actor joined, while that helps."""
        changed = False
        while True:
            result = self.best.result
            order = tuple(row[0] for row in result.trace.rows)
            values = values_by_actor(result.trace.rows, result.values)
            for candidate in joined_orders(order):
                if candidate not in self.tried_orders:
                    self.tried_orders.add(candidate)
                    if self._keep(GuidedOracle(candidate, values)):
                        changed = True
                        break
            else:
                return changed

    def truncate(self) -> bool:
        """Shortest failing prefix, found by doubling then bisecting (a heuristic: fails need
        not be monotone in the prefix length, but the usual failure needs only an early part).

        The prefixes are tried without a cycle: after them the default policy runs, and for a
        livelock it often goes round a lasso of its own, found again by the run loop."""
        decisions = self.schedule.decisions
        n = len(decisions)
        k = 0
        while k < n:
            if self.consider(decisions[:k], None):
                break
            k = 1 if k == 0 else k * 2
        else:
            return False
        lo, hi = k // 2, k
        while lo + 1 < hi:
            mid = (lo + hi) // 2
            if self.consider(decisions[:mid], None):
                hi = mid
            else:
                lo = mid
        return True

    def _sweep(self, edit: Any) -> bool:
        """Apply ``edit(decisions, cycle_start, i, size)`` at every position, for each size."""
        changed = False
        for size in (8, 4, 2, 1):
            i = 0
            while i < len(self.schedule.decisions):
                cand = edit(self.schedule.decisions, self.schedule.cycle_start, i, size)
                if cand is not None and self.consider(*cand):
                    changed = True
                    continue  # the schedule changed under i: try the same position again
                i += 1
        return changed

    @staticmethod
    def _delete(d: tuple[int, ...], cs: int | None, i: int, size: int) -> Candidate | None:
        if i + size > len(d):
            return None
        if cs is not None:
            if i < cs < i + size:
                return None  # would cut the lasso's stem and cycle together
            if i + size <= cs:
                cs -= size
        return d[:i] + d[i + size:], cs

    @staticmethod
    def _zero(d: tuple[int, ...], cs: int | None, i: int, size: int) -> Candidate | None:
        window = d[i:i + size]
        if len(window) < size or not any(window):
            return None
        return d[:i] + (0,) * size + d[i + size:], cs

    def lower(self) -> bool:
        changed = False
        i = 0
        while i < len(self.schedule.decisions):
            d, cs = self.schedule.decisions, self.schedule.cycle_start
            for value in range(1, d[i]):
                if self.consider((*d[:i], value, *d[i + 1:]), cs):
                    changed = True
                    break
            i += 1
        return changed

    def move_later(self) -> bool:
        changed = False
        i = 0
        while i + 1 < len(self.schedule.decisions):
            d, cs = self.schedule.decisions, self.schedule.cycle_start
            movable = d[i] and not d[i + 1] and (cs is None or i + 1 != cs)
            if movable and self.consider((*d[:i], 0, d[i], *d[i + 2:]), cs):
                changed = True
            i += 1
        return changed

    def exhaustive(self) -> bool:
        """Search every schedule with fewer departures than the current one (bounded)."""

        deviations = self.schedule.deviations
        if deviations <= 1 or deviations in self.searched_below or self.exhaustive_runs <= 0:
            return False  # 0 departures is the empty schedule, which truncate() tried
        self.searched_below.add(deviations)
        remaining = self.deadline - clock.now()
        runs = self.exhaustive_runs if self.max_runs is None else min(
            self.exhaustive_runs, self.max_runs - self.runs)
        if remaining <= 0 or runs <= 0:
            raise _Timeout
        best = self.best
        report = dfs.search(best.info, best.params, best.settings,
                            Budget(max_schedules=runs, seconds=remaining),
                            stateful=True, max_preemptions=deviations - 1, by_deviation=True,
                            accept=self.same_result)
        self.runs += report.schedules
        if report.outcome is None:
            return False
        found = report.outcome.schedule
        return self.consider(found.decisions, found.cycle_start)

    def passes(self) -> Iterator[bool]:
        yield self.join_turns()
        yield self.truncate()
        yield self._sweep(self._delete)
        yield self._sweep(self._zero)
        yield self.lower()
        yield self.move_later()

    def shrink(self) -> bool:
        """Run rounds of the local passes to a fixpoint, then the exhaustive pass, until
        neither changes anything; False if time ran out."""
        try:
            while any([*self.passes()]) or self.exhaustive():
                pass
        except _Timeout:
            return False
        return True


def shrink(outcome: Outcome, *, seconds: float = 30.0, exhaustive_runs: int = 2000,
           max_runs: int | None = None) -> ShrinkResult:
    """Shrink a failing ``outcome`` for at most ``seconds`` and ``max_runs`` runs (None: no
    run limit); see the module docstring.

    ``exhaustive_runs`` bounds pass 7 (0 turns it off). A run limit makes the result the same
    on every machine: a test that pins a shrunk schedule bounds it by runs, with ``seconds``
    only as a generous safety net.

    Returns the simplest failing run found (the input itself if nothing simpler fails the same
    way) with the cost of finding it. A passing outcome is returned unchanged.
    """
    started = time.perf_counter()
    shrinker = Shrinker(outcome, clock.now() + seconds, exhaustive_runs, max_runs)
    finished = shrinker.shrink() if outcome.failed else True
    best = shrinker.best
    if best is outcome:
        best = Outcome(outcome.info, outcome.params, outcome.result, shrinker.schedule,
                       outcome.settings)
    return ShrinkResult(best, outcome.schedule, outcome.result.preemptions, shrinker.runs,
                        time.perf_counter() - started, not finished)
