"""split_huge_page on its own: refcounts, page-cache slots, locks, EOF (huge_memory.py)."""

from __future__ import annotations

from typing import Any

from thp_support import labels, solo

from thpmodel.filemap import find_lock_page
from thpmodel.huge_memory import EBUSY, split_huge_page
from thpmodel.page import MAP, UNITS, PG_locked
from thpmodel.pagelock import unlock_page
from thpmodel.refcount import put_page
from thpmodel.world import World


def _split_at(index: int) -> Any:
    """Lock the page at ``index``, split its THP, record the result, then unlock and put."""
    def body(world: World) -> dict[str, Any]:
        page = find_lock_page(world, index)
        assert page is not None
        ret = split_huge_page(world, page)
        seen = {
            "ret": ret,
            "refcounts": [p.refcount for p in world.pages],
            "locked": [p.name for p in world.pages if p.flags & PG_locked],
            "slots": [None if p is None else p.name for p in world.mapping.slots],
            "compound": [p.name for p in world.pages if p.compound],
            "arg": page.name,
        }
        unlock_page(world, page)
        put_page(world, page)
        return seen

    return body


def test_split_of_an_unshared_thp() -> None:
    """Each subpage gets its own slot and one page-cache pin; the argument keeps the caller's
    pin and lock."""
    outcome, _, seen = solo(_split_at(0))
    assert not outcome.failed
    assert seen["ret"] == 0
    assert seen["refcounts"] == [2, 1, 1, 1]
    assert seen["locked"] == ["head"]
    assert seen["slots"] == ["head", "tail1", "tail2", "tail3"]
    assert seen["compound"] == []


def test_split_transfers_pin_and_lock_to_the_argument_subpage() -> None:
    """split_huge_page(tail1): tail1 keeps the pin and PG_locked, the head is let go."""
    outcome, _, seen = solo(_split_at(1))
    assert not outcome.failed
    assert seen["arg"] == "tail1"
    assert seen["refcounts"] == [1, 2, 1, 1]
    assert seen["locked"] == ["tail1"]


def test_split_drops_and_frees_tails_beyond_eof() -> None:
    """With i_size inside the THP the split deletes the tails beyond it, and they are freed."""
    def prepare(world: World) -> None:
        world.mapping.i_size = 6  # units: index 1 is the last one inside EOF

    outcome, world, seen = solo(_split_at(0), prepare=prepare)
    assert not outcome.failed
    assert seen["slots"] == ["head", "tail1", None, None]
    assert [p.freed for p in world.pages] == [False, False, True, True]
    assert "__delete_from_page_cache" in labels(outcome)


def test_split_fails_while_someone_else_holds_a_reference() -> None:
    """can_split_huge_page: an extra reference makes the split fail with -EBUSY, unchanged."""
    def prepare(world: World) -> None:
        head = world.pages[0]
        head.refcount += 1
        head.hold("gup")

    def body(world: World) -> tuple[int, bool, int]:
        page = find_lock_page(world, 0)
        assert page is not None
        ret = split_huge_page(world, page)
        head = world.pages[0]
        seen = ret, head.compound, head.refcount
        unlock_page(world, page)
        put_page(world, page)
        head.refcount -= 1  # the other holder lets go (outside the model's steps)
        head.unhold("gup")
        return seen

    outcome, _, result = solo(body, prepare=prepare)
    assert result == (EBUSY, True, 6)
    assert not outcome.failed


def test_split_refuses_a_page_under_writeback() -> None:
    """split_huge_page returns -EBUSY for a page under writeback."""
    def body(world: World) -> int:
        page = find_lock_page(world, 0)
        assert page is not None
        ret = split_huge_page(world, page)
        unlock_page(world, page)
        put_page(world, page)
        return ret

    def prepare(world: World) -> None:
        world.pages[0].writeback_owner = None

    outcome, _, ret = solo(body, writeback=True, prepare=prepare)
    assert ret == EBUSY
    assert not outcome.failed


def test_split_unmaps_the_thp_first() -> None:
    """unmap_page zaps every mapping and drops its reference; then the freeze succeeds."""
    def prepare(world: World) -> None:
        head = world.pages[0]
        world.vma("vma.a").mapped = head
        head.mapcount = 1
        head.refcount += 1
        head.hold(MAP)

    outcome, world, seen = solo(_split_at(0), prepare=prepare)
    assert not outcome.failed
    assert seen["ret"] == 0
    assert world.vmas["vma.a"].mapped is None
    assert "try_to_unmap_one: page_remove_rmap; put_page" in labels(outcome)


def test_split_gives_each_subpage_its_data() -> None:
    """The head's data units are handed to the subpage that covers them."""
    def prepare(world: World) -> None:
        world.pages[0].zeroed = 0b0110 << UNITS  # units 5 and 6, in tail1

    outcome, world, _ = solo(_split_at(0), prepare=prepare)
    assert not outcome.failed
    assert [p.zeroed for p in world.pages] == [0, 0b0110, 0, 0]


def test_split_trace_names_the_kernel_steps() -> None:
    """The trace of a split reads like mm/huge_memory.c."""
    outcome, _, _ = solo(_split_at(0))
    steps = labels(outcome)
    for label in ("can_split_huge_page",
                  "split_huge_page: xa_lock; xas_load == head; page_ref_freeze",
                  "__split_huge_page_tail: clone flags; ->mapping, ->index; clear_compound_head",
                  "__split_huge_page_tail: page_ref_unfreeze", "__xa_store",
                  "__split_huge_page: ClearPageCompound(head); page_ref_add(head, 2)"):
        assert label in steps
