"""The page cache of one file: lock-free lookup, deletion, writeback (mm/filemap.c, 5.10).

Lookups follow the protocol of the ``__page_cache_add_speculative`` comment (pagemap.h):

    1. find the page in the tree        2. page_cache_get_speculative (refcount += 1 unless 0)
    3. check it is still in the tree, else put and retry

Steps 1-2 are one modelled step, step 3 another. A page whose refcount is 0 in the tree is
frozen (a split or a migration holds it): the kernel spins (``goto repeat``) inside the RCU
section. The model *disables* the looking-up actor until the count is non-zero or the slot
changes (``schedfuzz.block_until``), so that spin is neither a step nor a livelock.

The page lock and page-bit waits, the other half of mm/filemap.c, are in ``pagelock.py`` and
``pagewait.py``.
"""

from __future__ import annotations

from schedfuzz import block_until, checkpoint
from thpmodel.page import CACHE, InvariantViolation, Page, PG_writeback, compound_head
from thpmodel.pagelock import lock_page, unlock_page
from thpmodel.pagewait import SHARED, wait_on_page_bit_common, wake_up_page
from thpmodel.refcount import check_alive, get_page, page_ref_sub, put_page
from thpmodel.world import AddressSpace, World, show

__all__ = [
    "delete_from_page_cache",
    "end_page_writeback",
    "find_get_entry",
    "find_lock_page",
    "find_subpage",
    "set_page_writeback",
    "wait_on_page_writeback",
]


class SlotSettled:
    """"Disabled until unfrozen": the slot's page has a non-zero refcount, or it changed."""

    __slots__ = ("head", "index", "mapping")

    def __init__(self, mapping: AddressSpace, index: int, head: Page) -> None:
        self.mapping = mapping
        self.index = index
        self.head = head

    def __call__(self) -> bool:
        return self.head.refcount > 0 or self.mapping.lookup(self.index) is not self.head

    def __schedfuzz_state__(self) -> object:
        return (self.index, self.head.pfn)


def find_subpage(head: Page, index: int) -> Page:
    """find_subpage(): the (sub)page of ``head`` that holds ``index``."""
    if head.compound:
        return head.subpages[index - head.index]
    return head


def find_get_entry(world: World, index: int, holder: str | None = None) -> Page | None:
    """find_get_entry(): the page at ``index`` with a reference (on its head), or None."""
    mapping = world.mapping
    task = world.task()
    name = holder or task.name
    while True:
        checkpoint("find_get_entry: xas_load; page_cache_get_speculative", index=index)
        head = mapping.lookup(index)
        if head is None:
            show(page="none")
            return None
        check_alive(head, "find_get_entry (a freed page is still in the page cache)")
        if head.refcount == 0:
            show(page=head.name, refcount=0, result="frozen: spin")
            block_until(SlotSettled(mapping, index, head),
                        f"find_get_entry: {head.name} frozen, retry", on=head.frozen_res)
            continue
        head.refcount += 1
        head.hold(name, 1, task.actor)
        world.touch(head)
        show(page=head.name, refcount=f"{head.refcount - 1}->{head.refcount}")
        checkpoint("find_get_entry: xas_reload", index=index, page=head.name)
        if mapping.lookup(index) is not head:
            show(result="moved: put and retry")
            put_page(world, head, name)
            continue
        return find_subpage(head, index)


def find_lock_page(world: World, index: int) -> Page | None:
    """find_lock_page() = pagecache_get_page(FGP_LOCK): lookup, lock, recheck the mapping.

    The lock is taken *holding the reference*: a task waiting here blocks a split of the page
    for as long as it waits.
    """
    while True:
        page = find_get_entry(world, index)
        if page is None:
            return None
        lock_page(world, page)
        head = compound_head(page)
        checkpoint("pagecache_get_page: recheck page->mapping", page=head.name)
        if head.mapping is world.mapping:
            return page
        show(result="truncated: unlock, put, retry")
        unlock_page(world, page)
        put_page(world, page)


def delete_from_page_cache(world: World, page: Page) -> None:
    """delete_from_page_cache(): remove every slot under the i_pages lock, then drop the
    page cache's pins with page_cache_free_page() (``page_ref_sub``, no zero test)."""
    checkpoint("__delete_from_page_cache", page=page.name, nr=page.nr)
    check_alive(page, "__delete_from_page_cache")
    mapping = world.mapping
    if page.mapping is not mapping:
        msg = f"__delete_from_page_cache of a page not in the page cache: {page.describe()}"
        raise InvariantViolation("page_cache_consistent", msg)
    for i in range(page.index, page.index + page.nr):
        if mapping.slots[i] is page:
            mapping.slots[i] = None
    page.mapping = None
    world.touch(page)
    page_ref_sub(world, page, page.nr, CACHE)


def set_page_writeback(world: World, page: Page) -> None:
    """set_page_writeback(): start writeback (the page is locked by the caller)."""
    head = compound_head(page)
    checkpoint("set_page_writeback", page=head.name)
    head.flags |= PG_writeback
    head.writeback_owner = world.task().actor
    world.touch(head)


def end_page_writeback(world: World, page: Page) -> None:
    """end_page_writeback() (5.10 with 073861ed77b6): get, clear, wake_up_page, put."""
    head = compound_head(page)
    get_page(world, head)
    checkpoint("test_clear_page_writeback", page=head.name)
    head.flags &= ~PG_writeback
    head.writeback_owner = None
    world.touch(head)
    wake_up_page(world, head, PG_writeback)
    put_page(world, head)


def wait_on_page_writeback(world: World, page: Page) -> None:
    """wait_on_page_writeback(): ``while (PageWriteback(page)) wait_on_page_bit(...)``."""
    head = compound_head(page)
    while True:
        checkpoint("wait_on_page_writeback: PageWriteback?", page=head.name)
        if not head.flags & PG_writeback:
            return
        wait_on_page_bit_common(world, head, PG_writeback, killable=False, behavior=SHARED)
