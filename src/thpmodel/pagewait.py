"""Page-bit waits: the page wait table and wait_on_page_bit_common() (mm/filemap.c).

``PG_locked`` and ``PG_writeback`` waiters sleep in a hashed table of wait queues
(``page_wait_table``, one ``schedfuzz.WaitQueue`` per bucket), each entry keyed by (page, bit).
A waker walks the bucket with a wake function that returns -1 (stop), 0 (not woken) or 1 (woken
an exclusive waiter), exactly as ``__wake_up_common`` calls ``wake_page_function``.

Three versions of ``wait_on_page_bit_common`` are modelled (``Config.lock_algo``):

* ``old-loop`` (v4.10-v5.8): enqueue and ``set_current_state`` at each turn; ``test_bit``; sleep
  only if the bit was set; then try for the bit, then check for a signal. The wake function
  counts a wake-up only if ``try_to_wake_up`` found the task not running, so a killable waiter
  that skipped the sleep (TASK_KILLABLE still set, still queued) absorbs the one exclusive
  wake-up and then leaves with -EINTR (Oleg Nesterov, June 2020). One interleaving::

        holder                     killable                       locker
        lock, unlock               (trylock failed)               (trylock failed)
                                   enqueue; state=KILLABLE        enqueue behind it
                                   test_bit: clear, no sleep
        trylock: locked again                                     test_bit: set, sleep
                                   test_and_set_bit: busy
        unlock: the walk meets     signal pending: -EINTR
        killable first, KILLABLE:
        counted, walk stops        finish_wait                    sleeps forever,
                                                                  PG_locked clear

* ``handoff`` (2a9127fcf229): the waker takes the bit *for* an exclusive waiter (WQ_FLAG_CUSTOM
  on every entry) and marks it DONE; the waiter never re-queues.
* ``hybrid`` (5ef64cc8987a, v5.9 final and v5.10): the first ``unfairness`` turns behave like the
  old code (the waker only wakes; the waiter races for the bit), later turns hand off. A killed
  waiter in an unfair turn can still absorb the exclusive wake-up between its signal check and
  its ``finish_wait`` (``thp.pagelock.hybrid-kill``).

Every modelled atomic step is one ``checkpoint`` before its effect; a section under the bucket's
spinlock is one step.
"""

from __future__ import annotations

from typing import Any

import schedfuzz
from schedfuzz import checkpoint, signal_pending
from thpmodel.page import (
    Page,
    PG_locked,
    PG_waiters,
    PG_writeback,
    flag_names,
)
from thpmodel.refcount import check_alive, put_page
from thpmodel.world import World, show

__all__ = [
    "DROP",
    "EINTR",
    "EXCLUSIVE",
    "SHARED",
    "BitClear",
    "PageWaitEntry",
    "WaitPageKey",
    "take_bit",
    "wait_on_page_bit_common",
    "wake_page_function",
    "wake_page_function_old",
    "wake_up_page",
    "wake_up_page_bit",
]

EINTR = -4
# enum behavior (mm/filemap.c)
EXCLUSIVE = "EXCLUSIVE"  # hold a ref and take the bit: lock_page
SHARED = "SHARED"  # hold a ref and check the bit: wait_on_page_locked/writeback
DROP = "DROP"  # drop the ref before waiting: put_and_wait_on_page_locked


class PageWaitEntry(schedfuzz.Waiter):
    """struct wait_page_queue: a wait-queue entry keyed by (page, bit), with kernel flags.

    ``flags`` holds WQ_FLAG_EXCLUSIVE / _CUSTOM / _WOKEN / _DONE by name. Its fingerprint names
    the page by pfn and the sleeper by name (the key holds the Page object).
    """

    __slots__ = ()

    def __schedfuzz_state__(self) -> object:
        page, bit = self.key
        return (self.actor.name, page.pfn, bit, tuple(sorted(self.flags)), self.woken,
                self.queued)


class WaitPageKey:
    """struct wait_page_key: what a wake-up is for, and whether the walk met the page."""

    __slots__ = ("bit", "page", "page_match", "woken", "world")

    def __init__(self, world: World, page: Page, bit: int) -> None:
        self.world = world
        self.page = page
        self.bit = bit
        self.page_match = False
        self.woken: list[str] = []


class BitClear:
    """The condition a page-bit sleeper waits for: ``!test_bit(bit, &page->flags)``."""

    __slots__ = ("bit", "page")

    def __init__(self, page: Page, bit: int) -> None:
        self.page = page
        self.bit = bit

    def __call__(self) -> bool:
        return not self.page.flags & self.bit

    def __schedfuzz_state__(self) -> object:
        return (self.page.pfn, self.bit)


def _match(wait: Any, key: WaitPageKey) -> bool:
    """wake_page_match(): same page (sets page_match), then same bit."""
    page, bit = wait.key
    if page is not key.page:
        return False
    key.page_match = True
    return bool(bit == key.bit)


def take_bit(page: Page, bit: int, actor: Any) -> None:
    """Set ``bit`` for ``actor`` (for PG_locked, it becomes the owner)."""
    page.flags |= bit
    if bit == PG_locked:
        page.lock_owner = actor


def wake_page_function(wait: Any, key: WaitPageKey) -> int:
    """wake_page_function() of v5.9/v5.10 (also the hand-off version: every entry CUSTOM)."""
    if not _match(wait, key):
        return 0
    page = key.page
    flags = wait.flags
    if "EXCLUSIVE" in flags:
        if page.flags & key.bit:
            return -1  # someone holds the bit again: stop walking
        if "CUSTOM" in flags:  # lock hand-off: take the bit for the waiter
            take_bit(page, key.bit, wait.actor)
            flags.add("DONE")
    flags.add("WOKEN")
    key.woken.append(wait.actor.name)
    wait.wake()  # wake_up_state() + list_del_init_careful()
    return 1 if "EXCLUSIVE" in flags else 0


def wake_page_function_old(wait: Any, key: WaitPageKey) -> int:
    """wake_page_function() before v5.9: ``test_bit`` then ``autoremove_wake_function``.

    ``try_to_wake_up`` returns 1 only if the task was not running: only then is the entry
    removed and the wake-up counted against ``nr_exclusive``.
    """
    if not _match(wait, key):
        return 0
    if key.page.flags & key.bit:
        return -1
    task = key.world.tasks[wait.actor.name]
    if task.state == "RUNNING":
        return 0
    task.state = "RUNNING"
    wait.flags.add("WOKEN")
    key.woken.append(wait.actor.name)
    wait.wake()
    return 1


def wake_up_page_bit(world: World, page: Page, bit: int) -> None:
    """wake_up_page_bit(): walk the bucket under its lock; then maybe ClearPageWaiters."""
    checkpoint("wake_up_page_bit", page=page.name, bit=flag_names(bit))
    queue = world.page_waitqueue(page).queue
    key = WaitPageKey(world, page, bit)
    queue.wake(1, key)
    # "It's possible to miss clearing Waiters here ... The next waker will clear it."
    if not queue.entries or not key.page_match:
        page.flags &= ~PG_waiters
    world.touch(page)
    show(woken=",".join(key.woken) or "nobody")


def wake_up_page(world: World, page: Page, bit: int) -> None:
    """wake_up_page(): ``if (!PageWaiters(page)) return;`` then wake_up_page_bit()."""
    checkpoint("wake_up_page: PageWaiters?", page=page.name, bit=flag_names(bit))
    if not page.flags & PG_waiters:
        show(result="no PG_waiters: return")
        return
    wake_up_page_bit(world, page, bit)


def _resource(page: Page, bit: int) -> object:
    return page.wb_res if bit == PG_writeback else page.lock_res


def wait_on_page_bit_common(world: World, page: Page, bit: int, *, killable: bool,
                            behavior: str) -> int:
    """wait_on_page_bit_common(): wait for ``bit`` of ``page`` per ``Config.lock_algo``.

    Returns 0, or -EINTR if a killable wait was interrupted (an EXCLUSIVE waiter then does not
    hold the bit).
    """
    algo = world.config.lock_algo
    if algo == "old-loop":
        return _wait_old_loop(world, page, bit, killable, behavior)
    unfairness = 0 if algo == "handoff" else world.config.unfairness
    return _wait_handoff(world, page, bit, killable, behavior, unfairness)


def _wait_handoff(world: World, page: Page, bit: int, killable: bool, behavior: str,
                  unfairness: int) -> int:
    """The v5.9/v5.10 algorithm (hand-off after ``unfairness`` unfair turns)."""
    task = world.task()
    queue = world.page_waitqueue(page).queue
    wait = PageWaitEntry(task.actor, queue, exclusive=behavior == EXCLUSIVE, key=(page, bit),
                         func=wake_page_function)
    what = f"{flag_names(bit)} of {page.name}"
    cond = BitClear(page, bit)
    on = _resource(page, bit)
    state = "KILLABLE" if killable else "UNINTERRUPTIBLE"
    while True:  # repeat:
        if behavior == EXCLUSIVE:
            if unfairness >= 0:  # --unfairness < 0, without an ever-decreasing counter
                unfairness -= 1
            wait.flags = {"EXCLUSIVE", "CUSTOM"} if unfairness < 0 else {"EXCLUSIVE"}
        else:
            wait.flags = set()
        checkpoint("wait_on_page_bit_common: SetPageWaiters; trylock_page_bit_common",
                   page=page.name, bit=flag_names(bit), behavior=behavior,
                   handoff="CUSTOM" in wait.flags)
        check_alive(page, "wait_on_page_bit_common")
        page.flags |= PG_waiters
        world.touch(page)
        if not page.flags & bit:  # the bit is free: take it (EXCLUSIVE) or just go on
            if behavior == EXCLUSIVE:
                take_bit(page, bit, task.actor)
            wait.flags |= {"WOKEN", "DONE"}
            show(result="got it" if behavior == EXCLUSIVE else "clear")
        else:
            queue.enqueue(wait)
            show(result="queued")
        if behavior == DROP:
            put_page(world, page)
        task.state = state  # set_current_state()
        checkpoint("wait_on_page_bit_common: load wait->flags", page=page.name)
        again = False
        while True:
            flags = wait.flags
            if "WOKEN" not in flags:
                if killable and signal_pending():
                    show(signal="pending: break")
                    break
                wait.sleep(what, cond=cond, on=on, killable=killable,
                           label="io_schedule: woken; load wait->flags")
                continue
            if behavior != EXCLUSIVE or "DONE" in flags:
                break
            checkpoint("wait_on_page_bit_common: test_and_set_bit", page=page.name,
                       bit=flag_names(bit))
            if page.flags & bit:
                show(result="lost the race: repeat")
                again = True
                break
            take_bit(page, bit, task.actor)
            world.touch(page)
            flags.add("DONE")
            break
        if not again:
            break
    checkpoint("finish_wait", page=page.name)
    queue.remove(wait)
    task.state = "RUNNING"
    done = "DONE" in wait.flags if behavior == EXCLUSIVE else "WOKEN" in wait.flags
    show(result="0" if done else "-EINTR")
    return 0 if done else EINTR


def _wait_old_loop(world: World, page: Page, bit: int, killable: bool, behavior: str) -> int:
    """The v4.10-v5.8 loop: re-queue at each turn, sleep only if the bit was seen set."""
    task = world.task()
    queue = world.page_waitqueue(page).queue
    wait = PageWaitEntry(task.actor, queue, exclusive=behavior == EXCLUSIVE, key=(page, bit),
                         func=wake_page_function_old)
    what = f"{flag_names(bit)} of {page.name}"
    cond = BitClear(page, bit)
    on = _resource(page, bit)
    state = "KILLABLE" if killable else "UNINTERRUPTIBLE"
    ret = 0
    while True:
        checkpoint("wait_on_page_bit_common: add_wait_queue; SetPageWaiters; "
                   "set_current_state", page=page.name, bit=flag_names(bit), state=state)
        check_alive(page, "wait_on_page_bit_common")
        if not wait.queued:
            queue.enqueue(wait)
        page.flags |= PG_waiters
        world.touch(page)
        task.state = state
        wait.woken = False  # from here a wake-up makes the coming schedule() return
        checkpoint("wait_on_page_bit_common: test_bit", page=page.name, bit=flag_names(bit))
        bit_is_set = bool(page.flags & bit)
        show(result="set: sleep" if bit_is_set else "clear: no sleep")
        if behavior == DROP:
            put_page(world, page)
        if bit_is_set:
            wait.sleep(what, cond=cond, on=on, killable=killable, label="io_schedule: woken")
            task.state = "RUNNING"
        if behavior == EXCLUSIVE:
            checkpoint("wait_on_page_bit_common: test_and_set_bit_lock", page=page.name)
            if not page.flags & bit:
                take_bit(page, bit, task.actor)
                world.touch(page)
                show(result="got it")
                break
            show(result="busy")
        elif behavior == SHARED:
            checkpoint("wait_on_page_bit_common: test_bit", page=page.name)
            if not page.flags & bit:
                break
        if killable:  # signal_pending_state() is false for TASK_UNINTERRUPTIBLE
            checkpoint("wait_on_page_bit_common: signal_pending_state?", page=page.name)
            if signal_pending():
                show(signal="pending: -EINTR")
                ret = EINTR
                break
        if behavior == DROP:
            break
    checkpoint("finish_wait", page=page.name)
    queue.remove(wait)
    task.state = "RUNNING"
    return ret
