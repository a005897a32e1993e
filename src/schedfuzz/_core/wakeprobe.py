"""The wake-up probe: would delivering a wake-up now release this stuck sleeper?

A sleeper that waits on a plain ``Condition.wait()`` or a bare ``Waiter.sleep`` does not tell the
scheduler what it waits for, so a stuck run cannot evaluate its condition. It can ask the program
instead. When the run is stuck it is over: no schedule decision is left to take, and the runner
will tear every actor down. Before that, the probe delivers the wake-up token to the sleeper
(``Waiter.wake``, exactly what a notify would do) and resumes that one actor alone:

* it *goes on* (released) if it finishes, or parks somewhere else on nothing another actor holds,
  or keeps taking steps for ``PROBE_STEPS`` steps without sleeping again;
* it is *not released* if it raises, goes straight back to sleep on the same queue at the same
  place (the frames' code positions are equal: a ``while not ready: cond.wait()`` loop that found
  its predicate still false), or parks on a resource another actor holds (it needs a lock the
  stuck actors keep).

The probe is invisible to the run's record: it appends no trace row, asks the oracle nothing (a
``choose`` in the probe takes its first option, the default policy's), runs no invariant, and
restores the trace, the progress mark, the watchdog flags and the list of actors (one spawned in
the probe never runs) afterwards. What it changes in the program's state (the
sleeper re-checked and re-queued, say) is discarded with the actors at teardown. It is
deterministic, because the stuck state and the program are: the same stuck state gives the same
answer in every engine, seed and process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from schedfuzz._core import traps
from schedfuzz._core.actor import Actor, ActorState

if TYPE_CHECKING:
    from schedfuzz._core.runner import Runner
    from schedfuzz._core.waitqueue import Waiter

__all__ = ["PROBE_STEPS", "released_by_wakeup"]

# Steps a woken sleeper may take without sleeping again before the probe says it went on: a
# predicate loop re-sleeps within a step or two, so this only bounds a sleeper that spins.
PROBE_STEPS = 64


def _where(actor: Actor) -> tuple[tuple[Any, int], ...]:
    """The code position of every frame of a suspended actor, innermost first."""
    out = []
    frame = actor.greenlet.gr_frame
    while frame is not None:
        out.append((frame.f_code, frame.f_lasti))
        frame = frame.f_back
    return tuple(out)


def _waits_for_holder(actor: Actor) -> bool:
    """Whether the actor's block waits for a resource a live actor holds (the resource says
    who through ``__schedfuzz_holders__``, as for deadlock cycles)."""
    block = actor.block
    holders = getattr(block.on, "__schedfuzz_holders__", None) if block is not None else None
    if holders is None:
        return False
    return any(isinstance(h, Actor) and h.state is not ActorState.DONE for h in holders())


def released_by_wakeup(runner: Runner, waiter: Waiter) -> bool:
    """Wake ``waiter`` and run its sleeper alone; whether it goes on (see the module docstring).

    Call only on a stuck run, from the hub, for a waiter whose actor sleeps on it now.
    """
    actor = waiter.actor
    queue = waiter.queue
    where = _where(actor)
    trace = runner.trace
    rows, notes, spawned = len(trace.rows), len(trace.notes), len(runner.actors)
    last_row = trace.rows[-1] if rows else None
    saved = (runner.last_progress, runner.runaway, runner.stuck, runner.current)
    shown = (actor.label, actor.args, actor.yielded)
    waiter.wake()
    try:
        return _run_alone(runner, actor, queue, where)
    finally:
        del trace.rows[rows:]
        if last_row is not None:
            trace.rows[-1] = last_row  # an annotate() in the probe edits the last row
        del trace.notes[notes:]
        if len(runner.actors) > spawned:  # it spawned: those never ran, and are not the run's
            born = runner.actors[spawned:]
            del runner.actors[spawned:]
            del trace.names[spawned:]
            runner.live[:] = [a for a in runner.live if a not in born]
        runner.last_progress, runner.runaway, runner.stuck, runner.current = saved
        actor.label, actor.args, actor.yielded = shown
        runner.active = None
        runner.dirty = True


def _run_alone(runner: Runner, actor: Actor, queue: object,
               where: tuple[tuple[Any, int], ...]) -> bool:
    stuck_before = runner.stuck
    for _ in range(PROBE_STEPS):
        if actor.options is not None:
            actor.chosen = 0
            actor.args = None
        runner.active = actor
        try:
            message = actor.resume(traps.RESUME)
        except KeyboardInterrupt:
            if runner.stuck and not stuck_before:
                return False  # the watchdog's: the woken actor blocked in a real call
            raise  # the user's Ctrl-C
        except BaseException:  # it raises (or overran the watchdog): it cannot go on
            return False
        finally:
            runner.active = None
        if message is not traps.TRAP or actor.greenlet.dead:
            return True  # it finished
        block = actor.block
        if block is None:
            continue  # a checkpoint: it is still going
        waiter = block.waiter
        if waiter is not None and waiter.queue is queue and _where(actor) == where:
            return False  # straight back to the same sleep
        return not _waits_for_holder(actor)
    return True
