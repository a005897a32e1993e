"""Verdicts for a run that would not end, where ``detect`` explains one that cannot go on.

Three ways a run goes on forever, each told apart by how strong the evidence is:

1. **Lasso** (a proof): the state before step j equals the state before step i and the steps
   between are a fair cycle without progress, so the actors can go round it forever. Where the
   cycle needs ``choose`` to give other than its first value every round (a message lost
   again and again), the message says so: that is a livelock only for an environment that may
   keep doing it.
2. **Step bound** (not a proof, and not a livelock verdict: ``StepBound``, kind
   ``"step_bound"``): ``Settings.max_steps`` steps without finishing and without a repeated
   state; the message says it is a bound and how to go further.
3. **Runaway actor**: one actor never came back to the scheduler, in a loop that reaches no
   scheduling point or blocked in a call the scheduler does not control (see ``watchdog``).

The scenario's own code that runs outside actors (the scenario function, an invariant, an end
check, the ``snapshot()`` callback, a wait predicate) is held to the same limit, and one that
never returns is a ``RunawayActor`` verdict as well (``runaway_outside``), named with its
file:line. It is a bug of the scenario rather than of a schedule, but it is still what this run
does: the scenario function never returns under any schedule (every search stops at its first
run), the others only in the states where their loop never ends, which the schedule
reproduces. A verdict, not an error, so that a replay shows it again and a search reports it
with the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schedfuzz._core.actor import Actor, ActorState
from schedfuzz.errors import Livelock, RunawayActor, StepBound

if TYPE_CHECKING:
    from types import TracebackType

    from schedfuzz._core.fingerprint import LassoDetector
    from schedfuzz._core.runner import Runner

__all__ = ["innermost", "lasso", "runaway", "runaway_outside", "step_bound"]


def lasso(runner: Runner, detector: LassoDetector, found: tuple[int, int]) -> Livelock:
    """The proved livelock closed at ``found = (first, end)``; cuts the run's decisions to
    stem + one cycle, which a replay then repeats forever."""
    first, end = found
    d_first = detector.decision_index[first - detector.start]
    d_end = detector.decision_index[-1]
    # Drop the choice already taken for the step that closed the cycle: the reproducer is
    # stem + one cycle, and the cycle's decisions are replayed forever from there.
    del runner.decisions[d_end:]
    del runner.widths[d_end:]
    runner.lasso = (first, end, d_first, d_end)
    names = ", ".join(a.name for a in runner.live)
    msg = (f"Livelock: the state before step {end} equals the state before step {first}; "
           f"the {end - first} steps between are a fair cycle without progress, so "
           f"{names} can go round it forever (stem {first} steps, cycle {end - first} steps; "
           f"back to step {first})")
    chosen = [str(s) for s, value in runner.values if value and first <= s < end]
    if chosen:  # the environment's part, which no fairness among actors rules out
        msg += (f"; every round, choose() gives other than its first value (step "
                f"{', '.join(chosen)}): a livelock if nothing obliges it to give the first one "
                "in the end")
    return Livelock(msg, lasso=(first, end), steps=end)


def step_bound(runner: Runner) -> StepBound:
    """``Settings.max_steps`` ran out: a ``StepBound``, whose message says it proves nothing
    (neither a livelock nor that the run would not end) and how to go further."""
    live = ", ".join(f"{a.name} ({a.state.name.lower()} at {a.label})" for a in runner.live)
    policy = ("the fair default policy" if runner.oracle.exhausted
              else "the oracle's schedule")
    msg = (f"StepBound (a bound, not a proof): {runner.settings.max_steps} steps "
           f"(Settings.max_steps) under {policy} without finishing and without a "
           f"repeated state; still live: {live}. This is not a livelock verdict: the run may "
           "end later (a long loop) or never. To go further, raise Settings.max_steps if it "
           "should end; if it should not, mark real work with progress() and show the shared "
           "state with snapshot() (or __schedfuzz_state__), so that a repeated state can prove "
           "a livelock. A spin loop needs checkpoint(yield_=True).")
    return StepBound(msg, steps=runner.step)


def runaway(runner: Runner, actor: Actor | None, exc: BaseException | None) -> RunawayActor:
    """``actor`` overran ``Settings.runaway_seconds``; ``exc`` (the interrupt the watchdog sent)
    locates it. The actor is retired: its greenlet is gone."""
    where = innermost(exc.__traceback__ if exc is not None else None)
    name = actor.name if actor is not None else "?"
    if actor is not None and actor.state is not ActorState.DONE:
        runner._retire(actor)
    why = ("Blocked in a call the scheduler does not control: a real threading lock "
           "another actor holds, time.sleep or blocking I/O? Use schedfuzz's primitives."
           if runner.stuck else
           "An infinite loop that calls no primitive and no checkpoint()?")
    msg = (f"RunawayActor: {name} ran {runner.settings.runaway_seconds}s "
           f"(Settings.runaway_seconds) without reaching a scheduling point, at {where}. "
           + why)
    return RunawayActor(msg, actor=name, where=where)


def runaway_outside(runner: Runner, exc: BaseException) -> RunawayActor:
    """The scenario's own code outside actors (``runner.outside``: the scenario function, an
    invariant, an end check, the snapshot, a wait predicate) overran
    ``Settings.runaway_seconds``; ``exc``, the interrupt the watchdog sent, locates it."""
    where = innermost(exc.__traceback__)
    what = runner.outside_name()
    why = ("Blocked in a call the scheduler does not control (a real lock, time.sleep or "
           "blocking I/O?)." if runner.stuck else "An infinite loop?")
    msg = (f"RunawayActor: {what} ran {runner.settings.runaway_seconds}s "
           f"(Settings.runaway_seconds) without returning, at {where}. {why} Code outside "
           "actors runs between two steps and must return; it is the scenario's bug, not a "
           "schedule's.")
    return RunawayActor(msg, actor=None, where=where, outside=what)


def innermost(tb: TracebackType | None) -> str:
    """``file:line in function`` of a traceback's innermost frame (where it was raised)."""
    where = "?"
    while tb is not None:
        code = tb.tb_frame.f_code
        where = f"{code.co_filename}:{tb.tb_lineno} in {code.co_name}"
        tb = tb.tb_next
    return where
