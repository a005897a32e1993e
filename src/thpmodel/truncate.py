"""Truncate and hole punch over a THP: the three ways to handle a failed split (mm/truncate.c,
mm/shmem.c, fs/iomap).

* (a) ``truncate_retry``: the seed mail's handling, "unlock the page and drop the reference,
  hoping that somebody else will not have a reference to the page by the next time we try to
  split it" (iomap_write_begin's ``goto retry``). With ``wait_split`` the split is
  ``split_huge_page_wait`` instead: variant (b).
* (c) ``truncate_inode_pages_range``: upstream since v5.17 (b9a8a4195c7d): zero the range in the
  folio first, try the split *once*, and on failure keep the dirty folio (skipping it in the
  second pass) or drop the clean one whole.
* (c) ``shmem_undo_range``: tmpfs v5.7-v5.16 (71725ed10c40): per subpage, split or "Wipe the page
  and don't get stuck", at most one attempt per subpage in the range.

Each actor body ends by checking the truncate post-condition, setting ``World.truncate_done``
and calling ``schedfuzz.progress``: the truncate finishing is what a livelock cycle lacks.

What is left out: the first, trylock-only pass (an optimisation: the second pass locks what it
skips), and refilling of the range by faults or reads (the model has no page allocation: as if
``invalidate_lock`` (S28) were held, so one second pass suffices).
"""

from __future__ import annotations

from collections.abc import Callable

from schedfuzz import checkpoint, progress
from thpmodel.filemap import (
    delete_from_page_cache,
    find_get_entry,
    find_lock_page,
    wait_on_page_writeback,
)
from thpmodel.huge_memory import split_huge_page
from thpmodel.invariants import truncate_postcondition
from thpmodel.page import NR_SUBPAGES, UNITS, Page, PG_dirty, compound_head
from thpmodel.pagelock import lock_page, put_and_wait_on_page_locked, trylock_page, unlock_page
from thpmodel.refcount import check_alive, put_page
from thpmodel.rmap import unmap_page
from thpmodel.split_wait import split_huge_page_wait
from thpmodel.world import World, show

__all__ = [
    "find_lock_page_drop",
    "iomap_write_begin",
    "punch_page",
    "set_page_dirty",
    "shmem_undo_range",
    "truncate_inode_page",
    "truncate_inode_pages_range",
    "truncate_inode_partial_folio",
    "truncate_retry",
    "zero_user_segment",
]

Split = Callable[[World, Page], int]


def zero_user_segment(world: World, page: Page, start: int, end: int) -> None:
    """zero_user_segment() / folio_zero_range(): zero units [start, end) of ``page``."""
    head = compound_head(page)
    checkpoint("zero_user_segment", page=page.name, start=start, end=end)
    check_alive(head, "zero_user_segment")
    base = (page.index - head.index) * UNITS
    head.zeroed |= ((1 << (end - start)) - 1) << (base + start)
    world.touch(head)


def set_page_dirty(world: World, page: Page) -> None:
    """set_page_dirty(): SetPageDirty on the head (atomic)."""
    head = compound_head(page)
    checkpoint("set_page_dirty", page=head.name)
    head.flags |= PG_dirty
    world.touch(head)


def truncate_inode_page(world: World, page: Page) -> None:
    """truncate_inode_page() / truncate_inode_folio(): unmap, then delete from the page cache.

    The caller holds the page lock and a reference (so ``page_cache_free_page`` never drops
    the last one).
    """
    head = compound_head(page)
    checkpoint("truncate_inode_page: page->mapping == mapping?", page=head.name)
    if head.mapping is not world.mapping:
        show(result="-EIO (already truncated)")
        return
    if head.mapcount:
        unmap_page(world, head)  # truncate_cleanup_page -> unmap_mapping_pages
    delete_from_page_cache(world, head)


def punch_page(world: World, page: Page, lstart: int, lend: int) -> None:
    """Punch [lstart, lend] out of one locked page: truncate it if wholly inside, else zero
    the covered units."""
    head = compound_head(page)
    first = head.index * UNITS
    last = (head.index + head.nr) * UNITS - 1
    lo, hi = max(lstart, first), min(lend, last)
    if lo > hi:
        return
    if lo == first and hi == last:
        truncate_inode_page(world, head)
    else:
        zero_user_segment(world, head, lo - first, hi - first + 1)


def _self_refs(world: World, index: int, count: int) -> Page | None:
    """Take ``count`` extra references on the page at ``index``, as a caller that holds
    "references on multiple pages at once" (a pagevec with two subpages of one THP)."""
    head = None
    for _ in range(count):
        page = find_get_entry(world, index)
        if page is not None:
            head = compound_head(page)
    return head


def _drop(world: World, head: Page | None, count: int) -> None:
    if head is not None:
        for _ in range(count):
            put_page(world, head)


def _done(world: World, lstart: int, lend: int) -> None:
    truncate_postcondition(world, lstart, lend)
    world.truncate_done = True
    progress("truncate done")


def find_lock_page_drop(world: World, index: int) -> Page | None:
    """Lookup and trylock; if the page is locked, put_and_wait_on_page_locked() (no reference
    while asleep) and look it up again (filemap_update_page's AOP_TRUNCATED_PAGE)."""
    while True:
        page = find_get_entry(world, index)
        if page is None:
            return None
        if trylock_page(world, page):
            head = compound_head(page)
            checkpoint("pagecache_get_page: recheck page->mapping", page=head.name)
            if head.mapping is world.mapping:
                return page
            unlock_page(world, page)
            put_page(world, page)
            continue
        put_and_wait_on_page_locked(world, page)


def iomap_write_begin(world: World, index: int, *, lock_style: str = "hold",
                      split: Split = split_huge_page) -> Page | None:
    """iomap_write_begin() of the seed mail: lock the page; if it is a THP, split it, and if
    that fails "unlock_page(page); put_page(page); goto retry". Returns the locked page (no
    longer compound), or None if there is none."""
    while True:
        page = (find_lock_page_drop if lock_style == "drop" else find_lock_page)(world, index)
        if page is None:
            return None
        if not compound_head(page).compound or split(world, page) == 0:
            return page
        unlock_page(world, page)
        put_page(world, page)
        world.stats.retries += 1
        checkpoint("split_huge_page failed: goto retry", yield_=True)


def truncate_retry(world: World, lstart: int, lend: int, *, self_ref: int = 1,
                   lock_style: str = "hold", wait_split: bool = False) -> None:
    """Punch [lstart, lend], retrying a failed split of the first page's THP: variant (a).

    ``lock_style="drop"`` waits for the page lock without holding a reference; ``wait_split``
    uses split_huge_page_wait() (variant (b)); ``self_ref`` > 1 holds that many references.
    """
    index = lstart // UNITS
    pinned = _self_refs(world, index, self_ref - 1)
    page = iomap_write_begin(world, index, lock_style=lock_style,
                             split=split_huge_page_wait if wait_split else split_huge_page)
    if page is not None:
        punch_page(world, page, lstart, lend)
        unlock_page(world, page)
        put_page(world, page)
    for idx in range(index + 1, lend // UNITS + 1):
        page = find_lock_page(world, idx)
        if page is None:
            continue
        wait_on_page_writeback(world, page)
        punch_page(world, page, lstart, lend)
        unlock_page(world, page)
        put_page(world, page)
    _drop(world, pinned, self_ref - 1)
    _done(world, lstart, lend)


def truncate_inode_partial_folio(world: World, folio: Page, lstart: int, lend: int) -> bool:
    """truncate_inode_partial_folio() (v5.17): False if a dirty folio could not be split and
    the caller must skip it."""
    first = folio.index * UNITS
    size = folio.nr * UNITS
    offset = max(lstart, first) - first
    length = min(lend + 1, first + size) - first - offset
    wait_on_page_writeback(world, folio)
    if length == size:
        truncate_inode_page(world, folio)
        return True
    # "We may be zeroing pages we're about to discard, but it avoids doing a complex
    # calculation here, and then doing the zeroing anyway if the page split fails."
    zero_user_segment(world, folio, offset, offset + length)
    if not folio.compound:
        return True
    if split_huge_page(world, folio) == 0:
        return True
    checkpoint("truncate_inode_partial_folio: folio_test_dirty", page=folio.name)
    if folio.flags & PG_dirty:
        show(result="dirty: keep it, skip it")
        return False
    show(result="clean: truncate the whole folio")
    truncate_inode_page(world, folio)
    return True


def truncate_inode_pages_range(world: World, lstart: int, lend: int, *, self_ref: int = 1,
                               set_size: bool = False) -> None:
    """truncate_inode_pages_range() of v5.17: partial folios once, then whole folios.

    ``set_size`` makes it a truncate (i_size lowered to ``lstart`` first, as truncate_setsize
    does), so the split drops the tails beyond the new EOF itself.
    """
    if set_size:
        checkpoint("i_size_write", size=lstart)
        world.mapping.i_size = lstart
    start = -(-lstart // UNITS)
    end = (lend + 1) // UNITS
    pinned = _self_refs(world, lstart // UNITS, self_ref - 1)
    same_folio = lstart // UNITS == lend // UNITS
    page = find_lock_page(world, lstart // UNITS)
    if page is not None:
        folio = compound_head(page)
        same_folio = lend < (folio.index + folio.nr) * UNITS
        if not truncate_inode_partial_folio(world, folio, lstart, lend):
            start = folio.index + folio.nr
            if same_folio:
                end = folio.index
        unlock_page(world, folio)
        put_page(world, folio)
    if not same_folio:
        page = find_lock_page(world, lend // UNITS)
        if page is not None:
            folio = compound_head(page)
            if not truncate_inode_partial_folio(world, folio, lstart, lend):
                end = folio.index
            unlock_page(world, folio)
            put_page(world, folio)
    index = start
    while index < end:
        page = find_lock_page(world, index)
        if page is None:
            index += 1
            continue
        folio = compound_head(page)
        wait_on_page_writeback(world, folio)
        truncate_inode_page(world, folio)
        unlock_page(world, folio)
        put_page(world, folio)
        index = folio.index + folio.nr
    _drop(world, pinned, self_ref - 1)
    _done(world, lstart, lend)


def shmem_punch_compound(world: World, page: Page, start: int, end: int) -> bool:
    """shmem_punch_compound(): True if ``page`` can be truncated on its own (after a split)."""
    head = compound_head(page)
    if not head.compound:
        return True
    if head is page and start <= head.index and head.index + head.nr <= end:
        return True  # the whole THP lies in the range
    return split_huge_page(world, page) >= 0


def shmem_undo_range(world: World, lstart: int, lend: int, *, self_ref: int = 1) -> None:
    """shmem_undo_range() of v5.7-v5.16 (hole punch): zero the partial subpages, then per
    whole subpage split the THP or wipe the subpage."""
    start = -(-lstart // UNITS)
    end = (lend + 1) // UNITS
    partial_start = lstart % UNITS
    partial_end = (lend + 1) % UNITS
    pinned = _self_refs(world, lstart // UNITS, self_ref - 1)
    if partial_start:
        page = find_lock_page(world, start - 1)  # shmem_getpage(SGP_READ)
        if page is not None:
            top = UNITS
            if start > end:
                top, partial_end = partial_end, 0
            zero_user_segment(world, page, partial_start, top)
            set_page_dirty(world, page)
            unlock_page(world, page)
            put_page(world, page)
    if partial_end:
        page = find_lock_page(world, end)
        if page is not None:
            zero_user_segment(world, page, 0, partial_end)
            set_page_dirty(world, page)
            unlock_page(world, page)
            put_page(world, page)
    index = start
    while index < end:
        page = find_get_entry(world, index)
        if page is None:
            index += 1
            continue
        lock_page(world, page)
        head = compound_head(page)
        checkpoint("shmem_undo_range: page_mapping(page) == mapping?", page=head.name)
        if head.mapping is not world.mapping:
            unlock_page(world, page)
            put_page(world, page)
            continue
        if shmem_punch_compound(world, page, start, end):
            truncate_inode_page(world, page)
        else:  # "Wipe the page and don't get stuck"
            zero_user_segment(world, page, 0, UNITS)  # clear_highpage
            set_page_dirty(world, page)
            if index < -(-start // NR_SUBPAGES) * NR_SUBPAGES:
                start = index + 1
        unlock_page(world, page)
        put_page(world, page)
        index += 1
    _drop(world, pinned, self_ref - 1)
    _done(world, lstart, lend)

