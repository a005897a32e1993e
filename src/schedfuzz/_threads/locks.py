"""``threading.Lock`` and ``threading.RLock`` for actors, with the standard library's contract.

Everything else in ``threading`` (``Condition``, ``Semaphore``, ``BoundedSemaphore``, ``Event``,
``Barrier``, ``Timer``) and ``queue`` is pure Python built on these two locks, so with them
replaced the standard library's own code runs under the scheduler, with its exact semantics,
return values and exceptions. Each ``acquire`` and ``release`` is one scheduling step, taken
before its effect.

A lock names itself by where it was made (``bank.py:12 Account.__init__``), so a deadlock
message names locks the way the user's code does. A lock made in an explored run and used
outside one (an ``atexit`` hook, say) acts as a plain lock that never blocks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from schedfuzz._core.actor import Block
from schedfuzz._core.traps import checkpoint, current_actor, current_runner, park
from schedfuzz._core.waitqueue import Waiter, WaitQueue
from schedfuzz._threads.world import World, world

if TYPE_CHECKING:
    from schedfuzz._core.actor import Actor

__all__ = ["Lock", "RLock", "allocate_lock", "created_at", "notify", "queue_of"]

_THREADING = sys.modules["threading"]
_COND_WAIT = _THREADING.Condition.wait.__code__
_WAIT_FOR = _THREADING.Condition.wait_for.__code__
_EVENT_WAIT = _THREADING.Event.wait.__code__
_OWN_FILES = (__file__, _THREADING.__file__)


def created_at(depth: int = 2) -> str:
    """``file:line function`` of the first frame outside this package and ``threading``."""
    frame = sys._getframe(depth)
    while frame is not None and (frame.f_code.co_filename in _OWN_FILES
                                 or "schedfuzz/threads" in frame.f_code.co_filename):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return "?"
    code = frame.f_code
    name = getattr(code, "co_qualname", code.co_name)
    return f"{code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno} {name}"


def _name(site: str) -> str:
    w = world()
    return site if w is None else w.name_at(site)


def _check_timeout(blocking: bool, timeout: float) -> None:
    if not blocking and timeout != -1:
        msg = "can't specify a timeout for a non-blocking call"
        raise ValueError(msg)
    if timeout < 0 and timeout != -1:
        msg = "timeout value must be a non-negative number"
        raise ValueError(msg)


def _waited_for() -> tuple[str | None, Callable[[], bool] | None, object]:
    """When a blocking acquire is ``threading.Condition.wait`` sleeping on its waiter lock:
    what it waits for, the predicate if the caller gave one (``wait_for``, ``Event.wait``),
    so that a sleeper stuck while its predicate holds is a missed wakeup, and the condition."""
    frame = sys._getframe(3)
    if frame is None or frame.f_code is not _COND_WAIT:
        return None, None, None
    condition = frame.f_locals.get("self")
    caller = frame.f_back
    cond: Callable[[], bool] | None = None
    what = f"Condition.wait ({created_at(4)})"
    if caller is not None and caller.f_code is _WAIT_FOR:
        cond = caller.f_locals.get("predicate")
    elif caller is not None and caller.f_code is _EVENT_WAIT:
        event = caller.f_locals.get("self")
        what = f"Event.wait ({created_at(4)})"
        cond = lambda: bool(getattr(event, "_flag", False))  # noqa: E731 (read when stuck)
    return what, cond, condition


class Lock:
    """``threading.Lock``: not reentrant; any thread may release it."""

    def __init__(self, waiter_of: str | None = None) -> None:
        self._locked = False
        self._owner: Actor | None = None
        self._sleeper: Waiter | None = None
        # A Condition's private waiter lock (``Condition.wait`` makes one per wait): taking it
        # fresh and notify() releasing it are no steps of their own; sleeping on it is "wait".
        self._waiter_of = waiter_of
        self._name = waiter_of or _name(created_at())

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        _check_timeout(blocking, timeout)
        w = world()
        if w is None:
            return self._acquire_outside()
        if self._waiter_of is None:
            checkpoint("acquire", lock=self._name)
        elif self._locked:
            checkpoint("wait", cond=self._waiter_of)
        if not self._locked:
            self._take()
            return True
        if not blocking:
            return False
        return self._wait(w, None if timeout == -1 else timeout)

    def _wait(self, w: World, timeout: float | None) -> bool:
        what, cond, on = _waited_for()
        label = what or f"Lock {self._name}"
        if timeout is not None:
            if not w.sleep_until(self._free, timeout, label, on=on or self):
                return False
        elif on is not None:
            self._sleep_on_condition(on, label, cond)
        else:
            while self._locked:  # woken when free, but another may take it first
                block_on(self._free, label, self, cond)
        self._take()
        return True

    def _sleep_on_condition(self, condition: Any, label: str,
                            cond: Callable[[], bool] | None) -> None:
        """``Condition.wait`` sleeping on this, its waiter lock, until ``notify`` releases it:
        as a ``Waiter`` on the condition's queue, so a stuck sleeper whose notify came before
        it slept can be told a missed wakeup (``detect``)."""
        queue = queue_of(condition)
        waiter = Waiter(current_actor(), queue)
        queue.enqueue(waiter)
        self._sleeper = waiter
        try:
            while self._locked and not waiter.woken:
                waiter.sleep(label, cond=cond, on=condition, label=f"{label} (notified)")
        finally:
            self._sleeper = None
            queue.remove(waiter)

    def _free(self) -> bool:
        return not self._locked

    def _take(self) -> None:
        self._locked = True
        self._owner = current_actor()

    def _acquire_outside(self) -> bool:
        if self._locked:
            return False
        self._locked = True
        return True

    def release(self) -> None:
        if self._waiter_of is None and world() is not None:
            checkpoint("release", lock=self._name)
        if not self._locked:
            msg = "release unlocked lock"
            raise RuntimeError(msg)
        self._locked = False
        self._owner = None
        if self._sleeper is not None:  # a Condition's waiter lock: notify() wakes its waiter
            self._sleeper.wake()

    def locked(self) -> bool:
        return self._locked

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _at_fork_reinit(self) -> None:
        self._locked = False
        self._owner = None

    def __schedfuzz_holders__(self) -> list[Actor]:
        return [] if self._owner is None else [self._owner]

    def __schedfuzz_name__(self) -> str:
        return f"Lock {self._name}"

    def __schedfuzz_state__(self) -> object:
        return (self._locked, None if self._owner is None else self._owner.aid)

    def __repr__(self) -> str:
        return f"<{'locked' if self._locked else 'unlocked'} schedfuzz Lock {self._name}>"


class RLock:
    """``threading.RLock``: reentrant; only the owner may release it."""

    def __init__(self) -> None:
        self._owner: Actor | None = None
        self._count = 0
        self._name = _name(created_at())

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        _check_timeout(blocking, timeout)
        w = world()
        if w is None:
            self._count += 1
            return True
        checkpoint("acquire", lock=self._name)
        me = current_actor()
        if self._owner is me:
            self._count += 1
            return True
        if self._owner is not None:
            if not blocking:
                return False
            if timeout == -1:
                while self._owner is not None:
                    block_on(self._free, f"RLock {self._name}", self)
            elif not w.sleep_until(self._free, timeout, f"RLock {self._name}", on=self):
                return False
        self._owner, self._count = me, 1
        return True

    def _free(self) -> bool:
        return self._owner is None

    def release(self) -> None:
        if world() is None:
            self._count = max(self._count - 1, 0)
            return
        checkpoint("release", lock=self._name)
        if self._owner is not current_actor():
            msg = "cannot release un-acquired lock"
            raise RuntimeError(msg)
        self._count -= 1
        if not self._count:
            self._owner = None

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()

    # The interface threading.Condition uses to wait on an RLock held several times.
    def _is_owned(self) -> bool:
        return world() is None or self._owner is current_actor()

    def _release_save(self) -> tuple[int, Actor | None]:
        if world() is not None:
            checkpoint("release", lock=self._name)
        if self._count == 0:
            msg = "cannot release un-acquired lock"
            raise RuntimeError(msg)
        state = (self._count, self._owner)
        self._owner, self._count = None, 0
        return state

    def _acquire_restore(self, state: tuple[int, Actor | None]) -> None:
        self.acquire()
        self._count, self._owner = state

    def _at_fork_reinit(self) -> None:
        self._owner, self._count = None, 0

    def __schedfuzz_holders__(self) -> list[Actor]:
        return [] if self._owner is None else [self._owner]

    def __schedfuzz_name__(self) -> str:
        return f"RLock {self._name}"

    def __schedfuzz_state__(self) -> object:
        return (self._count, None if self._owner is None else self._owner.aid)

    def __repr__(self) -> str:
        return f"<schedfuzz RLock {self._name} count={self._count}>"


def block_on(ready: Callable[[], bool], what: str, on: object,
             cond: Callable[[], bool] | None = None) -> None:
    """Park the current actor until ``ready()`` (re-checked by the runner at every step);
    ``cond`` is what it really waits for, if known (see ``detect``: a missed wakeup)."""
    runner = current_runner()
    park(Block(what=what, since=runner.step, until=ready, cond=cond, on=on), f"{what} (woken)")


def queue_of(condition: Any) -> WaitQueue:
    """The wait queue that records a ``threading.Condition``'s sleepers and notifies."""
    queue = condition.__dict__.get("_schedfuzz_queue")
    if queue is None:  # named as its lock is: where the condition was made
        site = getattr(condition._lock, "_name", None) or created_at(3)
        queue = condition._schedfuzz_queue = WaitQueue(f"Condition {site}")
    return queue  # type: ignore[no-any-return]


_REAL_NOTIFY = _THREADING.Condition.notify


def notify(self: Any, n: int = 1) -> None:
    """``Condition.notify`` as a step of its own, which also records the wake-up (lost when
    nobody waits), so a missed wakeup's message points at the notify in the trace."""
    if world() is not None:
        queue = queue_of(self)
        checkpoint("notify", cond=queue.name.removeprefix("Condition "))
        if self._waiters:
            queue.note_woken()
        else:
            queue.note_lost()
    _REAL_NOTIFY(self, n)


def allocate_lock(*_: Any) -> Lock:
    """``_thread.allocate_lock`` / ``threading._allocate_lock`` (``threading.Lock``)."""
    caller = sys._getframe(1)
    if caller.f_code is _COND_WAIT and world() is not None:
        condition = caller.f_locals.get("self")
        return Lock(waiter_of=queue_of(condition).name.removeprefix("Condition "))
    return Lock()
