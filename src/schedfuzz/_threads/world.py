"""The world of one threaded run: its virtual clock, its threads, and how a timed wait ends.

Unmodified ``threading`` code runs as actors (``schedfuzz.threads``). Two things real threads
have that actors do not are kept here, one ``World`` per run:

* **Virtual time.** ``time.monotonic()`` and friends, seen from an actor, read ``World.now``;
  nothing but a timeout or a sleep moves it. A timed wait (``Lock.acquire(timeout=...)``,
  ``Condition.wait(timeout)``, ``time.sleep``) ends in one of two ways, and both are explored:
  it is woken, or its timeout fires. The timeout fires either because the oracle says so at one
  of the waiter's polls (a data choice, ``schedfuzz.choose``, first option "not yet"), or
  because nothing else could happen before it: no actor outside a timed wait can run, so the
  clock jumps to the earliest deadline, as trio's ``MockClock`` autojumps. So a program whose
  threads only wait with timeouts never deadlocks, as it would not for real, and a timeout that
  fires early (a slow machine) is one decision away.
* **Threads.** Each ``threading.Thread`` started in the run is an actor; ``World.threads`` maps
  actor ids to the objects ``threading.current_thread()`` returns, and the first actor is the
  ``MainThread`` that runs the user's function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from schedfuzz._core.actor import ActorState
from schedfuzz._core.traps import LOCAL, block_until, checkpoint, current_actor, running_actor

if TYPE_CHECKING:
    from schedfuzz._core.actor import Actor
    from schedfuzz._core.runner import Runner

__all__ = ["IDENT_BASE", "LATE", "MONOTONIC_START", "WALL_START", "World", "world"]

# Where the virtual clocks start: fixed, so every run (and every process) reads the same times.
MONOTONIC_START = 1000.0
WALL_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
LATE = 1e-6  # seconds a timeout fires after its deadline
IDENT_BASE = 0x5F00  # thread idents are IDENT_BASE + actor id: small, stable, never 0


class World:
    """One threaded run's clock and threads (see the module docstring)."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.now = MONOTONIC_START
        self.threads: dict[int, Any] = {}  # actor id -> its Thread-like object
        self.deadlines: dict[int, float] = {}  # actor id -> deadline of its timed wait
        self.made_at: dict[str, int] = {}  # creation site -> locks made there so far

    def name_at(self, site: str) -> str:
        """A lock's name: where it was made, numbered from the second one made there (two
        accounts' locks, ``bank.py:7 Account.__init__`` and ``... #2``), in creation order,
        which a run fixes."""
        count = self.made_at[site] = self.made_at.get(site, 0) + 1
        return site if count == 1 else f"{site} #{count}"

    def __schedfuzz_state__(self) -> object:
        # What decides the future: the time and who waits until when. Threads are reached
        # through the actors' frames.
        return (self.now, tuple(sorted(self.deadlines.items())))

    def sleep_until(self, ready: Callable[[], bool], timeout: float | None, what: str,
                    on: object = None) -> bool:
        """Block the calling actor until ``ready()`` holds, or ``timeout`` virtual seconds pass.

        Returns ``ready()``'s last answer: True when it held, False when the time ran out.
        Without a timeout this is ``block_until`` (so a wait nobody can end is a hang or a
        deadlock, with ``on`` naming what it waits for). With one, the actor stays enabled and
        polls: each poll is a step whose value decides whether the timeout fires now.
        """
        if ready():
            return True
        if timeout is None:
            block_until(ready, what, on=on)
            return True
        me = current_actor()
        # A microsecond late, as a real timeout fires late: code that checks the clock after a
        # timeout (``monotonic() - start >= timeout``) sees it passed despite float rounding.
        deadline = self.now + max(timeout, 0.0) + LATE
        self.deadlines[me.aid] = deadline
        try:
            while True:
                if timeout <= 0 or self.now >= deadline or self._next_to_fire(me, alone=True):
                    self.now = max(self.now, deadline)
                    return bool(ready())
                # The oracle may let the timeout fire now (a slow machine), but timers fire in
                # deadline order: a later deadline waits while an earlier one is pending.
                if _poll(what, self._next_to_fire(me, alone=False)):
                    self.now = max(self.now, deadline)
                    return bool(ready())
                if ready():
                    return True
        finally:
            del self.deadlines[me.aid]

    def _next_to_fire(self, me: Actor, *, alone: bool) -> bool:
        """Whether ``me`` has the earliest deadline (the actor id breaks ties) and, with
        ``alone``, no actor outside a timed wait can run: then its timeout is the next thing
        that happens."""
        deadlines = self.deadlines
        if alone:
            for actor in self.runner.live:
                if actor is not me and actor.state is ActorState.RUNNABLE \
                        and actor.aid not in deadlines:
                    return False
        mine = (deadlines[me.aid], me.aid)
        return all(mine <= (d, aid) for aid, d in deadlines.items())


def _poll(what: str, may_fire: bool) -> bool:
    """One poll of a timed wait: a yielding step whose value says whether the timeout fires
    (a plain yielding step where it may not)."""
    actor = current_actor()
    if not may_fire:
        checkpoint(what, yield_=True)
        return False
    actor.options = _FIRE
    try:
        checkpoint(f"{what} (timeout?)", yield_=True)
    finally:
        actor.options = None
    return bool(actor.chosen)


_FIRE = (False, True)  # "not yet" first: the default policy waits for the wake-up


def world() -> World | None:
    """The threaded world of the run whose actor is running now, or None (the hub, another
    thread, no run, or a run of a scenario that is not threaded)."""
    runner = LOCAL.runner
    if runner is None or running_actor() is None:
        return None
    return getattr(runner, "threads_world", None)
