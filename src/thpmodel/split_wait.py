"""split_huge_page_wait(): the compound-destructor scheme proposed in the seed mail (S3).

Never merged; the mail leaves its details open, so they are ``Config`` parameters:

* ``bias``: what "sets page refcount to 1" means. ``SET1`` is the literal text (it forgets every
  other holder: "the page will get split while somebody holds a pin", Kirill, S4); ``SUB1`` is
  Kirill's "reduced by one, not set to one" (the page cache's N pins then keep the count above
  zero); ``SUBX`` subtracts what a successful split expects, 1 + N + mapcount, so the count
  reaches zero exactly when the last foreign reference goes.
* ``lock_in_sleep``: ``HOLD`` the page lock while asleep, or ``RELEASE`` it.
* ``order``: of ``enqueue`` (prepare_to_wait), ``dtor`` (set_compound_page_dtor) and ``bias``.
* ``waker``: the destructor wakes with ``wake_up_page`` (which tests PG_waiters, already
  cleared by ``__page_cache_release`` on the way to the destructor) or ``unconditional``.
* ``unmap_first``: unmap the page before biasing, so the mapcount is 0 and cannot rise.

The flow, with the destructor run by whoever drops the last reference::

    caller                                   last put_page (any task)
    split_huge_page() fails
    compound_dtor == TRANSHUGE_PAGE_SPLIT?  -> -EBUSY (someone else waits)
    enqueue / set dtor / bias (in ``order``)
    [unlock_page if RELEASE]
    sleep                                    refcount -> 0: __page_cache_release,
                                             destroy_compound_page -> split_transhuge_page:
                                               mapcount fell? reset refcount to 1, return
                                               else keep it frozen, split_ready, wake
    [lock_page if RELEASE]
    __split_huge_page on the frozen head
"""

from __future__ import annotations

from typing import Any

from schedfuzz import checkpoint
from thpmodel.huge_memory import EBUSY, split_huge_page, split_huge_page_frozen
from thpmodel.invariants import check_split_unshared
from thpmodel.page import (
    TRANSHUGE_PAGE_SPLIT,
    InvariantViolation,
    Page,
    PG_split_wait,
    PG_waiters,
    compound_head,
)
from thpmodel.pagelock import lock_page, unlock_page
from thpmodel.pagewait import PageWaitEntry, wake_page_function, wake_up_page, wake_up_page_bit
from thpmodel.refcount import COMPOUND_PAGE_DTORS, __put_page, check_alive, check_dtor
from thpmodel.rmap import unmap_page
from thpmodel.world import World, show

__all__ = ["SplitReady", "split_huge_page_wait", "split_transhuge_page"]


class SplitReady:
    """The condition the sleeper waits for: the destructor froze the page for it."""

    __slots__ = ("page",)

    def __init__(self, page: Page) -> None:
        self.page = page

    def __call__(self) -> bool:
        return self.page.split_ready

    def __schedfuzz_state__(self) -> object:
        return self.page.pfn


def split_huge_page_wait(world: World, page: Page) -> int:
    """split_huge_page_wait(): split now, or sleep until the last other reference is gone.

    Returns 0 after a split, or -EBUSY if another task already waits to split this page.
    """
    cfg = world.config
    head = compound_head(page)
    if split_huge_page(world, page) == 0:
        return 0
    if cfg.unmap_first:
        unmap_page(world, head)
    checkpoint("split_huge_page_wait: read compound_dtor", page=head.name)
    check_alive(head, "split_huge_page_wait")
    if head.dtor == TRANSHUGE_PAGE_SPLIT:
        show(result="TRANSHUGE_PAGE_SPLIT: -EBUSY")
        return EBUSY
    task = world.task()
    queue = world.page_waitqueue(head).queue
    wait = PageWaitEntry(task.actor, queue, key=(head, PG_split_wait), func=wake_page_function)
    for part in cfg.order:
        if part == "enqueue":
            checkpoint("split_huge_page_wait: prepare_to_wait; SetPageWaiters", page=head.name)
            queue.enqueue(wait)
            head.flags |= PG_waiters
            task.state = "UNINTERRUPTIBLE"
            world.touch(head)
        elif part == "dtor":
            checkpoint("set_compound_page_dtor: TRANSHUGE_PAGE_SPLIT", page=head.name)
            head.dtor = TRANSHUGE_PAGE_SPLIT
            head.split_waiter = task.actor
            world.touch(head)
        else:
            _bias(world, head)
    if cfg.lock_in_sleep == "RELEASE":
        unlock_page(world, head)
    wait.sleep(f"split_huge_page_wait({head.name})", cond=SplitReady(head), on=head.refs_res,
               label="io_schedule: woken by split_transhuge_page")
    checkpoint("split_huge_page_wait: finish_wait", page=head.name)
    queue.remove(wait)
    task.state = "RUNNING"
    if cfg.lock_in_sleep == "RELEASE":
        lock_page(world, head)
    split_huge_page_frozen(world, page)
    return 0


def _bias(world: World, head: Page) -> None:
    """Take the waiter's references out of the count (``Config.bias``)."""
    cfg = world.config
    old = head.refcount
    checkpoint("split_huge_page_wait: bias refcount", page=head.name, bias=cfg.bias)
    check_alive(head, "split_huge_page_wait")
    old = head.refcount
    if cfg.bias == "SET1":
        new = 1  # atomic_set(&page->_refcount, 1)
    elif cfg.bias == "SUB1":
        new = old - 1
    else:
        new = old - (1 + head.nr + head.mapcount)
    head.bias += old - new
    head.bias_mapcount = head.mapcount
    head.refcount = new
    world.touch(head)
    show(refcount=f"{old}->{new}")
    if new < 0:
        msg = f"split_huge_page_wait biases the refcount below zero: {head.describe()}"
        raise InvariantViolation("no_refcount_underflow", msg)
    if new == 0:  # page_ref_sub_and_test(): the bias dropped the last reference itself
        head.zero_pending = True
        __put_page(world, head)


def split_transhuge_page(world: World, page: Page) -> None:
    """split_transhuge_page(): the destructor of a page a split_huge_page_wait() caller biased.

    "first has to check if the refcount went to 0 due to mapcount being reduced. If so, it
    resets the refcount to 1 and returns to the caller. If not, it freezes the page and wakes
    the task above" (S3).
    """
    checkpoint("split_transhuge_page", page=page.name)
    check_dtor(page, "split_transhuge_page")
    waiter: Any = page.split_waiter
    if page.mapcount < page.bias_mapcount:
        page.refcount = 1
        page.bias = sum(page.holders.values()) - 1
        page.bias_mapcount = page.mapcount
        world.touch(page)
        show(result="mapcount fell: refcount reset to 1")
        return
    if waiter is None:
        msg = f"split_transhuge_page with no waiter registered: {page.describe()}"
        raise InvariantViolation("destructor_discipline", msg)
    page.frozen_by = waiter  # it stays at 0: frozen for the sleeper
    check_split_unshared(page, waiter.name, locked=False)
    page.bias = 0
    page.split_ready = True
    world.touch(page)
    show(result=f"frozen for {waiter.name}")
    if world.config.waker == "wake_up_page":
        wake_up_page(world, page, PG_split_wait)
    else:
        wake_up_page_bit(world, page, PG_split_wait)


COMPOUND_PAGE_DTORS[TRANSHUGE_PAGE_SPLIT] = split_transhuge_page
