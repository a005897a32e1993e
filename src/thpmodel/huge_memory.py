"""split_huge_page() of a file THP (mm/huge_memory.c, 5.10), step by step.

The split succeeds only if the caller's one pin and the page cache's N pins are all the
references there are (``can_split_huge_page``: mapcount == refcount - N - 1, then, after
unmapping, ``page_ref_freeze(head, 1 + N)``). The steps, as modelled::

    S1  PageWriteback?  head->mapping?             -EBUSY if under writeback or truncated
    S2  can_split_huge_page()                       racy pre-check, -EBUSY without unmapping
    S3  unmap_page()                                one step per mapping; never remapped
    S4  xa_lock; head still in the cache; mapcount == 0; page_ref_freeze(head, 1 + N)
    S5  for i = N-1 .. 1: __split_huge_page_tail(i); then __xa_store(tail) or, beyond EOF,
        ClearPageDirty + __delete_from_page_cache + put_page
    S6  ClearPageCompound(head); page_ref_add(head, 2)
    S7  for every subpage but the argument: unlock_page(); put_page()

``__split_huge_page_tail`` clones the flags (PG_locked included, PG_waiters not) and clears
``compound_head`` *before* unfreezing the tail (605ca5ede764): "After successful
get_page_unless_zero() might follow flags change, for example lock_page() which set
PG_waiters". ``Config.s23_flags_after_unfreeze`` restores the older order. In the model the
tail is then published locked ("tail pages are locked and isolated", the fix's message) and the
rest of the flags are cloned by a plain read and a later write, which erases a PG_waiters set in
between by a pfn walker's lock_page()::

    splitter                                   pfn walker
    page_ref_add(tail, 2); tail is locked
                                               get_page_unless_zero(tail)
    read tail->flags                           lock_page(tail): SetPageWaiters, sleep
    write tail->flags (no PG_waiters)
    unlock_page(tail): no PG_waiters, no wake  ... sleeps forever, PG_locked clear

``Config.s24_nonatomic_dirty_clear`` does the same to ``__ClearPageDirty`` of tails beyond
EOF (fixed by 2d077d4b5992).
"""

from __future__ import annotations

from schedfuzz import checkpoint
from thpmodel.invariants import check_split_locks, check_split_result, check_split_unshared
from thpmodel.page import (
    CACHE,
    NULL_COMPOUND_DTOR,
    UNITS,
    InvariantViolation,
    Page,
    PG_dirty,
    PG_head,
    PG_locked,
    PG_lru,
    PG_uptodate,
    PG_waiters,
    PG_writeback,
    compound_head,
)
from thpmodel.pagelock import unlock_page
from thpmodel.refcount import check_alive, put_page
from thpmodel.rmap import unmap_page
from thpmodel.world import World, show

__all__ = ["EBUSY", "can_split_huge_page", "split_huge_page", "split_huge_page_frozen"]

EBUSY = -16
# The head flags __split_huge_page_tail copies to each tail (PG_waiters is never copied).
CLONE_FLAGS = PG_locked | PG_dirty | PG_uptodate | PG_lru
# Cleared in the tail before the copy; in the model it covers every flag bit there is.
PAGE_FLAGS_CHECK_AT_PREP = ~0
UNIT_MASK = (1 << UNITS) - 1


def can_split_huge_page(world: World, head: Page) -> bool:
    """can_split_huge_page(): ``total_mapcount(page) == page_count(page) - extra_pins - 1``."""
    checkpoint("can_split_huge_page", page=head.name)
    check_alive(head, "can_split_huge_page")
    extra_pins = head.nr  # one page-cache reference per subpage
    ok = head.mapcount == head.refcount - extra_pins - 1
    show(refcount=head.refcount, mapcount=head.mapcount, result="yes" if ok else "no: -EBUSY")
    return ok


def split_huge_page(world: World, page: Page) -> int:
    """split_huge_page(): split the THP holding ``page``; 0 or -EBUSY.

    The caller holds the page lock and one reference. On success ``page`` (the argument
    subpage) keeps both; every other subpage is unlocked and holds only its page-cache pin.
    """
    head = compound_head(page)
    task = world.task()
    world.stats.split_attempts += 1
    checkpoint("split_huge_page: PageWriteback? head->mapping?", page=head.name)
    check_alive(head, "split_huge_page")
    if head.lock_owner is not task.actor or not head.compound:
        msg = f"{task.name} splits {head.name} without holding its lock (or not compound): " \
              f"{head.describe()}"
        raise InvariantViolation("lock_discipline", msg)
    if head.flags & PG_writeback or head.mapping is None:
        show(result="-EBUSY (writeback)" if head.flags & PG_writeback else "-EBUSY (truncated)")
        return _failed(world)
    if not can_split_huge_page(world, head):
        return _failed(world)
    unmap_page(world, head)
    count = 1 + head.nr
    checkpoint("split_huge_page: xa_lock; xas_load == head; page_ref_freeze", page=head.name,
               expect=count)
    check_alive(head, "page_ref_freeze")
    if world.mapping.lookup(head.index) is not head or head.mapcount or head.refcount != count:
        show(refcount=head.refcount, mapcount=head.mapcount, result="-EBUSY")
        return _failed(world)
    head.refcount = 0
    head.frozen_by = task.actor
    world.touch(head)
    show(refcount=f"{count}->0")
    check_split_unshared(head, task.name)
    split_huge_page_frozen(world, page)
    return 0


def _failed(world: World) -> int:
    world.stats.split_failures += 1
    return EBUSY


def split_huge_page_frozen(world: World, page: Page) -> None:
    """__split_huge_page() and the unlock/put loop, on a head the caller has frozen."""
    head = compound_head(page)
    task = world.task()
    end = world.mapping.end_index()
    for i in range(head.nr - 1, 0, -1):
        tail = head.subpages[i]
        __split_huge_page_tail(world, head, tail, i)
        if tail.index >= end:  # beyond EOF: drop it from the page cache
            _clear_page_dirty(world, tail)
            checkpoint("__delete_from_page_cache", page=tail.name, index=tail.index)
            world.mapping.slots[tail.index] = None
            tail.mapping = None
            world.touch(tail)
            put_page(world, tail, CACHE)
        else:
            checkpoint("__xa_store", index=tail.index, page=tail.name)
            world.mapping.slots[tail.index] = tail
            world.touch(tail)
    checkpoint("__split_huge_page: ClearPageCompound(head); page_ref_add(head, 2)",
               page=head.name)
    subpages = head.subpages
    head.flags &= ~PG_head
    head.nr = 1
    head.subpages = ()
    head.dtor = NULL_COMPOUND_DTOR
    head.zeroed &= UNIT_MASK
    head.refcount = 2  # the page cache's pin and the caller's (or the temporary) one
    head.frozen_by = None
    head.split_ready = False
    head.split_waiter = None
    head.bias = 0
    world.touch(head)
    show(refcount="0->2")
    check_split_result(world, subpages)
    for sub in subpages:
        if sub is page:
            continue
        unlock_page(world, sub)
        put_page(world, sub)
    check_split_locks(subpages, page, task.actor)


def __split_huge_page_tail(world: World, head: Page, tail: Page, i: int) -> None:
    """__split_huge_page_tail(): make tail ``i`` a page of its own, then unfreeze it."""
    task = world.task()
    data = (head.zeroed >> (i * UNITS)) & UNIT_MASK
    if not world.config.s23_flags_after_unfreeze:
        checkpoint("__split_huge_page_tail: clone flags; ->mapping, ->index; "
                   "clear_compound_head", page=tail.name)
        tail.flags = head.flags & CLONE_FLAGS
        tail.lock_owner = task.actor
        tail.mapping = head.mapping
        tail.zeroed = data
        tail.head = None
        world.touch(tail)
        _unfreeze_tail(world, head, tail, "__split_huge_page_tail: page_ref_unfreeze")
        return
    # Before 605ca5ede764: the tail is live first, its flags cloned afterwards.
    tail.lock_owner = task.actor
    _unfreeze_tail(world, head, tail, "__split_huge_page_tail: page_ref_add(tail, 2); "
                   "clear_compound_head (tail locked)", publish=True)
    tail.mapping = head.mapping
    tail.zeroed = data
    checkpoint("__split_huge_page_tail: read page_tail->flags", page=tail.name)
    old = tail.flags
    checkpoint("__split_huge_page_tail: write page_tail->flags (&= ~PAGE_FLAGS_CHECK_AT_PREP, "
               "|= head flags)", page=tail.name)
    new = (old & ~PAGE_FLAGS_CHECK_AT_PREP) | (head.flags & CLONE_FLAGS)
    if tail.flags & PG_waiters and not new & PG_waiters:
        show(erased="PG_waiters")
    tail.flags = new
    world.touch(tail)


def _unfreeze_tail(world: World, head: Page, tail: Page, label: str,
                   publish: bool = False) -> None:
    """page_ref_unfreeze(page_tail, 2): one page-cache pin moves from the head to the tail,
    plus a temporary one the S7 loop drops."""
    task = world.task()
    checkpoint(label, page=tail.name)
    check_alive(tail, "page_ref_unfreeze")
    if tail.refcount != 0:
        msg = f"page_ref_unfreeze of a tail that is not frozen: {tail.describe()}"
        raise InvariantViolation("no_refcount_underflow", msg)
    if publish:
        tail.flags |= PG_locked
        tail.head = None
    tail.refcount = 2
    head.unhold(CACHE)
    tail.hold(CACHE)
    tail.hold(task.name, 1, task.actor)
    world.touch(head, tail)
    show(refcount="0->2")


def _clear_page_dirty(world: World, tail: Page) -> None:
    """ClearPageDirty() of a tail beyond EOF: atomic since 2d077d4b5992."""
    if not world.config.s24_nonatomic_dirty_clear:
        checkpoint("ClearPageDirty", page=tail.name)
        tail.flags &= ~PG_dirty
        world.touch(tail)
        return
    checkpoint("__ClearPageDirty: read page->flags", page=tail.name)
    old = tail.flags
    checkpoint("__ClearPageDirty: write page->flags", page=tail.name)
    if tail.flags & PG_waiters and not old & PG_waiters:
        show(erased="PG_waiters")
    tail.flags = old & ~PG_dirty
    world.touch(tail)
