"""The other tasks that touch the THP while it is truncated (spec 8.4).

Each is an actor body: ``schedfuzz.spawn(reader, world, 0, name="reader")``. A loop count of
``None`` makes the actor cyclic: it repeats until the truncate is done and calls no
``progress``, so a truncate it keeps from finishing shows up as a livelock, and a finite count
(a local that counts down) makes every state distinct, so a terminating run is never mistaken
for one.

* ``reader``: lookup, optionally lock/unlock (a !Uptodate read or a find_lock_page user) or the
  DROP wait of filemap_update_page, put;
* ``faulter``: fault the page in (lock, or fault-around trylock), map it, then munmap it;
* ``gup_pinner``: a get_user_pages reference held for a while (or for good);
* ``migrator``: isolate by pfn, trylock, try to freeze for migration, give up;
* ``writer``: a second iomap_write_begin that retries its own split (variant (a));
* ``pfn_walker``: get_page_unless_zero + lock_page on a struct page found by pfn (compaction,
  memory-failure): the racer of the split-path bugs;
* ``killer``: sends a fatal signal to killable waiters;
* ``writeback_ender``: ends the writeback the page started under.
"""

from __future__ import annotations

from typing import Any

from schedfuzz import block_until, checkpoint, signal
from thpmodel.filemap import end_page_writeback, find_get_entry
from thpmodel.page import Page, PG_writeback, compound_head
from thpmodel.pagelock import (
    lock_page,
    lock_page_killable,
    put_and_wait_on_page_locked,
    trylock_page,
    unlock_page,
)
from thpmodel.refcount import get_page_unless_zero, page_ref_freeze, page_ref_unfreeze, put_page
from thpmodel.rmap import filemap_fault, zap_vma
from thpmodel.truncate import iomap_write_begin, set_page_dirty
from thpmodel.world import World

__all__ = [
    "faulter",
    "gup_pinner",
    "killer",
    "locker",
    "migrator",
    "pfn_walker",
    "reader",
    "writeback_ender",
    "writer",
]


def _more(world: World, remaining: int | None) -> bool:
    """Whether a loop with ``remaining`` turns (None: cyclic) goes on."""
    return not world.truncate_done if remaining is None else remaining > 0


def reader(world: World, index: int, *, loops: int | None = 1, lock: bool = True,
           drop: bool = False) -> None:
    """filemap_read / find_lock_page users: look the page up, maybe lock it, put it."""
    remaining = loops
    while _more(world, remaining):
        page = find_get_entry(world, index)
        if page is not None:
            if drop:
                if trylock_page(world, page):
                    unlock_page(world, page)
                    put_page(world, page)
                else:
                    put_and_wait_on_page_locked(world, page)
            elif lock:
                lock_page(world, page)
                unlock_page(world, page)
                put_page(world, page)
            else:
                checkpoint("copy_page_to_iter", page=compound_head(page).name)
                put_page(world, page)
        if remaining is not None:
            remaining -= 1


def locker(world: World, index: int, *, killable: bool = False, loops: int = 1,
           pinned: bool = False) -> None:
    """A lock_page (or lock_page_killable) user: lookup, lock, unlock, put. ``pinned``: it
    already holds a reference (taken by the scenario), so it skips the lookup and keeps it."""
    held = world.mapping.lookup(index) if pinned else None
    remaining = loops
    while remaining > 0:
        page = held if held is not None else find_get_entry(world, index)
        if page is None:
            return
        if killable:
            if lock_page_killable(world, page) == 0:
                unlock_page(world, page)
        else:
            lock_page(world, page)
            unlock_page(world, page)
        if not pinned:
            put_page(world, page)
        remaining -= 1
    if held is not None:
        put_page(world, held)


def faulter(world: World, index: int, *, loops: int | None = 1, around: bool = False) -> None:
    """A task that maps the file (filemap_fault, or filemap_map_pages with ``around``) and
    unmaps it again; a split unmaps it under its feet, and it faults the page back in."""
    vma = world.vma(f"vma.{_me(world)}")
    remaining = loops
    while _more(world, remaining):
        filemap_fault(world, vma, index, around=around)
        zap_vma(world, vma)
        if remaining is not None:
            remaining -= 1


def _me(world: World) -> str:
    return world.task().name


def gup_pinner(world: World, index: int, *, hold: int | None = 2, pinned: bool = False
               ) -> None:
    """get_user_pages(FOLL_GET): a reference held for ``hold`` steps (None: a long-term pin
    that is never released, as RDMA or vfio hold). ``pinned``: the pin was taken before the
    run (by the scenario), e.g. an O_DIRECT read already in flight."""
    page = world.mapping.lookup(index) if pinned else find_get_entry(world, index)
    if page is None:
        return
    if hold is None:
        block_until(_never, "long-term pin (FOLL_LONGTERM): never released")
        return
    for _ in range(hold):
        checkpoint("get_user_pages: pinned, I/O in flight", page=compound_head(page).name)
    put_page(world, page)


def _never() -> bool:
    return False


def migrator(world: World, pfn: int = 0) -> None:
    """isolate_migratepages_block + migrate_pages by pfn: get_page_unless_zero, trylock, try
    to freeze at ``expected_page_refs``, and give up (no target page in the model). A page
    under writeback is skipped (__unmap_and_move, asynchronous mode)."""
    page = world.pages[pfn]
    if not get_page_unless_zero(world, page):
        return
    if not trylock_page(world, page):
        put_page(world, page)
        return
    checkpoint("__unmap_and_move: PageWriteback? page_mapped?", page=page.name)
    if page.mapping is world.mapping and page.head is None and not page.mapcount and \
            not page.flags & PG_writeback:
        expected = 1 + page.nr
        if page_ref_freeze(world, page, expected):
            page_ref_unfreeze(world, page, expected,
                              label="migrate_page_move_mapping: abort, page_ref_unfreeze")
    unlock_page(world, page)
    put_page(world, page)


def writer(world: World, index: int, *, lock_style: str = "hold") -> None:
    """A write into the page at ``index`` through iomap_write_begin (retrying its split)."""
    page = iomap_write_begin(world, index, lock_style=lock_style)
    if page is None:
        return
    set_page_dirty(world, page)  # the copy of the user's data
    unlock_page(world, page)
    put_page(world, page)


def pfn_walker(world: World, pfn: int) -> None:
    """A pfn scanner: get_page_unless_zero() on a struct page it did not look up, lock_page(),
    unlock_page(), put_page(). Waits (without steps) until the page is in use."""
    page = world.pages[pfn]
    block_until(_InUse(world, page), f"pfn walker: {page.name} not in use yet")
    if not get_page_unless_zero(world, page):
        return
    lock_page(world, page)
    unlock_page(world, page)
    put_page(world, page)


class _InUse:
    __slots__ = ("page", "world")

    def __init__(self, world: World, page: Page) -> None:
        self.world = world
        self.page = page

    def __call__(self) -> bool:
        return self.page.refcount > 0 or self.page.freed or self.world.truncate_done

    def __schedfuzz_state__(self) -> object:
        return self.page.pfn


def killer(world: World, targets: list[Any]) -> None:
    """Send SIGKILL to each target; a task in TASK_KILLABLE is made running at once
    (signal_wake_up), even if it has not called schedule() yet."""
    for target in targets:
        signal(target)
        task = world.tasks.get(target.name)
        if task is not None and task.state == "KILLABLE":
            task.state = "RUNNING"


def writeback_ender(world: World, pfn: int = 0) -> None:
    """The I/O completion of the writeback the page started under: end_page_writeback()."""
    end_page_writeback(world, world.pages[pfn])

