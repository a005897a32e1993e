"""World: one model instance (a file's page cache, its pages, the page wait table, the tasks).

Pure state and its construction; no scheduling. A scenario builds one ``World``, declares
``World.__schedfuzz_state__`` as the livelock snapshot and spawns actors that call the operations.

The fingerprint (``__schedfuzz_state__``) holds only what decides the future: the pages, the
page-cache slots, the queued wait entries, the mappings, the tasks' sleep states. Statistics
(split attempts, retries) live in ``stats``, which it leaves out, so a retry loop that makes no
progress repeats the same state and the engine can prove the livelock.
"""

from __future__ import annotations

from typing import Any

import attrs

import schedfuzz
from thpmodel.page import (
    CACHE,
    NR_SUBPAGES,
    TRANSHUGE_PAGE_DTOR,
    UNITS,
    Page,
    PG_dirty,
    PG_head,
    PG_lru,
    PG_uptodate,
    PG_writeback,
)

__all__ = ["LOCK_ALGOS", "AddressSpace", "Config", "Stats", "Task", "Vma", "World", "show"]

LOCK_ALGOS = ("old-loop", "handoff", "hybrid")
BIASES = ("SET1", "SUB1", "SUBX")
WAKERS = ("wake_up_page", "unconditional")
ORDER_STEPS = ("enqueue", "dtor", "bias")


def _choice(options: tuple[str, ...]) -> Any:
    def check(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
        if value not in options:
            msg = f"{attribute.name}={value!r} is not one of {', '.join(options)}"
            raise schedfuzz.InvalidArgument(msg)
    return check


def _order(instance: object, attribute: attrs.Attribute[tuple[str, ...]], value: object) -> None:
    if not isinstance(value, tuple) or sorted(value) != sorted(ORDER_STEPS):
        msg = f"order={value!r} must be a permutation of {ORDER_STEPS}"
        raise schedfuzz.InvalidArgument(msg)


@attrs.frozen
class Config:
    """The variant switches of one model instance.

    Attributes:
        lock_algo: the page-lock wait algorithm: ``old-loop`` (v4.10-v5.8), ``handoff``
            (2a9127fcf229, strict hand-off) or ``hybrid`` (5ef64cc8987a, v5.9/v5.10).
        unfairness: ``sysctl_page_lock_unfairness`` for ``hybrid`` (5 in the kernel).
        buckets: size of the hashed page wait table (1 makes every page share one queue).
        s23_flags_after_unfreeze: the pre-4.17 __split_huge_page_tail order (605ca5ede764).
        s24_nonatomic_dirty_clear: the pre-2018 __ClearPageDirty of tails beyond EOF
            (2d077d4b5992).
        check_waiters: check the PG_waiters soundness invariant at every step. Scenarios that
            show what an erased PG_waiters *does* (a sleeper never woken) turn it off.
        bias / lock_in_sleep / order / waker / unmap_first: the ambiguous parts of
            ``split_huge_page_wait`` (see ``split_wait.py``).
    """

    lock_algo: str = attrs.field(default="hybrid", validator=_choice(LOCK_ALGOS))
    unfairness: int = 5
    buckets: int = 1
    s23_flags_after_unfreeze: bool = False
    s24_nonatomic_dirty_clear: bool = False
    check_waiters: bool = True
    bias: str = attrs.field(default="SUBX", validator=_choice(BIASES))
    lock_in_sleep: str = attrs.field(default="HOLD", validator=_choice(("HOLD", "RELEASE")))
    order: tuple[str, ...] = attrs.field(default=("enqueue", "dtor", "bias"), validator=_order)
    waker: str = attrs.field(default="unconditional", validator=_choice(WAKERS))
    unmap_first: bool = True


@attrs.define
class Stats:
    """Counters for reports; never part of the fingerprint."""

    split_attempts: int = 0
    split_failures: int = 0
    retries: int = 0


class AddressSpace:
    """struct address_space of one file: the page cache (i_pages) and the file size.

    ``slots[i]`` is the page at index ``i``; as in the 5.10 XArray, every index of a THP holds
    the head page until the split stores each tail in its own slot.
    """

    __slots__ = ("i_size", "name", "slots")

    def __init__(self, nr_slots: int, i_size: int, name: str = "file") -> None:
        self.name = name
        self.slots: list[Page | None] = [None] * nr_slots
        self.i_size = i_size  # in data units

    def lookup(self, index: int) -> Page | None:
        """xas_load(): the entry at ``index`` (None beyond the end)."""
        slots = self.slots
        return slots[index] if 0 <= index < len(slots) else None

    def end_index(self) -> int:
        """DIV_ROUND_UP(i_size, PAGE_SIZE): the first index wholly beyond EOF."""
        return -(-self.i_size // UNITS)

    def __schedfuzz_state__(self) -> object:
        return (self.i_size, tuple(None if p is None else p.pfn for p in self.slots))


class Vma:
    """One mapping of the file by one faulting task: which page (if any) it maps."""

    __slots__ = ("mapped", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.mapped: Page | None = None

    def __schedfuzz_state__(self) -> object:
        return None if self.mapped is None else self.mapped.pfn


class Task:
    """What the model knows of a task beyond its actor: its scheduler state.

    ``state`` is ``RUNNING`` or the sleep state set by ``set_current_state``
    (``UNINTERRUPTIBLE``/``KILLABLE``): the pre-5.9 wake function counts a wake-up only if
    ``try_to_wake_up`` found the task not running (the heart of the old-loop missed wakeup).
    """

    __slots__ = ("actor", "name", "state")

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self.name: str = actor.name
        self.state = "RUNNING"

    def __schedfuzz_state__(self) -> object:
        return (self.name, self.state)


class World:
    """The shared state every actor of a scenario works on."""

    def __init__(self, config: Config | None = None, *, nr_slots: int = NR_SUBPAGES,
                 i_size: int | None = None) -> None:
        self.config = config or Config()
        self.mapping = AddressSpace(nr_slots, nr_slots * UNITS if i_size is None else i_size)
        self.pages: list[Page] = []
        nbuckets = max(1, self.config.buckets)
        self.buckets = [schedfuzz.WaitQueue(f"page_wait_table[{b}]") for b in range(nbuckets)]
        self.vmas: dict[str, Vma] = {}
        self.tasks: dict[str, Task] = {}
        self.truncate_done = False
        self.stats = Stats()
        self.touched: list[Page] = []  # pages changed since the last invariant check

    # -- construction -------------------------------------------------------------------------

    def new_page(self, name: str) -> Page:
        page = Page(name, len(self.pages))
        self.pages.append(page)
        return page

    def add_thp(self, index: int = 0, *, dirty: bool = False, writeback: bool = False,
                names: tuple[str, ...] | None = None) -> Page:
        """A file THP of NR_SUBPAGES pages in the page cache at ``index`` (refcount = N pins).

        Mirrors what shmem_alloc_hugepage + shmem_add_to_page_cache leave behind: a compound
        head with TRANSHUGE_PAGE_DTOR, one page-cache reference per subpage, on the LRU.
        """
        nr = NR_SUBPAGES
        names = names or ("head", *(f"tail{i}" for i in range(1, nr)))
        head = self.new_page(names[0])
        tails = [self.new_page(names[i]) for i in range(1, nr)]
        head.flags = PG_head | PG_uptodate | PG_lru | (PG_dirty if dirty else 0) | (
            PG_writeback if writeback else 0)
        head.nr = nr
        head.subpages = (head, *tails)
        head.dtor = TRANSHUGE_PAGE_DTOR
        head.mapping = self.mapping
        head.index = index
        head.refcount = nr
        head.hold(CACHE, nr)
        for i, tail in enumerate(tails, start=1):
            tail.head = head
            tail.index = index + i
        for i in range(nr):
            self.mapping.slots[index + i] = head
        return head

    def add_small_page(self, index: int, name: str) -> Page:
        """An order-0 page in the page cache at ``index``."""
        page = self.new_page(name)
        page.flags = PG_uptodate | PG_lru
        page.mapping = self.mapping
        page.index = index
        page.refcount = 1
        page.hold(CACHE, 1)
        self.mapping.slots[index] = page
        return page

    def vma(self, name: str) -> Vma:
        vma = self.vmas.get(name)
        if vma is None:
            vma = self.vmas[name] = Vma(name)
        return vma

    # -- reading ------------------------------------------------------------------------------

    def task(self) -> Task:
        """The Task of the running actor (created on first use)."""
        actor = schedfuzz.current_actor()
        task = self.tasks.get(actor.name)
        if task is None:
            task = self.tasks[actor.name] = Task(actor)
        return task

    def page_waitqueue(self, page: Page) -> schedfuzz.WaitQueue:
        """page_waitqueue(): the hashed bucket of the page wait table (hash = pfn)."""
        buckets = self.buckets
        return buckets[page.pfn % len(buckets)]

    def touch(self, *pages: Page) -> None:
        """Mark pages changed, so the per-step invariants look at them."""
        self.touched.extend(pages)

    def __schedfuzz_state__(self) -> object:
        """The fingerprint: every field that decides the future, as one string.

        A string because the engine freezes it in one comparison, where a nested tuple would
        be walked element by element at every step; ``repr`` of plain values is exact.
        """
        entries = []
        for bucket in self.buckets:
            for w in bucket.queue.entries:
                page, bit = w.key
                entries.append((w.actor.name, page.pfn, bit, tuple(sorted(w.flags)), w.woken))
        return repr((tuple(p.state() for p in self.pages),
                     self.mapping.__schedfuzz_state__(),
                     tuple(entries),
                     # A task still running and a vma mapping nothing are what the model has
                     # before it meets them, so leave them out (and the order of meeting).
                     tuple(sorted((n, v.mapped.pfn) for n, v in self.vmas.items()
                                  if v.mapped is not None)),
                     tuple(sorted((t.name, t.state) for t in self.tasks.values()
                                  if t.state != "RUNNING")),
                     self.truncate_done))


def show(**values: Any) -> None:
    """Add the outcome of the step just taken to its trace row (``put_page(page=head,
    refcount=5->4)``). The row's arguments are the dict the last checkpoint recorded."""
    args = schedfuzz.current_actor().args
    if args is not None:
        args.update(values)
