"""thpmodel: an executable model of the Linux page-cache THP split and truncate logic.

The question it answers comes from a 2020 linux-mm thread: can handling a failed
``split_huge_page()`` by "unlock the page, drop the reference, retry" livelock, and does the
proposed ``split_huge_page_wait()`` (a compound-page destructor that wakes the splitter when the
last other reference goes) do better? The model runs the kernel's steps (reference counting,
the page lock in three historical versions, the page wait table, the split, truncate and hole
punch) as schedfuzz actors, so the fuzzer explores their interleavings and reports livelocks,
deadlocks, hangs, missed wake-ups and broken invariants with a kernel-like trace.

Layout (mirroring mm/):

    page.py         struct page state (pure)           world.py      one model instance (pure)
    refcount.py     get/put/freeze, the zero path      filemap.py    page cache lookup, deletion
    pagelock.py     page lock, page-bit waits          rmap.py       map, unmap
    huge_memory.py  split_huge_page                    split_wait.py the proposed wait scheme
    truncate.py     the truncate variants              actors.py     the other tasks
    invariants.py   the safety rules                   scenarios.py  the registered races
    table.py        ``python -m thpmodel``

Sources for every kernel fact are in the project's design notes (kernel-thp-research.md).
"""

from __future__ import annotations

from thpmodel.actors import (
    faulter,
    gup_pinner,
    killer,
    locker,
    migrator,
    pfn_walker,
    reader,
    writeback_ender,
    writer,
)
from thpmodel.huge_memory import split_huge_page
from thpmodel.invariants import check_step, quiescent, truncate_postcondition
from thpmodel.page import NR_SUBPAGES, UNITS, InvariantViolation, Page
from thpmodel.scenarios import make_world
from thpmodel.split_wait import split_huge_page_wait
from thpmodel.truncate import shmem_undo_range, truncate_inode_pages_range, truncate_retry
from thpmodel.world import Config, World

__all__ = [
    "NR_SUBPAGES",
    "UNITS",
    "Config",
    "InvariantViolation",
    "Page",
    "World",
    "check_step",
    "faulter",
    "gup_pinner",
    "killer",
    "locker",
    "make_world",
    "migrator",
    "pfn_walker",
    "quiescent",
    "reader",
    "shmem_undo_range",
    "split_huge_page",
    "split_huge_page_wait",
    "truncate_inode_pages_range",
    "truncate_postcondition",
    "truncate_retry",
    "writeback_ender",
    "writer",
]
