"""Classify a stuck run: live actors remain and none can run.

Three verdicts, tried in this order, because a cycle of waits explains every actor in it and a
needed wake-up that never came is a more specific explanation than "nobody can make its
condition true":

1. **Deadlock**: the wait-for graph has a cycle. An edge goes from a blocked actor to each holder
   of the resource it waits on (a ``Lock``'s owner, or whatever ``__schedfuzz_holders__()`` of the
   ``on`` object returns), so the message names who holds what and who waits for what. A lost
   wake-up elsewhere in the same run does not hide the cycle.
2. **Missed wakeup**: some sleeper would have been released by a wake-up that did not reach it.

   * A sleeper whose condition the scheduler can evaluate (``Condition.wait_for``,
     ``WaitQueue.wait_event``, ``Event.wait``, ``Semaphore.acquire``, a ``Block.cond``): the
     condition holds now, yet it sleeps. Whether a notify was ever lost does not matter: it waits
     for something that is true and nobody will tell it.
   * A sleeper that waits without a condition (a bare ``Condition.wait()`` inside the caller's
     own ``while`` loop, a raw ``Waiter.sleep``) needs two things. First, a wake-up it came too
     late for: one on the very queue it sleeps on, at or before the step it enqueued (it found
     nobody, or woke only others: a ``notify_all`` before the second waiter arrived is missed by
     that waiter just as much). Second, that wake-up must have been *needed*: delivering one now
     releases the sleeper. That is a counterfactual, and the run is over, so ``wakeprobe``
     answers it in place before teardown: it hands the sleeper the wake-up token and resumes it
     alone. If it goes straight back to sleep on the same queue at the same place (its predicate
     loop found the predicate false: it had already taken the item the notify announced), raises,
     or needs a lock a stuck actor holds, the wake-up was not needed and the verdict is a hang.

   The probe runs in the stuck run rather than in a replay because it only needs the stuck
   state, which it has; it appends nothing to the trace and asks the oracle nothing, so the
   run's record and schedule are those of the run. The pure checks (conditions) run for every
   sleeper first, the probes after, in spawn order; a probe that left its sleeper asleep may have
   changed what later sleepers see, so probing stops once an earlier probe disturbed a later
   candidate's sleep.

   What the probe cannot tell: a bare ``wait()`` with no predicate loop goes on whenever it is
   woken, so once any wake-up on its queue came before it slept it counts as a missed wakeup,
   even if an earlier critical section had already consumed what that wake-up announced. A
   predicate loop (``while not ready: cond.wait()``) or ``wait_for`` tells the two apart, and is
   how correct code waits anyway.
3. **Hang**: blocked forever on a condition nobody can make true, with no cycle.

The verdict depends only on the stuck state (every actor's block and frames, the shared data,
each queue's record of recent wake-ups) and never on which engine or seed chose the schedule, so
the same bug gets the same verdict from each of them. Every message lists each live actor's
state as it was when the run got stuck (before any probe), so the reader sees the whole picture
at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schedfuzz._core.actor import Actor, Block
from schedfuzz._core.wakeprobe import released_by_wakeup
from schedfuzz.errors import Deadlock, Hang, MissedWakeup, ScheduleFailure

if TYPE_CHECKING:
    from schedfuzz._core.runner import Runner
    from schedfuzz._core.waitqueue import Waiter

__all__ = ["classify_stuck", "describe_actors", "holders_of"]


def holders_of(resource: object) -> list[Actor]:
    """The actors holding ``resource``, if it can say (``__schedfuzz_holders__``)."""
    fn = getattr(resource, "__schedfuzz_holders__", None)
    if fn is None:
        return []
    return [a for a in fn() if isinstance(a, Actor)]


def _resource_name(resource: object) -> str:
    name = getattr(resource, "__schedfuzz_name__", None)
    if callable(name):
        return str(name())
    return repr(resource)


def describe_actors(runner: Runner) -> str:
    lines = []
    for actor in runner.live:
        block = actor.block
        if block is None:
            lines.append(f"  {actor.name}: runnable, next {actor.label}")
            continue
        line = f"  {actor.name}: blocked in {block.what} since step {block.since}"
        if block.on is not None:
            holders = holders_of(block.on)
            if holders:
                line += f" (held by {', '.join(h.name for h in holders)})"
        if block.cond is not None:
            line += f"; its condition is {'TRUE' if _holds(block) else 'false'}"
        lines.append(line)
    return "\n".join(lines)


def _holds(block: object) -> bool:
    cond = getattr(block, "cond", None)
    if cond is None:
        return False
    try:
        return bool(cond())
    except Exception:
        return False


def _missed(runner: Runner, picture: str) -> MissedWakeup | None:
    # Candidates for the probe: (actor, its block, its waiter, the step of the lost wake-up).
    candidates: list[tuple[Actor, Block, Waiter, int]] = []
    for actor in runner.live:
        block = actor.block
        if block is None:
            continue
        if block.cond is not None:
            if _holds(block):
                msg = (f"MissedWakeup: {actor.name} sleeps in {block.what} since step "
                       f"{block.since} although the condition it waits for holds: nobody will "
                       "wake it.\n" + picture)
                return MissedWakeup(msg, actor=actor.name, since=block.since)
            continue
        waiter = block.waiter
        if waiter is not None:
            woken = waiter.queue.woken_before(waiter.enqueued_at)
            if woken is not None:
                candidates.append((actor, block, waiter, woken))
    for actor, block, waiter, at in candidates:
        if actor.block is not block:
            break  # an earlier probe woke or moved it: what it would see is no longer known
        if released_by_wakeup(runner, waiter):
            found = ("nobody was waiting" if waiter.queue.lost_before(at) == at
                     else "it woke only others")
            msg = (f"MissedWakeup: {actor.name} waits on {waiter.queue.name!r} since step "
                   f"{block.since}, but the wake-up it needed came at step {at}, before it "
                   f"waited, when {found} (woken now, it would go on).\n" + picture)
            return MissedWakeup(msg, actor=actor.name, since=block.since, lost_at=at)
    return None


def _cycle(runner: Runner) -> list[tuple[Actor, object, Actor]] | None:
    """A cycle of (waiter, resource, holder) edges among blocked actors, in spawn order."""
    edges: dict[int, tuple[object, list[Actor]]] = {}
    for actor in runner.live:
        block = actor.block
        if block is not None and block.on is not None:
            holders = [h for h in holders_of(block.on) if h is not actor and h.block is not None]
            if holders:
                edges[actor.aid] = (block.on, holders)
    for start in runner.live:
        path: list[tuple[Actor, object, Actor]] = []
        seen: dict[int, int] = {}
        actor = start
        while actor.aid in edges and actor.aid not in seen:
            seen[actor.aid] = len(path)
            resource, holders = edges[actor.aid]
            holder = holders[0]
            path.append((actor, resource, holder))
            actor = holder
        if actor.aid in seen:
            return path[seen[actor.aid]:]
    return None


def classify_stuck(runner: Runner) -> ScheduleFailure:
    """The verdict for a run in which live actors remain and none is enabled.

    May resume a sleeper (``wakeprobe``): call it only once the run is over, before teardown.
    """
    picture = describe_actors(runner)
    cycle = _cycle(runner)
    if cycle is not None:
        parts = [f"{a.name} waits for {_resource_name(r)} held by {h.name}" for a, r, h in cycle]
        msg = (f"Deadlock: {len(cycle)} actors wait for each other in a cycle: "
               + "; ".join(parts) + ".\n" + picture)
        return Deadlock(msg, cycle=[(a.name, _resource_name(r), h.name) for a, r, h in cycle])
    names = ", ".join(a.name for a in runner.live)
    missed = _missed(runner, picture)
    if missed is not None:
        return missed
    msg = (f"Hang: {names} blocked forever on conditions nobody can make true (no cycle of "
           "waits, no lost wake-up it needed).\n" + picture)
    return Hang(msg, actors=[a.name for a in runner.live])
