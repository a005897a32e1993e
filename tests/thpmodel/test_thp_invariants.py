"""Each invariant fires on a hand-built bad state, and only then (invariants.py)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import SimpleNamespace
from typing import Any

import pytest
from thpmodel.invariants import (
    check_split_result,
    check_split_unshared,
    check_step,
    lock_discipline,
    no_refcount_underflow,
    no_use_after_free,
    page_cache_consistent,
    quiescent,
    refcount_equals_holders,
    truncate_postcondition,
    waiters_flag_sound,
)
from thpmodel.page import CACHE, InvariantViolation, PG_locked, PG_waiters
from thpmodel.pagewait import PageWaitEntry
from thpmodel.refcount import check_dtor
from thpmodel.world import Config, World


@pytest.fixture
def world() -> World:
    """A file with one THP at index 0 and nothing else going on: every invariant holds."""
    w = World()
    w.add_thp(0)
    return w


def _fires(rule: str) -> AbstractContextManager[Any]:
    return pytest.raises(InvariantViolation, match=f"^{rule}: ")


def test_a_good_state_passes_every_invariant(world: World) -> None:
    """The freshly built world satisfies all of them (so each test below changes one thing)."""
    for check in (no_refcount_underflow, no_use_after_free, refcount_equals_holders,
                  page_cache_consistent, lock_discipline, waiters_flag_sound, quiescent):
        check(world)
    world.touched.extend(world.pages)
    check_step(world)


def test_no_refcount_underflow(world: World) -> None:
    """A negative mapcount (an unmap too many) is an underflow."""
    world.pages[0].mapcount = -1
    with _fires("no_refcount_underflow"):
        no_refcount_underflow(world)


def test_no_use_after_free(world: World) -> None:
    """A freed page still in the page cache."""
    world.pages[0].freed = True
    with _fires("no_use_after_free"):
        no_use_after_free(world)


def test_refcount_equals_holders(world: World) -> None:
    """A reference nobody accounts for."""
    world.pages[0].refcount += 1
    with _fires("refcount_equals_holders"):
        refcount_equals_holders(world)


def test_refcount_equals_holders_while_frozen(world: World) -> None:
    """Frozen while a third party still holds a reference."""
    head = world.pages[0]
    head.hold("reader")
    head.refcount = 0
    head.frozen_by = SimpleNamespace(name="truncate")
    with _fires("refcount_equals_holders"):
        refcount_equals_holders(world)


def test_split_only_when_unshared(world: World) -> None:
    """A split freezing the head while a GUP pin exists."""
    head = world.pages[0]
    head.hold("truncate")
    head.hold("gup")
    head.lock_owner = SimpleNamespace(name="truncate")
    head.flags |= PG_locked
    with _fires("split_only_when_unshared"):
        check_split_unshared(head, "truncate")


def test_split_only_when_locked(world: World) -> None:
    """A split by a task that does not hold the page lock."""
    world.pages[0].hold("truncate")
    with _fires("split_only_when_unshared"):
        check_split_unshared(world.pages[0], "truncate")


def test_page_cache_consistent(world: World) -> None:
    """A slot of the THP's range that lost its page."""
    world.mapping.slots[2] = None
    with _fires("page_cache_consistent"):
        page_cache_consistent(world)


def test_page_cache_consistent_after_split(world: World) -> None:
    """After a split, a tail that is still compound (or missing from its slot)."""
    with _fires("page_cache_consistent"):
        check_split_result(world, world.pages[0].subpages)


def test_lock_discipline(world: World) -> None:
    """PG_locked set with no owner."""
    world.pages[0].flags |= PG_locked
    with _fires("lock_discipline"):
        lock_discipline(world)


def test_waiters_flag_sound(world: World) -> None:
    """A queued, unwoken sleeper on a page whose PG_waiters is clear."""
    head = world.pages[0]
    queue = world.page_waitqueue(head).queue
    sleeper = SimpleNamespace(name="reader", aid=1)
    queue.entries.append(PageWaitEntry(sleeper, queue, key=(head, PG_locked), queued=True))
    with _fires("waiters_flag_sound"):
        waiters_flag_sound(world)
    head.flags |= PG_waiters
    waiters_flag_sound(world)


def test_waiters_flag_sound_can_be_switched_off() -> None:
    """Config.check_waiters=False keeps it out of the per-step checks."""
    world = World(Config(check_waiters=False))
    head = world.add_thp(0)
    queue = world.page_waitqueue(head).queue
    sleeper = SimpleNamespace(name="reader", aid=1)
    queue.entries.append(PageWaitEntry(sleeper, queue, key=(head, PG_locked), queued=True))
    world.touched.append(head)
    check_step(world)


def test_truncate_postcondition(world: World) -> None:
    """Data left in the punched range of a cached page."""
    world.pages[0].zeroed = 0b1111_1100_0000
    truncate_postcondition(world, 6, 11)
    world.pages[0].zeroed = 0b1111_1000_0000  # unit 6 still holds data
    with _fires("truncate_postcondition"):
        truncate_postcondition(world, 6, 11)


def test_truncate_postcondition_whole_folio(world: World) -> None:
    """A folio lying wholly inside the range is still cached, even if zeroed."""
    world.pages[0].zeroed = (1 << 16) - 1
    with _fires("truncate_postcondition"):
        truncate_postcondition(world, 0, 15)


def test_quiescent(world: World) -> None:
    """At the end, a reference somebody forgot to drop."""
    world.pages[0].refcount += 1
    world.pages[0].hold("reader")
    with _fires("quiescent"):
        quiescent(world)


def test_destructor_discipline(world: World) -> None:
    """A destructor run without the refcount having just dropped to zero."""
    with _fires("destructor_discipline"):
        check_dtor(world.pages[0], "free_transhuge_page")


def test_check_step_reports_a_touched_page_only(world: World) -> None:
    """The per-step check looks at the pages the step touched."""
    head = world.pages[0]
    head.refcount += 1
    check_step(world)  # nothing touched: nothing checked
    world.touch(head)
    with _fires("refcount_equals_holders"):
        check_step(world)
    assert head.held_by(CACHE) == 4
