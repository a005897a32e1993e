"""Oracles: the single source of every scheduling decision.

The runner asks ``oracle.choose(n)`` at each *choice point* (more than one actor enabled) and
nothing else in a run is nondeterministic. The answer is relative to the default policy:

* ``0`` follows the default: keep running the current actor, or, if it blocked, finished,
  yielded or used up its fair quantum, the next enabled actor after it in spawn order;
* ``k >= 1`` runs the k-th other enabled actor in that same rotation.

So "no preemption" is the simplest answer, and a shrinker that lowers answers towards 0 removes
preemptions. An oracle is *exhausted* when it will only ever answer 0 again; the runner then knows
the rest of the run follows the fair default policy, which is what the step-bound livelock verdict
needs to say.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from schedfuzz.errors import InvalidArgument, ReplayDiverged

__all__ = ["DefaultOracle", "Oracle", "RandomOracle", "ReplayOracle", "ScriptOracle"]


@runtime_checkable
class Oracle(Protocol):
    """Anything that can answer the scheduler's question."""

    exhausted: bool

    def choose(self, n: int) -> int:
        """Return an index in ``range(n)``; called only with ``n >= 2``."""
        ...


class DefaultOracle:
    """Always the default policy: the run a sequential reader would expect."""

    exhausted = True

    def choose(self, n: int) -> int:
        return 0


class ReplayOracle:
    """Replays a recorded decision list, then follows the default policy (or loops a lasso).

    Args:
        decisions: the recorded answers, one per choice point.
        widths: optional recorded ``n`` of each choice point; a mismatch raises ``ReplayDiverged``
            naming the choice point, which is how a changed program is detected.
        cycle_start: for a livelock reproducer, the index where the lasso's cycle starts: after
            the last decision the oracle repeats ``decisions[cycle_start:]`` forever.
    """

    def __init__(
        self,
        decisions: Sequence[int],
        widths: Sequence[int] | None = None,
        cycle_start: int | None = None,
    ) -> None:
        self.decisions = list(decisions)
        self.widths = None if widths is None else list(widths)
        if cycle_start is not None and not 0 <= cycle_start <= len(self.decisions):
            msg = f"cycle_start={cycle_start!r} is outside the {len(self.decisions)} decisions"
            raise InvalidArgument(msg)
        self.cycle_start = cycle_start
        self.index = 0
        self.exhausted = not self.decisions and cycle_start is None

    def choose(self, n: int) -> int:
        i = self.index
        self.index = i + 1
        if i >= len(self.decisions):
            if self.cycle_start is None or self.cycle_start == len(self.decisions):
                self.exhausted = True
                return 0
            span = len(self.decisions) - self.cycle_start
            i = self.cycle_start + (i - len(self.decisions)) % span
            return self.decisions[i] % n
        if self.widths is not None and i < len(self.widths) and self.widths[i] != n:
            msg = (
                f"replay diverged at choice point {i}: the recording had "
                f"{self.widths[i]} enabled actors, the program now has {n}"
            )
            raise ReplayDiverged(msg)
        choice = self.decisions[i]
        if choice >= n:
            msg = (
                f"replay diverged at choice point {i}: decision {choice} but only {n} actors "
                "are enabled"
            )
            raise ReplayDiverged(msg)
        if i + 1 >= len(self.decisions) and self.cycle_start is None:
            self.exhausted = True
        return choice


class RandomOracle:
    """A seeded random walk: uniform among enabled actors, with a bias to keep running.

    Args:
        seed: the seed; the same seed gives the same schedule in any process.
        switch_probability: probability of departing from the default at a choice point.
    """

    exhausted = False

    def __init__(self, seed: int, switch_probability: float = 0.5) -> None:
        self.random = random.Random(seed)
        self.p = switch_probability

    def choose(self, n: int) -> int:
        r = self.random.random()
        if r >= self.p:
            return 0
        return 1 + int(r / self.p * (n - 1))


class ScriptOracle:
    """Picks actors by name: the readable way to write a hand-made schedule in a test.

    ``ScriptOracle(["a", "a", "b"])`` runs ``a`` at the first two choice points and ``b`` at the
    third, then follows the default policy. A data choice (``schedfuzz.choose``) takes an int:
    the index of the value. With ``repeat_from=i`` the names from index ``i`` on
    repeat forever (a livelock script). A name that is not enabled raises ``ReplayDiverged``
    listing the enabled actors. Only choice points consult it: a step with one enabled actor
    takes no entry.
    """

    def __init__(self, names: Sequence[str | int], repeat_from: int | None = None) -> None:
        self.names = list(names)
        self.repeat_from = repeat_from
        self.index = 0
        self.exhausted = not self.names

    def choose(self, n: int) -> int:
        from schedfuzz._core.traps import current_runner

        i = self.index
        self.index += 1
        if i >= len(self.names):
            if self.repeat_from is None:
                self.exhausted = True
                return 0
            span = len(self.names) - self.repeat_from
            i = self.repeat_from + (i - len(self.names)) % span
        runner = current_runner()
        want = self.names[i]
        if runner.data_choice:  # schedfuzz.choose: the script gives the option's index
            if isinstance(want, int) and not isinstance(want, bool) and 0 <= want < n:
                return want
            msg = (f"script has {want!r} at choice point {self.index - 1}, which picks one of "
                   f"{n} values: give the index of the value")
            raise ReplayDiverged(msg)
        order = runner.choice_order()
        for k, actor in enumerate(order):
            if actor.name == want:
                return k
        enabled = ", ".join(a.name for a in order)
        msg = f"script wants {want!r} at choice point {self.index - 1}, but enabled are: {enabled}"
        raise ReplayDiverged(msg)
