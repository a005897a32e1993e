"""Reference counting: get/put arithmetic, the zero path, freeze and unfreeze (refcount.py)."""

from __future__ import annotations

from thp_support import labels, oracle, solo

import schedfuzz
from thpmodel.filemap import delete_from_page_cache, find_get_entry
from thpmodel.page import CACHE, InvariantViolation, PG_waiters
from thpmodel.refcount import get_page, page_ref_freeze, page_ref_unfreeze, put_page
from thpmodel.scenarios import make_world
from thpmodel.world import World


def test_get_and_put_count_and_record_the_holder() -> None:
    """get_page adds one reference held by the caller; put_page takes it back."""
    def body(world: World) -> tuple[int, int, int, int]:
        head = world.pages[0]
        get_page(world, head)
        after_get = head.refcount, head.held_by("task")
        put_page(world, head)
        return (*after_get, head.refcount, head.held_by("task"))

    outcome, _, result = solo(body)
    assert not outcome.failed
    assert result == (5, 1, 4, 0)


def test_last_put_runs_the_zero_path_and_frees() -> None:
    """The put that reaches zero clears PG_waiters and frees an order-0 page."""
    def body(world: World) -> None:
        page = world.pages[0]
        find_get_entry(world, 0)
        page.flags |= PG_waiters
        delete_from_page_cache(world, page)
        put_page(world, page)

    outcome, world, _ = solo(body, thp=False)
    page = world.pages[0]
    assert not outcome.failed
    assert page.freed
    assert page.refcount == 0
    assert not page.flags & PG_waiters
    assert labels(outcome)[-3:] == [
        "__page_cache_release: read page->flags",
        "__page_cache_release: __ClearPageLRU; __ClearPageWaiters (write flags)",
        "free_unref_page",
    ]


def test_last_put_of_a_thp_calls_its_destructor() -> None:
    """A compound page's zero path reads compound_dtor and runs free_transhuge_page."""
    def body(world: World) -> None:
        head = world.pages[0]
        find_get_entry(world, 0)
        delete_from_page_cache(world, head)
        put_page(world, head)

    outcome, world, _ = solo(body)
    assert not outcome.failed
    assert all(page.freed for page in world.pages)
    assert "destroy_compound_page: read compound_dtor" in labels(outcome)
    assert labels(outcome)[-1] == "free_transhuge_page"


def test_put_on_a_zero_refcount_is_an_underflow() -> None:
    """put_page on a zero count is the VM_BUG_ON of put_page_testzero."""
    def prepare(world: World) -> None:
        page = world.pages[0]
        world.mapping.slots[0] = None
        page.mapping = None
        page.refcount = 0
        page.unhold(CACHE)

    outcome, _, _ = solo(lambda world: put_page(world, world.pages[0]), thp=False,
                         prepare=prepare)
    assert outcome.kind == "failure"
    assert isinstance(outcome.error, InvariantViolation)
    assert outcome.error.invariant == "no_refcount_underflow"


def test_put_of_a_reference_not_held_breaks_the_ghost_equation() -> None:
    """Dropping a reference the task never took is caught by the holder accounting."""
    outcome, _, _ = solo(lambda world: put_page(world, world.pages[0]))
    assert isinstance(outcome.error, InvariantViolation)
    assert outcome.error.invariant == "refcount_equals_holders"


def test_freeze_succeeds_only_at_the_exact_count() -> None:
    """page_ref_freeze is a cmpxchg(count, 0); unfreeze restores the count."""
    def body(world: World) -> tuple[bool, bool, int, int]:
        head = world.pages[0]
        wrong = page_ref_freeze(world, head, 5)
        right = page_ref_freeze(world, head, 4)
        frozen = head.refcount
        page_ref_unfreeze(world, head, 4)
        return wrong, right, frozen, head.refcount

    outcome, _, result = solo(body)
    assert not outcome.failed
    assert result == (False, True, 0, 4)


def test_unfreeze_of_a_live_page_is_a_violation() -> None:
    """page_ref_unfreeze requires a frozen (zero) count."""
    outcome, _, _ = solo(lambda world: page_ref_unfreeze(world, world.pages[0], 4))
    assert isinstance(outcome.error, InvariantViolation)


def test_a_lookup_never_takes_a_reference_on_a_frozen_page() -> None:
    """page_cache_get_speculative waits (without steps) until the freezer unfreezes."""
    def scenario_fn() -> None:
        world = make_world()
        head = world.pages[0]

        def freezer() -> None:
            if page_ref_freeze(world, head, 4):
                schedfuzz.checkpoint("frozen: copy the page")
                page_ref_unfreeze(world, head, 4)

        def looker() -> None:
            page = find_get_entry(world, 0)
            assert page is not None
            assert head.refcount >= 5
            put_page(world, page)

        schedfuzz.spawn(freezer, name="freezer")
        schedfuzz.spawn(looker, name="looker")

    outcomes = [schedfuzz.run(scenario_fn, oracle=oracle(seed)) for seed in range(60)]
    assert {outcome.kind for outcome in outcomes} == {"ok"}
    spun = [o for o in outcomes if "find_get_entry: head frozen, retry" in labels(o)]
    assert spun, "no schedule looked the page up while it was frozen"
