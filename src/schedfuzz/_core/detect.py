"""Classify a stuck run: live actors remain and none can run.

Three verdicts, tried in this order because each is the more specific explanation:

1. **Missed wakeup**: some sleeper's awaited condition holds (it would go on if anyone woke it),
   or it sleeps on a queue whose last wake-up was lost (found nobody) before this sleeper
   enqueued, and no condition says the wake-up was meant for something else.
2. **Deadlock**: the wait-for graph has a cycle. An edge goes from a blocked actor to each holder
   of the resource it waits on (a ``Lock``'s owner, or whatever ``__schedfuzz_holders__()`` of the
   ``on`` object returns), so the message names who holds what and who waits for what.
3. **Hang**: blocked forever on a condition nobody can make true, with no cycle.

Every message lists each live actor's state, so the reader sees the whole picture at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schedfuzz._core.actor import Actor
from schedfuzz.errors import Deadlock, Hang, MissedWakeup, ScheduleFailure

if TYPE_CHECKING:
    from schedfuzz._core.runner import Runner

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


def _missed(runner: Runner) -> MissedWakeup | None:
    for actor in runner.live:
        block = actor.block
        if block is None:
            continue
        if block.cond is not None and _holds(block):
            msg = (f"MissedWakeup: {actor.name} sleeps in {block.what} since step {block.since} "
                   "although the condition it waits for holds: nobody will wake it.\n"
                   + describe_actors(runner))
            return MissedWakeup(msg, actor=actor.name, since=block.since)
        waiter = block.waiter
        if waiter is not None and block.cond is None:
            lost = waiter.queue.lost_before(waiter.enqueued_at)
            if lost is not None:
                msg = (f"MissedWakeup: {actor.name} waits on {waiter.queue.name!r} since step "
                       f"{block.since}, but the wake-up it needed came at step {lost}, before it "
                       "waited, when nobody was waiting.\n" + describe_actors(runner))
                return MissedWakeup(msg, actor=actor.name, since=block.since, lost_at=lost)
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
    """The verdict for a run in which live actors remain and none is enabled."""
    missed = _missed(runner)
    if missed is not None:
        return missed
    cycle = _cycle(runner)
    if cycle is not None:
        parts = [f"{a.name} waits for {_resource_name(r)} held by {h.name}" for a, r, h in cycle]
        msg = (f"Deadlock: {len(cycle)} actors wait for each other in a cycle: "
               + "; ".join(parts) + ".\n" + describe_actors(runner))
        return Deadlock(msg, cycle=[(a.name, _resource_name(r), h.name) for a, r, h in cycle])
    names = ", ".join(a.name for a in runner.live)
    msg = (f"Hang: {names} blocked forever on conditions nobody can make true (no cycle of "
           "waits, no lost wake-up).\n" + describe_actors(runner))
    return Hang(msg, actors=[a.name for a in runner.live])
