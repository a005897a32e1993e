"""WaitQueue: the one park/unpark structure every blocking primitive is built on.

It follows the Linux wait queue, because that is the shape of the code schedfuzz is meant to check
(and trio's ParkingLot is the same idea with fewer knobs):

* a sleeper first *enqueues* a ``Waiter`` (``prepare_to_wait``), then checks its condition, then
  sleeps (``Waiter.sleep``). A wake-up that arrives between the enqueue and the sleep is not lost:
  it sets ``waiter.woken``, and ``sleep`` returns at once. That token is what correct code relies
  on, so only a wake-up with *no* queued waiter can be lost;
* ``wake(nr_exclusive, key)`` walks the queue in FIFO order and calls each waiter's wake function,
  which returns ``-1`` (stop the walk), ``0`` (not woken) or ``1`` (woken); the walk stops after
  ``nr_exclusive`` exclusive waiters were woken, as ``__wake_up_common`` does;
* every wake-up is recorded with its step (``wakes``), and one that finds nobody to wake is
  also recorded as *lost*. ``detect.py`` reads that record: a sleeper without a known condition
  that enqueued after a wake-up on its queue (one it came too late for: it found nobody, or
  others) and sleeps forever is a missed wakeup if that wake-up was needed, that is if
  delivering one now releases it (``wakeprobe``); a sleeper that had already taken what the
  wake-up announced goes straight back to sleep when woken, and is a plain hang.

Nothing here takes a scheduling step: the public primitives in ``schedfuzz.sync`` put exactly one
trap before each visible operation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from schedfuzz._core.actor import Actor, Block
from schedfuzz._core.traps import current_actor, current_runner, park, unpark

__all__ = ["WaitQueue", "Waiter", "default_wake"]

WakeFunction = Callable[["Waiter", Any], int]


def default_wake(waiter: Waiter, key: Any) -> int:
    """The autoremove wake function: mark woken, dequeue, count it if it is exclusive."""
    waiter.wake()
    return 1 if waiter.exclusive else 0


@attrs.define(eq=False, slots=True, repr=False)
class Waiter:
    """One entry of a wait queue, owned by the actor that sleeps on it.

    Attributes:
        actor: the sleeper.
        queue: the queue it is (or was last) enqueued on.
        exclusive: counted by ``nr_exclusive`` in ``WaitQueue.wake``.
        key: free for the primitive (the kernel's wait_page_key: which page, which bit).
        flags: free for the primitive (the kernel's WQ_FLAG_WOKEN / _DONE / _CUSTOM).
        func: the wake function called for this entry during a walk.
        woken: the wake-up token; set by ``wake()``, consumed by the sleeper.
        queued: whether it is on the queue now.
        enqueued_at: the step of the last enqueue.
    """

    actor: Actor
    queue: WaitQueue
    exclusive: bool = False
    key: Any = None
    flags: set[str] = attrs.field(factory=set)
    func: WakeFunction = default_wake
    woken: bool = False
    queued: bool = False
    enqueued_at: int = -1

    def wake(self, *, remove: bool = True) -> None:
        """Deliver the wake-up token and make the sleeper runnable (``try_to_wake_up``)."""
        self.woken = True
        if remove:
            self.queue.remove(self)
        actor = self.actor
        block = actor.block
        if block is not None and block.waiter is self:
            unpark(actor)

    def sleep(
        self,
        what: str,
        *,
        cond: Callable[[], bool] | None = None,
        on: object = None,
        killable: bool = False,
        spurious: bool = False,
        label: str | None = None,
    ) -> bool:
        """Sleep until woken (``schedule()``); return False if a signal interrupted the sleep.

        Returns at once, without a step, if the token was already delivered. ``cond`` is the
        condition the sleeper waits for: it does not wake the sleeper (only a wake-up does), but a
        sleeper stuck forever while ``cond()`` holds is diagnosed as a missed wakeup. With
        ``spurious`` the scheduler may end the sleep without a wake-up (when
        ``Settings.spurious_wakeups`` is on), so the caller must re-check its condition.
        """
        actor = self.actor
        if self.woken:
            return True
        if killable and actor.signal_pending:
            return False
        runner = current_runner()
        block = Block(what=what, since=runner.step, waiter=self, cond=cond, on=on,
                      killable=killable, spurious=spurious)
        park(block, label or f"wake-up ({what})")
        if actor.interrupted:
            actor.interrupted = False
            return self.woken
        return True

    def __schedfuzz_state__(self) -> object:
        # Not enqueued_at: when it queued is history, not state.
        return (self.actor.aid, self.exclusive, self.key, frozenset(self.flags), self.woken,
                self.queued)

    def __repr__(self) -> str:
        return f"<Waiter {self.actor.name} on {self.queue.name} woken={self.woken}>"


@attrs.define(eq=False, slots=True, repr=False)
class WaitQueue:
    """A FIFO of waiters with kernel wake semantics; see the module docstring."""

    name: str = "waitqueue"
    entries: list[Waiter] = attrs.field(factory=list)
    # Steps of the last few wake-ups, and of those that found no waiter to wake (kept short:
    # only the last few matter).
    wakes: list[int] = attrs.field(factory=list)
    lost: list[int] = attrs.field(factory=list)

    def waiter(self, *, exclusive: bool = False, key: Any = None,
               func: WakeFunction = default_wake) -> Waiter:
        """A new, unqueued entry for the current actor."""
        return Waiter(current_actor(), self, exclusive=exclusive, key=key, func=func)

    def enqueue(self, waiter: Waiter) -> None:
        """Append ``waiter`` at the tail unless it is already queued; clears its token."""
        waiter.woken = False
        if not waiter.queued:
            waiter.queue = self
            waiter.queued = True
            waiter.enqueued_at = current_runner().step
            self.entries.append(waiter)

    def remove(self, waiter: Waiter) -> None:
        """Take ``waiter`` off the queue if it is on it (``list_del_init``)."""
        if waiter.queued:
            waiter.queued = False
            self.entries.remove(waiter)

    def wake(self, nr_exclusive: int = 1, key: Any = None) -> int:
        """Walk the queue and wake waiters; returns how many were woken."""
        woken = 0
        exclusive_left = nr_exclusive
        for waiter in list(self.entries):
            ret = waiter.func(waiter, key)
            if ret < 0:
                break
            if ret:
                woken += 1
                if waiter.exclusive:
                    exclusive_left -= 1
                    if exclusive_left <= 0:
                        break
            elif waiter.woken:
                woken += 1
        step = current_runner().step
        _keep(self.wakes, step)
        if not woken:
            _keep(self.lost, step)
        return woken

    def note_woken(self) -> None:
        """Record a wake-up that a primitive delivered itself (``threading.Condition.notify``
        releasing its waiters' locks), so that ``woken_before`` knows of it."""
        _keep(self.wakes, current_runner().step)

    def note_lost(self) -> None:
        """Record a wake-up that had nobody to wake (see the module docstring)."""
        step = current_runner().step
        _keep(self.wakes, step)
        _keep(self.lost, step)

    def lost_before(self, step: int) -> int | None:
        """The last lost wake-up at or before ``step``, if any."""
        return _last_at_or_before(self.lost, step)

    def woken_before(self, step: int) -> int | None:
        """The last wake-up (lost or not) at or before ``step``, if any."""
        return _last_at_or_before(self.wakes, step)

    def __schedfuzz_state__(self) -> object:
        return tuple((w.actor.aid, w.exclusive, w.woken) for w in self.entries)

    def __repr__(self) -> str:
        return f"<WaitQueue {self.name!r} {len(self.entries)} waiting>"


def _keep(steps: list[int], step: int) -> None:
    steps.append(step)
    if len(steps) > 8:
        del steps[0]


def _last_at_or_before(steps: list[int], step: int) -> int | None:
    for s in reversed(steps):
        if s <= step:
            return s
    return None
