"""The safety rules of the model, each a named function that quotes the kernel rule it encodes.

``check_step`` runs the per-step ones after every scheduling step (registered with
``schedfuzz.invariant``), on the pages the step touched only, so a step costs a few
microseconds. The others are called where the rule applies: at a freeze
(``check_split_unshared``), at the end of a split (``check_split_result``), when the truncate
finishes (``truncate_postcondition``), when every actor has finished (``quiescent``). Rules that
guard a single operation (a put on a zero count, an unlock by a non-owner, a destructor without
a zero transition) are checked by the operation itself and raise the same
``InvariantViolation`` with the rule's name.

Each raises ``InvariantViolation`` (an ``AssertionError``) whose message names the rule, the
page and the values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from thpmodel.page import (
    CACHE,
    MAP,
    UNITS,
    InvariantViolation,
    Page,
    PG_locked,
    PG_split_wait,
    PG_waiters,
)
from thpmodel.world import World

__all__ = [
    "InvariantViolation",
    "check_split_locks",
    "check_split_result",
    "check_split_unshared",
    "check_step",
    "lock_discipline",
    "no_refcount_underflow",
    "no_use_after_free",
    "page_cache_consistent",
    "quiescent",
    "refcount_equals_holders",
    "truncate_postcondition",
    "waiters_flag_sound",
]


def _fail(rule: str, message: str) -> None:
    raise InvariantViolation(rule, message)


def no_refcount_underflow(world: World, pages: Iterable[Page] | None = None) -> None:
    """refcount >= 0 and mapcount >= 0.

    Kernel: ``put_page_testzero`` has ``VM_BUG_ON_PAGE(page_ref_count(page) == 0, page)``, and
    ``page_cache_free_page`` ``VM_BUG_ON_PAGE(page_count(page) <= 0, page)``.
    """
    for page in world.pages if pages is None else pages:
        if page.refcount < 0 or page.mapcount < 0:
            _fail("no_refcount_underflow", f"negative count: {page.describe()}")


def no_use_after_free(world: World, pages: Iterable[Page] | None = None) -> None:
    """A freed page is in no page-cache slot and no wait bucket.

    Kernel: the remove side of the lock-free protocol is "A. freeze, B. remove, C. free"
    (pagemap.h); ``free_pages_check`` rejects a page that is still in use.
    """
    mapping = world.mapping
    for page in world.pages if pages is None else pages:
        if not page.freed:
            continue
        for slot in range(page.index, page.index + page.nr):
            if mapping.lookup(slot) is page:
                _fail("no_use_after_free", f"page-cache slot {slot} holds a freed page: "
                      f"{page.describe()}")
        for entry in world.page_waitqueue(page).queue.entries:
            if entry.key[0] is page and "WOKEN" not in entry.flags:
                _fail("no_use_after_free", f"{entry.actor.name} sleeps on freed {page.name}")


def refcount_equals_holders(world: World, pages: Iterable[Page] | None = None) -> None:
    """Ghost accounting: the refcount is exactly the references someone holds.

    ``refcount == cache pins + map pins + actor references - bias`` (the bias is what a
    ``split_huge_page_wait`` caller subtracted), and ``mapcount == map pins``. While frozen the
    count is 0 and only the freezer's pin and page-cache pins may exist ("Lockless access is
    prevented by setting the head->_count to 0 during split", baa355fd3314).
    """
    for page in world.pages if pages is None else pages:
        holders = page.holders
        if page.mapcount != holders.get(MAP, 0):
            _fail("refcount_equals_holders", f"mapcount {page.mapcount} but "
                  f"{holders.get(MAP, 0)} mapping pins: {page.describe()}")
        if page.frozen_by is not None and page.refcount == 0:
            allowed = {page.frozen_by.name, CACHE}
            extra = sorted(name for name in holders if name not in allowed)
            if extra or holders.get(page.frozen_by.name, 0) > 1:
                _fail("refcount_equals_holders", f"frozen by {page.frozen_by.name} while "
                      f"{', '.join(extra) or 'it'} still hold references: {page.describe()}")
            continue
        total = sum(holders.values()) - page.bias
        if page.refcount != total:
            _fail("refcount_equals_holders", f"refcount {page.refcount} but the holders "
                  f"account for {total}: {page.describe()}")


def check_split_unshared(page: Page, splitter: str, *, locked: bool = True) -> None:
    """Split only when unshared: at the freeze, only the caller's one pin and the page cache's
    pins exist, nothing maps the page, and the caller holds its lock.

    Kernel: "Only caller must hold pin on the @page, otherwise split fails with -EBUSY. The
    huge page must be locked." (split_huge_page_to_list)
    """
    extra = {k: v for k, v in page.holders.items() if k != CACHE}
    if extra != {splitter: 1} or page.mapcount:
        _fail("split_only_when_unshared", f"{page.name} is frozen for splitting by {splitter} "
              f"while others hold it: {page.describe()}")
    owner = page.lock_owner
    if locked and (owner is None or owner.name != splitter):
        _fail("split_only_when_unshared", f"{page.name} is split by {splitter} without its "
              f"lock: {page.describe()}")


def page_cache_consistent(world: World, pages: Iterable[Page] | None = None) -> None:
    """Every slot holds a live page of this file whose range contains the slot, and every page
    of the file is in each slot of its range.

    During a split the head is frozen and a slot of its range may still hold it or already its
    tail ("Until that store the slot still points at head"). Kernel: ``VM_BUG_ON_PAGE(
    !thp_contains(page, index), page)`` in pagecache_get_page.
    """
    mapping = world.mapping
    for page in world.pages if pages is None else pages:
        for slot in range(page.index, page.index + page.nr):
            held = mapping.lookup(slot)
            if held is not None and (held.mapping is not mapping
                                     or not held.index <= slot < held.index + held.nr):
                _fail("page_cache_consistent", f"slot {slot} holds {held.describe()} "
                      f"(index {held.index}, nr {held.nr})")
            if page.mapping is not mapping or page.head is not None or held is page:
                continue
            if page.refcount == 0 and page.compound and \
                    held in (page.subpages[slot - page.index], None):
                continue  # mid-split: the slot already holds the tail (or nothing)
            if held is not None and held.compound and held.refcount == 0 and \
                    page in held.subpages:
                continue  # mid-split: the tail is set up, the slot still holds the head
            _fail("page_cache_consistent", f"{page.name} claims index {slot} but the slot "
                  f"holds {held.name if held is not None else 'nothing'}")


def check_split_result(world: World, subpages: tuple[Page, ...]) -> None:
    """After a split, before the subpages are unlocked: slot index+i holds subpage i (or
    nothing beyond EOF) and no page of the old THP is compound any more.

    Kernel: ``__split_huge_page`` stores each tail with ``__xa_store`` and deletes the ones
    beyond ``i_size`` under the i_pages lock, then ``ClearPageCompound(head)``.
    """
    mapping = world.mapping
    end = mapping.end_index()
    for sub in subpages:
        held = mapping.lookup(sub.index)
        want = None if sub.index >= end else sub
        if held is not want or sub.compound or sub.head is not None:
            _fail("page_cache_consistent", f"after the split slot {sub.index} holds "
                  f"{held.name if held is not None else 'nothing'}, not "
                  f"{want.name if want is not None else 'nothing'}: {sub.describe()}")


def check_split_locks(subpages: tuple[Page, ...], page: Page, caller: Any) -> None:
    """After the split's unlock loop: of the subpages the caller holds only the argument's
    lock ("GUP pin and PG_locked transferred to @page", split_huge_page_to_list)."""
    for sub in subpages:
        locked_by_caller = bool(sub.flags & PG_locked) and sub.lock_owner is caller
        if locked_by_caller != (sub is page):
            _fail("lock_discipline", f"after the split {sub.name} is "
                  f"{'still' if locked_by_caller else 'not'} locked by {caller.name}")


def lock_discipline(world: World, pages: Iterable[Page] | None = None) -> None:
    """PG_locked has exactly one owner while set, and none while clear.

    Kernel: ``unlock_page`` ``VM_BUG_ON_PAGE(!PageLocked(page), page)``; only the owner
    unlocks (checked in ``unlock_page``); split needs the caller to hold the lock (checked in
    ``split_huge_page``).
    """
    for page in world.pages if pages is None else pages:
        if bool(page.flags & PG_locked) != (page.lock_owner is not None):
            _fail("lock_discipline", f"PG_locked and its owner disagree: {page.describe()}")


def waiters_flag_sound(world: World) -> None:
    """Every queued, not yet woken page waiter's page has PG_waiters set.

    Kernel: the waiter sets PG_waiters before its last test of the bit, so that "either the
    waiter sees the bit clear or the unlocker sees PG_waiters set" (wait_on_page_bit_common,
    unlock_page). A write that clears it under a sleeper is the root of the lost wake-ups of
    605ca5ede764 and 2d077d4b5992. A ``split_huge_page_wait`` sleeper counts only when its
    waker tests PG_waiters (``Config.waker == "wake_up_page"``).
    """
    unconditional = world.config.waker != "wake_up_page"
    for bucket in world.buckets:
        for entry in bucket.queue.entries:
            page, bit = entry.key
            if "WOKEN" in entry.flags or (bit == PG_split_wait and unconditional):
                continue
            if not page.flags & PG_waiters:
                _fail("waiters_flag_sound", f"{entry.actor.name} sleeps on {page.name} "
                      f"but its PG_waiters is clear, so no unlock will wake it: "
                      f"{page.describe()}")


def truncate_postcondition(world: World, lstart: int, lend: int) -> None:
    """When the truncate returns, every unit of [lstart, lend] is either not in the page cache
    or zero in the (sub)page covering it, and no cached folio lies wholly inside the range.

    Kernel: "Truncate takes two passes ... (and) zeroes the partial pages"
    (truncate_inode_pages_range); 5.17: a folio wholly inside [start, end) is removed.
    """
    mapping = world.mapping
    for unit in range(lstart, lend + 1):
        page = mapping.lookup(unit // UNITS)
        if page is None:
            continue
        offset = unit - page.index * UNITS
        if not page.zeroed >> offset & 1:
            _fail("truncate_postcondition", f"unit {unit} of the punched range "
                  f"[{lstart}, {lend}] still holds data in {page.describe()}")
    seen: set[int] = set()
    for page in mapping.slots:
        if page is None or page.pfn in seen:
            continue
        seen.add(page.pfn)
        first, last = page.index * UNITS, (page.index + page.nr) * UNITS - 1
        if lstart <= first and last <= lend:
            _fail("truncate_postcondition", f"{page.name} lies wholly inside [{lstart}, "
                  f"{lend}] and is still in the page cache")


def quiescent(world: World) -> None:
    """When every actor has finished: nothing locked, frozen or queued, and every live page's
    refcount is its page-cache pins plus its mappings (no reference leaked)."""
    for bucket in world.buckets:
        if bucket.queue.entries:
            names = ", ".join(e.actor.name for e in bucket.queue.entries)
            _fail("quiescent", f"wait entries left in {bucket.name}: {names}")
    for page in world.pages:
        if page.freed or page.head is not None:
            continue
        if page.flags & PG_locked:
            _fail("quiescent", f"{page.name} is still locked: {page.describe()}")
        expect = page.holders.get(CACHE, 0) + page.mapcount
        if page.refcount != expect or set(page.holders) - {CACHE, MAP}:
            _fail("quiescent", f"{page.name} has refcount {page.refcount}, expected "
                  f"{expect} (page cache + mappings): {page.describe()}")


def check_step(world: World) -> None:
    """The per-step invariants, on the pages the last step touched.

    A fast pass tests each touched page with a few comparisons; only a page that may break a
    rule goes through the named function, which decides and reports.
    """
    touched = world.touched
    if not touched:
        return
    mapping = world.mapping
    slots = mapping.slots
    for page in touched:
        refcount = page.refcount
        holders = page.holders
        if refcount < 0 or page.mapcount < 0:
            no_refcount_underflow(world, (page,))
        if (page.frozen_by is not None and refcount == 0) or \
                page.mapcount != holders.get(MAP, 0) or \
                refcount != sum(holders.values()) - page.bias:
            refcount_equals_holders(world, (page,))
        if bool(page.flags & PG_locked) != (page.lock_owner is not None):
            lock_discipline(world, (page,))
        first, last = page.index, page.index + page.nr
        if page.head is not None:
            page_cache_consistent(world, (page,))
        elif page.mapping is mapping:
            for slot in range(first, last):
                if slots[slot] is not page:
                    page_cache_consistent(world, (page,))
                    break
        elif page in slots[first:last]:
            page_cache_consistent(world, (page,))
        if page.freed:
            no_use_after_free(world, (page,))
    touched.clear()
    if world.config.check_waiters:
        waiters_flag_sound(world)
