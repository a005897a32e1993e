"""Page references: get, put and its zero path, freeze and unfreeze (page_ref.h, mm.h, swap.c).

Each function is one modelled atomic step (one ``checkpoint`` before its effect), except
``put_page`` that reaches zero, which goes on, in the same task, through the three steps of
``__put_compound_page`` (5.10)::

    put_page_testzero  ->  __page_cache_release       (clears PG_lru and, non-atomically,
                                                       PG_waiters: a read and a write step)
                       ->  destroy_compound_page      (reads page[1].compound_dtor)
                       ->  compound_page_dtors[dtor]  (free_transhuge_page, or the proposed
                                                       split_transhuge_page)

The ghost ``holders`` map is updated with every change of ``refcount``, so the invariants can
compare the count with who really holds it. A put on a zero count is the ``VM_BUG_ON_PAGE`` of
``put_page_testzero``, reported as ``no_refcount_underflow``.
"""

from __future__ import annotations

from collections.abc import Callable

from schedfuzz import checkpoint
from thpmodel.page import (
    COMPOUND_PAGE_DTOR,
    NULL_COMPOUND_DTOR,
    TRANSHUGE_PAGE_DTOR,
    InvariantViolation,
    Page,
    PG_locked,
    PG_lru,
    PG_waiters,
    compound_head,
)
from thpmodel.world import World, show

__all__ = [
    "COMPOUND_PAGE_DTORS",
    "__put_page",
    "check_alive",
    "check_dtor",
    "get_page",
    "get_page_unless_zero",
    "page_ref_freeze",
    "page_ref_sub",
    "page_ref_unfreeze",
    "put_page",
]

Destructor = Callable[[World, Page], None]


def check_alive(page: Page, what: str) -> None:
    """No use after free: a step that reads or writes a freed page is a violation."""
    if page.freed:
        msg = f"{what} on {page.name}, which was freed: {page.describe()}"
        raise InvariantViolation("no_use_after_free", msg)


def get_page(world: World, page: Page, holder: str | None = None) -> None:
    """get_page(): take one more reference on a page the caller already pins."""
    head = compound_head(page)
    checkpoint("get_page", page=head.name)
    check_alive(head, "get_page")
    if head.refcount <= 0:
        msg = (f"get_page on a zero refcount (VM_BUG_ON_PAGE(page_ref_zero_or_close_to_overflow)"
               f"): {head.describe()}")
        raise InvariantViolation("no_refcount_underflow", msg)
    task = world.task()
    head.refcount += 1
    head.hold(holder or task.name, 1, task.actor)
    world.touch(head)
    show(refcount=f"{head.refcount - 1}->{head.refcount}")


def get_page_unless_zero(world: World, page: Page, holder: str | None = None) -> bool:
    """get_page_unless_zero(): the lock-free get of a pfn walker; fails on a zero count.

    A freed page may be looked at this way (its struct page outlives it): the get fails.
    """
    checkpoint("get_page_unless_zero", page=page.name)
    if page.refcount == 0:
        show(result="fail (refcount 0)")
        return False
    task = world.task()
    page.refcount += 1
    page.hold(holder or task.name, 1, task.actor)
    world.touch(page)
    show(refcount=f"{page.refcount - 1}->{page.refcount}")
    return True


def put_page(world: World, page: Page, holder: str | None = None) -> None:
    """put_page(): drop a reference; the one that reaches zero runs ``__put_page``.

    Args:
        holder: whose reference it is (ghost); default the running task. The zap of a mapping
            passes ``MAP``, a page-cache deletion ``CACHE``.
    """
    head = compound_head(page)
    checkpoint("put_page", page=head.name)
    check_alive(head, "put_page")
    old = head.refcount
    if old <= 0:
        msg = (f"put_page on a zero refcount (VM_BUG_ON_PAGE(page_ref_count(page) == 0) in "
               f"put_page_testzero): {head.describe()}")
        raise InvariantViolation("no_refcount_underflow", msg)
    task = world.task()
    name = holder or task.name
    if not head.unhold(name):
        msg = f"{name} drops a reference it does not hold: {head.describe()}"
        raise InvariantViolation("refcount_equals_holders", msg)
    head.refcount = old - 1
    world.touch(head)
    show(refcount=f"{old}->{old - 1}")
    if old == 1:
        head.zero_pending = True
        __put_page(world, head)


def __put_page(world: World, page: Page) -> None:
    """__put_page() -> __put_compound_page() / free_unref_page(): the zero path."""
    __page_cache_release(world, page)
    if page.compound:
        destroy_compound_page(world, page)
    else:
        free_unref_page(world, page)


def __page_cache_release(world: World, page: Page) -> None:
    """__page_cache_release(): ``__ClearPageLRU`` and ``__ClearPageWaiters``, plain RMWs.

    Modelled as a read step and a write step: a bit another task sets in between is lost (and
    a PG_waiters set by a sleeper that holds no reference is cleared under it).
    """
    checkpoint("__page_cache_release: read page->flags", page=page.name)
    check_alive(page, "__page_cache_release")
    old = page.flags
    checkpoint("__page_cache_release: __ClearPageLRU; __ClearPageWaiters (write flags)",
               page=page.name)
    check_alive(page, "__ClearPageWaiters")
    if page.flags & PG_waiters:
        show(cleared="PG_waiters")
    page.flags = old & ~(PG_lru | PG_waiters)
    world.touch(page)


def destroy_compound_page(world: World, page: Page) -> None:
    """destroy_compound_page(): read page[1].compound_dtor, then call it."""
    checkpoint("destroy_compound_page: read compound_dtor", page=page.name)
    check_alive(page, "destroy_compound_page")
    dtor = page.dtor
    show(dtor=dtor)
    fn = COMPOUND_PAGE_DTORS.get(dtor)
    if fn is None:
        msg = f"no compound destructor {dtor!r} for {page.describe()}"
        raise InvariantViolation("destructor_discipline", msg)
    fn(world, page)


def check_dtor(page: Page, name: str) -> None:
    """Destructor discipline: only after a transition to zero, at most once per transition."""
    if page.refcount != 0 or not page.zero_pending:
        msg = (f"{name} runs without a preceding transition of the refcount to 0 "
               f"(or a second time for one transition): {page.describe()}")
        raise InvariantViolation("destructor_discipline", msg)
    page.zero_pending = False


def _free(world: World, page: Page, name: str) -> None:
    if page.mapping is not None and page.mapping.lookup(page.index) is page:
        msg = f"{name} frees a page that is still in the page cache: {page.describe()}"
        raise InvariantViolation("destructor_discipline", msg)
    if page.flags & PG_locked:
        msg = f"{name} frees a locked page: {page.describe()}"
        raise InvariantViolation("destructor_discipline", msg)
    for sub in page.subpages or (page,):
        sub.freed = True
    world.touch(page)


def free_transhuge_page(world: World, page: Page) -> None:
    """free_transhuge_page(): off the deferred-split queue, then free_compound_page()."""
    checkpoint("free_transhuge_page", page=page.name)
    check_dtor(page, "free_transhuge_page")
    _free(world, page, "free_transhuge_page")


def free_compound_page(world: World, page: Page) -> None:
    """free_compound_page(): give the pages back to the allocator."""
    checkpoint("free_compound_page", page=page.name)
    check_dtor(page, "free_compound_page")
    _free(world, page, "free_compound_page")


def free_unref_page(world: World, page: Page) -> None:
    """free_unref_page(): free an order-0 page (a subpage after its split)."""
    checkpoint("free_unref_page", page=page.name)
    check_dtor(page, "free_unref_page")
    _free(world, page, "free_unref_page")


# compound_page_dtors[] (mm/page_alloc.c). split_wait.py adds the proposal's entry,
# [TRANSHUGE_PAGE_SPLIT] = split_transhuge_page, as the mail suggests.
COMPOUND_PAGE_DTORS: dict[str, Destructor] = {
    COMPOUND_PAGE_DTOR: free_compound_page,
    TRANSHUGE_PAGE_DTOR: free_transhuge_page,
}
_ = NULL_COMPOUND_DTOR  # has no destructor: calling it is a violation


def page_ref_sub(world: World, page: Page, nr: int, holder: str) -> None:
    """page_ref_sub() in page_cache_free_page(): drop ``nr`` pins with no zero test.

    5.10 follows it with ``VM_BUG_ON_PAGE(page_count(page) <= 0)``: this path never calls a
    destructor, so the caller must still hold a reference.
    """
    checkpoint("page_cache_free_page: page_ref_sub", page=page.name, nr=nr)
    check_alive(page, "page_ref_sub")
    old = page.refcount
    page.refcount = old - nr
    if not page.unhold(holder, nr):
        msg = f"{holder} drops {nr} references it does not hold: {page.describe()}"
        raise InvariantViolation("refcount_equals_holders", msg)
    world.touch(page)
    show(refcount=f"{old}->{page.refcount}")
    if page.refcount <= 0:
        msg = (f"page_cache_free_page leaves refcount {page.refcount} "
               f"(VM_BUG_ON_PAGE(page_count(page) <= 0)): {page.describe()}")
        raise InvariantViolation("no_refcount_underflow", msg)


def page_ref_freeze(world: World, page: Page, count: int) -> bool:
    """page_ref_freeze(): ``cmpxchg(&refcount, count, 0)``; True if it froze the page."""
    checkpoint("page_ref_freeze", page=page.name, expect=count)
    check_alive(page, "page_ref_freeze")
    old = page.refcount
    if old != count:
        show(refcount=old, result="fail")
        return False
    page.refcount = 0
    page.frozen_by = world.task().actor
    world.touch(page)
    show(refcount=f"{old}->0")
    return True


def page_ref_unfreeze(world: World, page: Page, count: int, label: str = "page_ref_unfreeze"
                      ) -> None:
    """page_ref_unfreeze(): ``VM_BUG_ON(refcount != 0); refcount = count``."""
    checkpoint(label, page=page.name, count=count)
    check_alive(page, "page_ref_unfreeze")
    if page.refcount != 0:
        msg = f"page_ref_unfreeze of a page that is not frozen: {page.describe()}"
        raise InvariantViolation("no_refcount_underflow", msg)
    page.refcount = count
    page.frozen_by = None
    world.touch(page)
    show(refcount=f"0->{count}")
