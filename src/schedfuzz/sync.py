"""Modelled primitives for actor code: Lock, Condition, Event, Semaphore and a kernel WaitQueue.

Each is built on the one ``WaitQueue`` structure of the engine, and each visible operation takes
exactly one scheduling step *before* its effect; a blocking operation takes one more step when it
is woken. Misuse (releasing a lock you do not hold, notifying without the lock) raises
``PrimitiveMisuse`` in the actor, which ends the run as a failure naming the actor and the lock.

Every primitive has ``__schedfuzz_state__`` (so livelock fingerprints see it) and, where it has
owners, ``__schedfuzz_holders__`` (so deadlock messages name who holds what).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schedfuzz._core.actor import Actor
from schedfuzz._core.traps import checkpoint, current_actor
from schedfuzz._core.waitqueue import Waiter, WakeFunction, default_wake
from schedfuzz._core.waitqueue import WaitQueue as _Queue
from schedfuzz.errors import PrimitiveMisuse

__all__ = ["Condition", "Event", "Lock", "Semaphore", "WaitQueue", "Waiter", "signal",
           "signal_pending"]


class Lock:
    """A mutual-exclusion lock with an owner. Not reentrant; release wakes one waiter."""

    def __init__(self, name: str = "lock") -> None:
        self.name = name
        self.owner: Actor | None = None
        self._queue = _Queue(f"Lock {name!r}")

    def acquire(self) -> None:
        checkpoint("acquire", lock=self.name)
        self._take(current_actor())

    def _take(self, me: Actor) -> None:
        if self.owner is me:
            msg = f"{me.name} acquires Lock {self.name!r} which it already holds (not reentrant)"
            raise PrimitiveMisuse(msg)
        while self.owner is not None:
            waiter = Waiter(me, self._queue, exclusive=True)
            self._queue.enqueue(waiter)
            waiter.sleep(f"Lock {self.name!r}", on=self, label="acquire (woken)")
        self.owner = me

    def try_acquire(self) -> bool:
        checkpoint("try_acquire", lock=self.name)
        if self.owner is not None:
            return False
        self.owner = current_actor()
        return True

    def release(self) -> None:
        checkpoint("release", lock=self.name)
        self._give(current_actor())

    def _give(self, me: Actor) -> None:
        if self.owner is not me:
            held = "nobody" if self.owner is None else self.owner.name
            msg = f"{me.name} releases Lock {self.name!r} held by {held}"
            raise PrimitiveMisuse(msg)
        self.owner = None
        if self._queue.entries:
            self._queue.wake(1)

    def locked(self) -> bool:
        return self.owner is not None

    def __enter__(self) -> Lock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __schedfuzz_holders__(self) -> list[Actor]:
        return [] if self.owner is None else [self.owner]

    def __schedfuzz_name__(self) -> str:
        return f"Lock {self.name!r}"

    def __schedfuzz_state__(self) -> object:
        return (None if self.owner is None else self.owner.aid,
                self._queue.__schedfuzz_state__())


class Condition:
    """A condition variable over a ``Lock``. ``notify`` with nobody waiting is lost, as in
    threading; a waiter that then waits forever is reported as a missed wakeup if it needed that
    notify: its ``wait_for`` predicate holds, or, for a plain ``wait()``, a wake-up delivered now
    would let it go on rather than straight back to sleep (see ``_core.detect``)."""

    def __init__(self, lock: Lock | None = None, name: str = "condition") -> None:
        self.name = name
        self.lock = lock if lock is not None else Lock(f"{name}.lock")
        self._queue = _Queue(f"Condition {name!r}")

    def _owned(self, what: str) -> Actor:
        me = current_actor()
        if self.lock.owner is not me:
            msg = f"{me.name} calls Condition {self.name!r}.{what}() without holding its lock"
            raise PrimitiveMisuse(msg)
        return me

    def wait(self, *, _cond: Callable[[], bool] | None = None) -> None:
        checkpoint("wait", cond=self.name)
        me = self._owned("wait")
        waiter = Waiter(me, self._queue)
        self._queue.enqueue(waiter)
        self.lock._give(me)
        waiter.sleep(f"Condition {self.name!r}", cond=_cond, spurious=True,
                     label="wait (notified)")
        self._queue.remove(waiter)
        self.lock._take(me)

    def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds (checked with the lock held)."""
        while not predicate():
            self.wait(_cond=predicate)

    def notify(self, n: int = 1) -> None:
        checkpoint("notify", cond=self.name)
        self._owned("notify")
        self._queue.wake(n)

    def notify_all(self) -> None:
        checkpoint("notify_all", cond=self.name)
        self._owned("notify_all")
        self._queue.wake(len(self._queue.entries) or 1)

    def __enter__(self) -> Condition:
        self.lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()

    def __schedfuzz_state__(self) -> object:
        return self._queue.__schedfuzz_state__()


class Event:
    """A flag actors can wait for; ``set`` wakes every waiter and later waits return at once."""

    def __init__(self, name: str = "event") -> None:
        self.name = name
        self.flag = False
        self._queue = _Queue(f"Event {name!r}")

    def set(self) -> None:
        checkpoint("set", event=self.name)
        self.flag = True
        if self._queue.entries:
            self._queue.wake(len(self._queue.entries))

    def clear(self) -> None:
        checkpoint("clear", event=self.name)
        self.flag = False

    def is_set(self) -> bool:
        checkpoint("is_set", event=self.name)
        return self.flag

    def wait(self) -> None:
        checkpoint("wait", event=self.name)
        while not self.flag:
            waiter = Waiter(current_actor(), self._queue)
            self._queue.enqueue(waiter)
            waiter.sleep(f"Event {self.name!r}", cond=lambda: self.flag, label="wait (set)")

    def __schedfuzz_state__(self) -> object:
        return (self.flag, self._queue.__schedfuzz_state__())


class Semaphore:
    """A counting semaphore; ``acquire`` blocks while the count is zero."""

    def __init__(self, value: int = 1, name: str = "semaphore") -> None:
        if value < 0:
            msg = f"Semaphore {name!r} needs a non-negative initial value, got {value!r}"
            raise PrimitiveMisuse(msg)
        self.name = name
        self.value = value
        self._queue = _Queue(f"Semaphore {name!r}")

    def acquire(self) -> None:
        checkpoint("down", sem=self.name)
        while self.value == 0:
            waiter = Waiter(current_actor(), self._queue, exclusive=True)
            self._queue.enqueue(waiter)
            waiter.sleep(f"Semaphore {self.name!r}", cond=lambda: self.value > 0,
                         label="down (woken)")
        self.value -= 1

    def release(self) -> None:
        checkpoint("up", sem=self.name)
        self.value += 1
        if self._queue.entries:
            self._queue.wake(1)

    def __enter__(self) -> Semaphore:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __schedfuzz_state__(self) -> object:
        return (self.value, self._queue.__schedfuzz_state__())


class WaitQueue:
    """A Linux-style wait queue: enqueue, check the condition, sleep; wake one or all.

    The canonical use is ``wait_event(cond)``. The parts are public so a model can reproduce a
    broken ordering on purpose (check before enqueue, a waker that skips the walk, ...).

    Example::

        wq = WaitQueue("nonempty")
        def consumer():
            wq.wait_event(lambda: items)      # enqueue, check, sleep until woken
        def producer():
            items.append(1); wq.wake_up()     # set the condition, then wake
    """

    def __init__(self, name: str = "waitqueue") -> None:
        self.name = name
        self.queue = _Queue(name)

    @property
    def entries(self) -> list[Waiter]:
        return self.queue.entries

    def prepare_to_wait(self, waiter: Waiter | None = None, *, exclusive: bool = False,
                        key: Any = None, func: WakeFunction = default_wake) -> Waiter:
        """Enqueue (at the tail, unless already queued) an entry for the current actor."""
        checkpoint("prepare_to_wait", wq=self.name, exclusive=exclusive)
        if waiter is None:
            waiter = Waiter(current_actor(), self.queue, exclusive=exclusive, key=key, func=func)
        self.queue.enqueue(waiter)
        return waiter

    def finish_wait(self, waiter: Waiter) -> None:
        checkpoint("finish_wait", wq=self.name)
        self.queue.remove(waiter)

    def wake_up(self, nr_exclusive: int = 1, key: Any = None) -> int:
        """Walk the queue, waking at most ``nr_exclusive`` exclusive waiters; returns woken."""
        checkpoint("wake_up", wq=self.name)
        return self.queue.wake(nr_exclusive, key)

    def wake_up_all(self, key: Any = None) -> int:
        checkpoint("wake_up_all", wq=self.name)
        return self.queue.wake(len(self.queue.entries) or 1, key)

    def wait_event(self, cond: Callable[[], bool], *, exclusive: bool = False,
                   killable: bool = False) -> bool:
        """Sleep until ``cond()`` holds; False if a signal interrupted a killable wait.

        It re-checks ``cond`` after every wake-up, so it tolerates spurious ones."""
        waiter: Waiter | None = None
        while True:
            waiter = self.prepare_to_wait(waiter, exclusive=exclusive)
            if cond():
                break
            if not waiter.sleep(f"wait_event({self.name})", cond=cond, killable=killable,
                                spurious=True):
                self.finish_wait(waiter)
                return False
        self.finish_wait(waiter)
        return True

    def __schedfuzz_state__(self) -> object:
        return self.queue.__schedfuzz_state__()


def signal(actor: Actor) -> None:
    """Make a signal pending for ``actor`` and interrupt its killable sleep, if it is in one."""
    checkpoint("signal", to=actor.name)
    actor.signal_pending = True
    block = actor.block
    if block is not None and block.killable:
        actor.interrupted = True
        from schedfuzz._core.traps import unpark

        unpark(actor)


def signal_pending() -> bool:
    """Whether the current actor has a pending signal (no step: it reads its own state)."""
    return current_actor().signal_pending
