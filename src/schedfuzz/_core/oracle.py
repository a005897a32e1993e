"""Oracles: the single source of every scheduling decision, and what they may see of a run.

The contract (modelled on shuttle's ``Scheduler``: ``new_execution``, ``next_task``,
``next_u64``): the runner tells the oracle when a run starts (``new_run``) and ends
(``end_run``), asks it which actor
runs at each *choice point* (more than one actor enabled: ``choose_actor``), and which value an
actor's ``schedfuzz.choose`` returns (``choose_value``). Nothing else in a run is
nondeterministic. An actor answer is relative to the default policy:

* ``0`` follows the default: keep running the current actor, or, if it blocked, finished,
  yielded or used up its fair quantum, the next enabled actor after it in spawn order;
* ``k >= 1`` runs the k-th other enabled actor in that same rotation.

So "no preemption" is the simplest answer, and a shrinker that lowers answers towards 0 removes
preemptions. A value answer is the index of the option. Both kinds go into one list of
decisions, in the order they were asked, which is what a replay gives back.

``new_run`` hands the oracle a ``RunView``: the runner itself, read through a protocol that names
what an oracle may look at (who is enabled, who ran, the trace so far, the state's
fingerprint). No object is made per step to show it.

An oracle is *exhausted* when it will only ever answer 0 again; the runner then knows the rest of
the run follows the fair default policy, which is what the step-bound verdict says.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from schedfuzz.errors import InvalidArgument, ReplayDiverged

if TYPE_CHECKING:
    from schedfuzz._core.actor import Actor
    from schedfuzz._core.trace import Trace
    from schedfuzz.settings import Settings

__all__ = ["DefaultOracle", "Oracle", "RandomOracle", "ReplayOracle", "RunView", "ScriptOracle",
           "check_oracle", "enabled_mask"]


class RunView(Protocol):
    """What an oracle may read of the run that asks it. The ``Runner`` is one: the view costs
    nothing per step. The choice-point fields describe the question being asked.

    Attributes:
        step: steps taken so far (the next step's index).
        current: the actor that ran last, or None before the first step.
        runnable: at an actor choice point, the candidates in spawn order.
        keep: at an actor choice point, whether answer 0 keeps ``current`` (so that any other
            answer is a preemption).
        consecutive: steps ``current`` has taken in a row while others were enabled (what the
            fair quantum limits).
        live: the actors not yet done, in spawn order.
        decisions: the answers given so far in this run, actor and value choices alike.
        preemptions: answers so far that preempted a kept actor.
        last_progress: the step of the last ``progress()`` mark, or -1.
        trace: the run's record so far (``trace.rows[s]`` is step ``s``).
        settings: the bounds the run runs under.
        inexact: values the fingerprints met that they cannot compare, with where.
        fingerprint_inexact: whether the last ``fingerprint()`` holds such a value.
    """

    @property
    def step(self) -> int: ...
    @property
    def current(self) -> Actor | None: ...
    @property
    def runnable(self) -> list[Actor]: ...
    @property
    def keep(self) -> bool: ...
    @property
    def consecutive(self) -> int: ...
    @property
    def live(self) -> list[Actor]: ...
    @property
    def decisions(self) -> list[int]: ...
    @property
    def preemptions(self) -> int: ...
    @property
    def last_progress(self) -> int: ...
    @property
    def trace(self) -> Trace: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def inexact(self) -> list[str]: ...
    @property
    def fingerprint_inexact(self) -> bool: ...

    def choice_order(self) -> list[Actor]:
        """The candidates in the order an actor answer indexes them."""
        ...

    def fingerprint(self) -> Any:
        """The exact state of the run now (actors' positions and values, the snapshot)."""
        ...

    def outline(self) -> Any:
        """The control part of ``fingerprint()`` (positions, wait states), cheaply."""
        ...

    def replaying(self, on: bool) -> None:
        """Skip (``on``) or resume the per-step invariants while replaying a checked prefix."""
        ...


class Oracle:
    """Base class of every oracle: subclass it and answer ``choose_actor`` and ``choose_value``.

    ``new_run`` keeps the view in ``self.run`` for oracles that look at the run (PCT's
    priorities, the exhaustive search's preemption bound); one that keeps per-run state resets
    it there, which is what makes an oracle reusable across runs.
    """

    exhausted: bool = False
    run: RunView | None = None

    def new_run(self, run: RunView) -> None:
        """A run starts, before its scenario function is called."""
        self.run = run

    def end_run(self) -> None:
        """The run is over (whatever its verdict). The default forgets the view: the runner
        holds its oracle, and a cycle between them would keep every finished run alive until
        the garbage collector came round (``step_overhead_ratio`` pays for that)."""
        self.run = None

    def choose_actor(self, n: int) -> int:
        """Which of ``n >= 2`` enabled actors runs next: an index in ``range(n)``, relative to
        the default policy (0: the default)."""
        msg = f"{type(self).__qualname__} does not define choose_actor(n)"
        raise NotImplementedError(msg)

    def choose_value(self, n: int) -> int:
        """Which of ``n >= 2`` options an actor's ``schedfuzz.choose`` returns: its index."""
        msg = f"{type(self).__qualname__} does not define choose_value(n)"
        raise NotImplementedError(msg)


def enabled_mask(run: RunView) -> int:
    """The candidates of the current choice point as a bit mask of actor ids (what a state
    graph keeps per state and a livelock's fairness check reads)."""
    mask = 0
    for a in run.runnable:
        mask |= 1 << a.aid
    return mask


def check_oracle(oracle: object) -> Oracle:
    """``oracle`` if it is one, else ``InvalidArgument`` saying what an oracle is."""
    if isinstance(oracle, Oracle):
        return oracle
    hint = (" (the one-method protocol ``choose(n)`` is now choose_actor(n) and choose_value(n))"
            if hasattr(oracle, "choose") else "")
    msg = (f"{oracle!r} is not an oracle: subclass schedfuzz.Oracle and define choose_actor(n) "
           f"and choose_value(n){hint}")
    raise InvalidArgument(msg)


class DefaultOracle(Oracle):
    """Always the default policy (and the first option): the run a sequential reader expects."""

    exhausted = True

    def choose_actor(self, n: int) -> int:
        return 0

    choose_value = choose_actor


class ReplayOracle(Oracle):
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

    def choose_actor(self, n: int) -> int:
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

    # A recording holds actor and value answers in one list, in the order they were asked.
    choose_value = choose_actor


class RandomOracle(Oracle):
    """A seeded random walk: uniform among enabled actors, with a bias to keep running.

    Args:
        seed: the seed; the same seed gives the same schedule in any process.
        switch_probability: probability of departing from the default at a choice point.
    """

    exhausted = False

    def __init__(self, seed: int, switch_probability: float = 0.5) -> None:
        self.random = random.Random(seed)
        self.p = switch_probability

    def choose_actor(self, n: int) -> int:
        r = self.random.random()
        if r >= self.p:
            return 0
        return 1 + int(r / self.p * (n - 1))

    # The same draw for a value: a seed keeps giving the schedules it gave before.
    choose_value = choose_actor


class ScriptOracle(Oracle):
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

    def _next(self) -> str | int:
        i = self.index
        self.index += 1
        if i >= len(self.names):
            if self.repeat_from is None:
                self.exhausted = True
                return 0
            span = len(self.names) - self.repeat_from
            i = self.repeat_from + (i - len(self.names)) % span
        return self.names[i]

    def choose_actor(self, n: int) -> int:
        want = self._next()
        if self.exhausted:
            return 0
        assert self.run is not None  # internal: new_run came first
        order = self.run.choice_order()
        for k, actor in enumerate(order):
            if actor.name == want:
                return k
        enabled = ", ".join(a.name for a in order)
        msg = f"script wants {want!r} at choice point {self.index - 1}, but enabled are: {enabled}"
        raise ReplayDiverged(msg)

    def choose_value(self, n: int) -> int:
        want = self._next()  # schedfuzz.choose: the script gives the option's index
        if self.exhausted:
            return 0
        if isinstance(want, int) and not isinstance(want, bool) and 0 <= want < n:
            return want
        msg = (f"script has {want!r} at choice point {self.index - 1}, which picks one of "
               f"{n} values: give the index of the value")
        raise ReplayDiverged(msg)
