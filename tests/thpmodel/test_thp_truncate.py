"""The truncate variants run alone: what each leaves in the page cache (truncate.py)."""

from __future__ import annotations

from thp_support import solo

from thpmodel.page import PG_dirty
from thpmodel.scenarios import LEND, LSTART
from thpmodel.truncate import shmem_undo_range, truncate_inode_pages_range, truncate_retry
from thpmodel.world import World


def _slots(world: World) -> list[str | None]:
    return [None if p is None else p.name for p in world.mapping.slots]


def test_c17_splits_zeroes_and_truncates() -> None:
    """v5.17: the partial folio is zeroed and split; the whole subpage is truncated."""
    outcome, world, _ = solo(lambda w: truncate_inode_pages_range(w, LSTART, LEND))
    assert not outcome.failed
    assert _slots(world) == ["head", "tail1", None, "tail3"]
    assert world.pages[1].zeroed == 0b1100  # units 6 and 7
    assert world.pages[2].freed
    assert world.truncate_done


def test_c17_keeps_a_dirty_folio_it_cannot_split() -> None:
    """v5.17: a dirty folio whose split fails stays, zeroed in the range, still compound."""
    outcome, world, _ = solo(lambda w: truncate_inode_pages_range(w, LSTART, LEND, self_ref=2))
    head = world.pages[0]
    assert not outcome.failed
    assert head.compound
    assert _slots(world) == ["head"] * 4
    assert head.zeroed == 0b1111_1100_0000  # units 6..11


def test_c17_drops_a_clean_folio_it_cannot_split() -> None:
    """v5.17: a clean folio whose split fails is truncated whole (it can be read back)."""
    outcome, world, _ = solo(lambda w: truncate_inode_pages_range(w, LSTART, LEND, self_ref=2),
                             dirty=False)
    assert not outcome.failed
    assert _slots(world) == [None] * 4
    assert all(page.freed for page in world.pages)


def test_c57_wipes_the_subpages_it_cannot_split() -> None:
    """tmpfs 5.7-5.16: "Wipe the page and don't get stuck": zero and dirty, no retry."""
    outcome, world, _ = solo(lambda w: shmem_undo_range(w, LSTART, LEND, self_ref=2))
    head = world.pages[0]
    assert not outcome.failed
    assert head.compound
    assert head.zeroed == 0b1111_1100_0000
    assert head.flags & PG_dirty
    assert world.stats.split_attempts == 1  # one subpage wholly in the range: one attempt


def test_c57_splits_and_truncates() -> None:
    """tmpfs 5.7-5.16: the whole subpage is split off and truncated."""
    outcome, world, _ = solo(lambda w: shmem_undo_range(w, LSTART, LEND))
    assert not outcome.failed
    assert _slots(world) == ["head", "tail1", None, "tail3"]
    assert world.pages[1].zeroed == 0b1100


def test_retry_variant_alone_splits_at_once() -> None:
    """Variant (a) with nobody else around splits on the first try."""
    outcome, world, _ = solo(lambda w: truncate_retry(w, LSTART, LEND))
    assert not outcome.failed
    assert _slots(world) == ["head", "tail1", None, "tail3"]
    assert world.stats.retries == 0


def test_truncate_to_inside_the_thp_drops_the_tails_beyond_eof() -> None:
    """truncate_setsize inside the THP: the split itself deletes the tails beyond i_size."""
    outcome, world, _ = solo(lambda w: truncate_inode_pages_range(w, LSTART, 15,
                                                                  set_size=True))
    assert not outcome.failed
    assert world.mapping.i_size == LSTART
    assert _slots(world) == ["head", "tail1", None, None]
    assert [p.freed for p in world.pages] == [False, False, True, True]


def test_truncate_marks_progress() -> None:
    """The truncate ends with a progress mark: a cycle without it is a livelock."""
    outcome, _, _ = solo(lambda w: truncate_inode_pages_range(w, LSTART, LEND))
    notes = [(label, args) for _, _, label, args in outcome.result.trace.notes]
    assert ("progress", {"what": "truncate done"}) in notes


def test_retry_with_a_self_reference_never_finishes() -> None:
    """Variant (a) holding a second reference itself can never split: a proved livelock."""
    outcome, world, _ = solo(lambda w: truncate_retry(w, LSTART, LEND, self_ref=2))
    assert outcome.kind == "livelock"
    assert outcome.result.lasso is not None
    first, end = outcome.result.lasso[:2]
    cycle = [label for _, label, _ in outcome.result.trace.rows[first:end]]
    assert "can_split_huge_page" in cycle
    assert "split_huge_page failed: goto retry" in cycle
    assert world.stats.retries >= 1
