"""Verdicts for a run that would not end, where ``detect`` explains one that cannot go on.

Three ways a run goes on forever, each told apart by how strong the evidence is:

1. **Lasso** (a proof): the state before step j equals the state before step i and the steps
   between are a fair cycle without progress, so the actors can go round it forever. Where the
   cycle needs ``choose`` to give other than its first value every round (a message lost
   again and again), the message says so: that is a livelock only for an environment that may
   keep doing it.
2. **Step bound** (not a proof): ``Settings.max_steps`` steps without finishing and without a
   repeated state; the message says it is a bound.
3. **Runaway actor**: one actor never came back to the scheduler, in a loop that reaches no
   scheduling point or blocked in a call the scheduler does not control (see ``watchdog``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schedfuzz._core.actor import Actor, ActorState
from schedfuzz.errors import Livelock, RunawayActor

if TYPE_CHECKING:
    from schedfuzz._core.fingerprint import LassoDetector
    from schedfuzz._core.runner import Runner

__all__ = ["lasso", "runaway", "step_bound"]


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


def step_bound(runner: Runner) -> Livelock:
    """``Settings.max_steps`` ran out: a livelock by the bound only, and the message says so."""
    live = ", ".join(f"{a.name} ({a.state.name.lower()} at {a.label})" for a in runner.live)
    policy = ("the fair default policy" if runner.oracle.exhausted
              else "the oracle's schedule")
    msg = (f"Livelock (bound, not a proof): {runner.settings.max_steps} steps "
           f"(Settings.max_steps) under {policy} without finishing and without a "
           f"repeated state; still live: {live}. A spin loop without "
           "checkpoint(yield_=True), or state the fingerprint cannot see?")
    return Livelock(msg, lasso=None, steps=runner.step)


def runaway(runner: Runner, actor: Actor | None, exc: BaseException | None) -> RunawayActor:
    """``actor`` overran ``Settings.runaway_seconds``; ``exc`` (the interrupt the watchdog sent)
    locates it. The actor is retired: its greenlet is gone."""
    where = "?"
    tb = exc.__traceback__ if exc is not None else None
    while tb is not None:
        code = tb.tb_frame.f_code
        where = f"{code.co_filename}:{tb.tb_lineno} in {code.co_name}"
        tb = tb.tb_next
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
