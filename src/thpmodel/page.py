"""struct page: the fields the split, truncate and page-lock code read and write.

Pure state, no scheduling: the operations that change these fields live in ``refcount.py``,
``filemap.py``, ``pagelock.py``, ``rmap.py``, ``huge_memory.py`` and ``truncate.py``, and each of
their steps is one ``schedfuzz.checkpoint``.

What is modelled (include/linux/mm_types.h, page-flags.h, page_ref.h in 5.10):

* ``refcount`` (``_refcount``) and ``mapcount`` (``total_mapcount`` semantics: a PMD mapping of a
  THP counts 1);
* ``flags``: the bits below, as one int so a non-atomic read-modify-write is two steps that can
  lose a bit another CPU set in between;
* the compound structure: a head with ``nr`` subpages and a ``compound_dtor``; each tail points to
  its head (``compound_head``) until the split clears it;
* ``mapping`` and ``index`` (page-cache membership), and the data as one bit per "byte" unit
  (``zeroed``), so the truncate post-condition can be checked.

Beside the kernel fields, each page carries *ghost* state, which the kernel does not have and the
invariants need: who holds each reference (``holders``), who holds ``PG_locked``, who froze the
refcount, and the bias a ``split_huge_page_wait`` caller subtracted.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CACHE",
    "COMPOUND_PAGE_DTOR",
    "FLAG_NAMES",
    "MAP",
    "NR_SUBPAGES",
    "NULL_COMPOUND_DTOR",
    "TRANSHUGE_PAGE_DTOR",
    "TRANSHUGE_PAGE_SPLIT",
    "UNITS",
    "InvariantViolation",
    "PG_dirty",
    "PG_head",
    "PG_locked",
    "PG_lru",
    "PG_split_wait",
    "PG_uptodate",
    "PG_waiters",
    "PG_writeback",
    "Page",
    "compound_head",
    "flag_names",
]

NR_SUBPAGES = 4  # HPAGE_PMD_NR in the model; the kernel has 512 on x86-64
UNITS = 4  # data units ("bytes") per subpage; truncate ranges are given in these units

# page->flags bits. Plain ints: the run loop touches them on every step.
PG_locked = 1 << 0
PG_waiters = 1 << 1  # "bit #7 and in the same byte as PG_locked": only on the head
PG_writeback = 1 << 2
PG_dirty = 1 << 3
PG_uptodate = 1 << 4
PG_lru = 1 << 5
PG_head = 1 << 6  # PageCompound on a head page
# Not a page flag: the "bit" a split_huge_page_wait() sleeper waits for in the page wait table.
PG_split_wait = 1 << 16

FLAG_NAMES = {
    PG_locked: "locked",
    PG_waiters: "waiters",
    PG_writeback: "writeback",
    PG_dirty: "dirty",
    PG_uptodate: "uptodate",
    PG_lru: "lru",
    PG_head: "head",
    PG_split_wait: "split",
}

# enum compound_dtor_id (include/linux/mm.h), plus the proposal's new entry.
NULL_COMPOUND_DTOR = "NULL_COMPOUND_DTOR"
COMPOUND_PAGE_DTOR = "COMPOUND_PAGE_DTOR"
TRANSHUGE_PAGE_DTOR = "TRANSHUGE_PAGE_DTOR"
TRANSHUGE_PAGE_SPLIT = "TRANSHUGE_PAGE_SPLIT"

# Ghost holder names that are not actors: the page cache's pins and the page-table mappings'.
CACHE = "cache"
MAP = "map"


class InvariantViolation(AssertionError):
    """A modelled kernel rule was broken; the message names the rule, the page and the values.

    Attributes:
        invariant: the name of the rule (the function in ``invariants.py``, or the kernel
            assertion that encodes it, e.g. ``no_refcount_underflow``).
    """

    def __init__(self, invariant: str, message: str) -> None:
        super().__init__(f"{invariant}: {message}")
        self.invariant = invariant


def flag_names(flags: int) -> str:
    """``PG_locked|PG_dirty`` as ``"locked|dirty"`` for the trace ("-" when none is set)."""
    names = [name for bit, name in FLAG_NAMES.items() if flags & bit]
    return "|".join(names) or "-"


class _Resource:
    """What a sleeper waits on, as the deadlock detector sees it: a name and who holds it."""

    __slots__ = ("page",)

    def __init__(self, page: Page) -> None:
        self.page = page

    def __schedfuzz_state__(self) -> object:
        return self.page.pfn


class PageLockResource(_Resource):
    """PG_locked of a page; held by the lock owner."""

    __slots__ = ()

    def __schedfuzz_holders__(self) -> list[Any]:
        owner = self.page.lock_owner
        return [] if owner is None else [owner]

    def __schedfuzz_name__(self) -> str:
        return f"PG_locked of {self.page.name}"


class PageRefsResource(_Resource):
    """The refcount of a page, for a sleeper that waits for it to drop; held by every actor
    holding a reference."""

    __slots__ = ()

    def __schedfuzz_holders__(self) -> list[Any]:
        page = self.page
        return [page.actors[name] for name in sorted(page.holders)
                if name in page.actors and page.holders[name] > 0]

    def __schedfuzz_name__(self) -> str:
        return f"the references to {self.page.name}"


class PageFrozenResource(_Resource):
    """A frozen (refcount 0) page that a lock-free lookup spins on; held by whoever froze it."""

    __slots__ = ()

    def __schedfuzz_holders__(self) -> list[Any]:
        frozen_by = self.page.frozen_by
        return [] if frozen_by is None else [frozen_by]

    def __schedfuzz_name__(self) -> str:
        return f"the frozen refcount of {self.page.name}"


class PageWritebackResource(_Resource):
    """PG_writeback of a page; held by the actor that will end the writeback."""

    __slots__ = ()

    def __schedfuzz_holders__(self) -> list[Any]:
        owner = self.page.writeback_owner
        return [] if owner is None else [owner]

    def __schedfuzz_name__(self) -> str:
        return f"PG_writeback of {self.page.name}"


class Page:
    """One struct page (a THP is a head plus ``NR_SUBPAGES - 1`` tails).

    # Invariant: a tail has ``head`` set and refcount 0 until the split unfreezes it.
    # Invariant: while compound, the head has ``nr == NR_SUBPAGES`` and ``PG_head`` set, and
    #   the page cache maps every index of its range to the head (the 5.10 XArray layout).
    # Invariant (ghost): unless frozen, refcount == sum(holders) - bias (invariants.py).
    """

    __slots__ = (
        "actors",
        "bias",
        "bias_mapcount",
        "dtor",
        "flags",
        "freed",
        "frozen_by",
        "frozen_res",
        "head",
        "holders",
        "index",
        "lock_owner",
        "lock_res",
        "mapcount",
        "mapping",
        "name",
        "nr",
        "pfn",
        "refcount",
        "refs_res",
        "split_ready",
        "split_waiter",
        "subpages",
        "wb_res",
        "writeback_owner",
        "zero_pending",
        "zeroed",
    )

    def __init__(self, name: str, pfn: int) -> None:
        self.name = name
        self.pfn = pfn
        self.refcount = 0
        self.mapcount = 0
        self.flags = 0
        self.nr = 1
        self.head: Page | None = None  # compound_head() of a tail; None for a head/small page
        self.subpages: tuple[Page, ...] = ()  # a compound head's pages, head first
        self.mapping: Any = None
        self.index = 0
        self.dtor = NULL_COMPOUND_DTOR
        self.freed = False
        self.zeroed = 0  # bit u set: data unit u of this page (from its first unit) is zero
        # Ghost state (not in struct page).
        self.holders: dict[str, int] = {}  # who holds each reference
        self.actors: dict[str, Any] = {}  # holder name -> actor handle, for deadlock edges
        self.lock_owner: Any = None  # the actor holding PG_locked
        self.frozen_by: Any = None  # the actor that froze the refcount to 0
        self.writeback_owner: Any = None  # the actor that will end the writeback
        self.bias = 0  # references a split_huge_page_wait caller subtracted
        self.bias_mapcount = 0  # total_mapcount when that bias was taken
        self.zero_pending = False  # the refcount hit 0 and the destructor has not run yet
        self.split_ready = False  # the split destructor froze the page for the sleeper
        self.split_waiter: Any = None  # the split_huge_page_wait() sleeper, if any
        self.lock_res = PageLockResource(self)
        self.refs_res = PageRefsResource(self)
        self.frozen_res = PageFrozenResource(self)
        self.wb_res = PageWritebackResource(self)

    # -- ghost accounting ---------------------------------------------------------------------

    def hold(self, holder: str, n: int = 1, actor: Any = None) -> None:
        """Record that ``holder`` took ``n`` references (ghost only)."""
        self.holders[holder] = self.holders.get(holder, 0) + n
        if actor is not None:
            self.actors[holder] = actor

    def unhold(self, holder: str, n: int = 1) -> bool:
        """Record that ``holder`` dropped ``n`` references; False if it did not hold them."""
        have = self.holders.get(holder, 0)
        if have < n:
            return False
        if have == n:
            del self.holders[holder]
        else:
            self.holders[holder] = have - n
        return True

    def held_by(self, holder: str) -> int:
        return self.holders.get(holder, 0)

    def ghost_total(self) -> int:
        return sum(self.holders.values())

    # -- reading ------------------------------------------------------------------------------

    @property
    def compound(self) -> bool:
        """PageCompound(): a head with its tails still attached."""
        return bool(self.flags & PG_head)

    def describe(self) -> str:
        """The fields a violation message shows."""
        held = ", ".join(f"{k}:{v}" for k, v in sorted(self.holders.items())) or "nobody"
        owner = self.lock_owner.name if self.lock_owner is not None else "-"
        return (f"{self.name}: refcount={self.refcount} mapcount={self.mapcount} "
                f"flags={flag_names(self.flags)} dtor={self.dtor} lock_owner={owner} "
                f"holders={{{held}}}" + (f" bias={self.bias}" if self.bias else "")
                + (" FREED" if self.freed else ""))

    def state(self) -> tuple[object, ...]:
        """The page's fields as plain values (part of ``World.__schedfuzz_state__``)."""
        owner = self.lock_owner
        frozen_by = self.frozen_by
        return (self.pfn, self.refcount, self.mapcount, self.flags, self.nr,
                None if self.head is None else self.head.pfn,
                self.mapping is not None, self.index, self.dtor, self.freed, self.zeroed,
                tuple(sorted(self.holders.items())),
                None if owner is None else owner.name,
                None if frozen_by is None else frozen_by.name,
                self.bias, self.zero_pending, self.split_ready,
                None if self.split_waiter is None else self.split_waiter.name)

    def __schedfuzz_state__(self) -> object:
        # A page seen from an actor's locals is a reference: its fields are in the World's
        # snapshot, so its pfn is all the fingerprint needs.
        return self.pfn

    def __repr__(self) -> str:
        return f"<Page {self.describe()}>"


def compound_head(page: Page) -> Page:
    """compound_head(): the head of a tail page, or the page itself."""
    head = page.head
    return page if head is None else head
