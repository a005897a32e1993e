"""Mapping and unmapping file pages (mm/memory.c, mm/rmap.c, 5.10).

Every mapping holds one page reference and counts 1 in ``total_mapcount`` (a PMD mapping of a
THP counts 1, like one PTE). New mappings of a THP are made under the page lock (the fault path
locks, fault-around trylocks), so while a splitter holds PG_locked the mapcount can only go down.

Unmap is two steps for a task's own munmap (``page_remove_rmap``, then the ``put_page`` the TLB
gather defers: in between the page has an "extra" reference), and one step per mapping inside
the split's ``unmap_page`` (try_to_unmap_one drops the reference at once).
"""

from __future__ import annotations

from schedfuzz import checkpoint
from thpmodel.filemap import find_get_entry
from thpmodel.page import MAP, InvariantViolation, Page, compound_head
from thpmodel.pagelock import lock_page, trylock_page, unlock_page
from thpmodel.refcount import __put_page, check_alive, put_page
from thpmodel.world import Vma, World, show

__all__ = ["filemap_fault", "unmap_page", "zap_vma"]


def filemap_fault(world: World, vma: Vma, index: int, *, around: bool = False) -> bool:
    """filemap_fault() (``around``: filemap_map_pages) + do_set_pmd / alloc_set_pte.

    Looks the page up, locks it (fault-around only trylocks and skips a locked page),
    rechecks the mapping, maps it and unlocks. Returns whether it mapped the page.
    """
    if vma.mapped is not None:
        return False
    page = find_get_entry(world, index)
    if page is None:
        return False
    if around:
        if not trylock_page(world, page):
            put_page(world, page)
            return False
    else:
        lock_page(world, page)
    head = compound_head(page)
    checkpoint("filemap_fault: recheck page->mapping", page=head.name)
    if head.mapping is not world.mapping:
        show(result="truncated")
        unlock_page(world, page)
        put_page(world, page)
        return False
    page_add_file_rmap(world, vma, head)
    unlock_page(world, page)
    return True


def page_add_file_rmap(world: World, vma: Vma, head: Page) -> None:
    """do_set_pmd()/alloc_set_pte() -> page_add_file_rmap(): the fault's reference becomes the
    mapping's."""
    label = "do_set_pmd: page_add_file_rmap" if head.compound else \
        "alloc_set_pte: page_add_file_rmap"
    checkpoint(label, page=head.name, vma=vma.name)
    check_alive(head, "page_add_file_rmap")
    task = world.task()
    if head.lock_owner is not task.actor:
        msg = f"{task.name} maps {head.name} without holding its lock: {head.describe()}"
        raise InvariantViolation("lock_discipline", msg)
    if not head.unhold(task.name):
        msg = f"{task.name} maps {head.name} without a reference: {head.describe()}"
        raise InvariantViolation("refcount_equals_holders", msg)
    head.hold(MAP)
    head.mapcount += 1
    vma.mapped = head
    world.touch(head)
    show(mapcount=f"{head.mapcount - 1}->{head.mapcount}")


def zap_vma(world: World, vma: Vma) -> None:
    """munmap: zap_huge_pmd()/zap_pte_range() -> page_remove_rmap(), then the deferred
    put_page() of the TLB gather (tlb_finish_mmu)."""
    checkpoint("zap_page_range: page_remove_rmap", vma=vma.name)
    page = vma.mapped
    if page is None:
        show(result="nothing mapped")
        return
    check_alive(page, "page_remove_rmap")
    task = world.task()
    page.mapcount -= 1
    vma.mapped = None
    page.unhold(MAP)
    page.hold(task.name, 1, task.actor)  # the gather's reference, released below
    world.touch(page)
    show(page=page.name, mapcount=f"{page.mapcount + 1}->{page.mapcount}")
    put_page(world, page)


def unmap_page(world: World, head: Page) -> None:
    """unmap_page() -> try_to_unmap(TTU_SPLIT_HUGE_PMD): for a file page each mapping is
    zapped and its reference dropped at once; nothing is remapped if the split then fails."""
    for name in sorted(world.vmas):  # by name, not by who faulted first: see World's snapshot
        vma = world.vmas[name]
        if vma.mapped is not head:
            continue
        checkpoint("try_to_unmap_one: page_remove_rmap; put_page", page=head.name,
                   vma=vma.name)
        check_alive(head, "try_to_unmap_one")
        if vma.mapped is not head:
            show(result="unmapped meanwhile")
            continue
        if head.refcount <= 0:
            msg = f"try_to_unmap_one puts a zero refcount: {head.describe()}"
            raise InvariantViolation("no_refcount_underflow", msg)
        head.mapcount -= 1
        vma.mapped = None
        head.unhold(MAP)
        head.refcount -= 1
        world.touch(head)
        show(refcount=f"{head.refcount + 1}->{head.refcount}", mapcount=head.mapcount)
        if head.refcount == 0:  # only a biased (split_huge_page_wait) count gets here
            head.zero_pending = True
            __put_page(world, head)
