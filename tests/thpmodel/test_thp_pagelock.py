"""The page lock in its three versions: uncontended, contended, killed (pagelock.py,
pagewait.py)."""

from __future__ import annotations

from typing import Any

from thp_support import labels, oracle, solo

import pytest
import schedfuzz
from thpmodel.page import InvariantViolation, PG_locked, PG_waiters
from thpmodel.pagelock import lock_page, lock_page_killable, unlock_page
from thpmodel.pagewait import EINTR
from thpmodel.refcount import get_page, put_page
from thpmodel.scenarios import make_world
from thpmodel.world import LOCK_ALGOS, Config, World


@pytest.mark.parametrize("algo", LOCK_ALGOS)
def test_uncontended_lock_is_one_trylock(algo: str) -> None:
    """Without contention lock_page is the trylock fast path and unlock wakes nobody."""
    def body(world: World) -> tuple[str, int]:
        page = world.pages[0]
        lock_page(world, page)
        owner = page.lock_owner.name
        unlock_page(world, page)
        return owner, page.flags & (PG_locked | PG_waiters)

    outcome, _, result = solo(body, Config(lock_algo=algo), thp=False)
    assert not outcome.failed
    assert result == ("task", 0)
    assert labels(outcome) == ["start", "trylock_page", "unlock_page"]


def _contended(algo: str, results: dict[str, Any]) -> Any:
    """holder locks and yields; waiter blocks in lock_page; holder unlocks."""
    def scenario_fn() -> None:
        world = make_world(Config(lock_algo=algo), thp=False)
        page = world.pages[0]

        def holder() -> None:
            get_page(world, page)
            lock_page(world, page)
            schedfuzz.checkpoint("critical section", yield_=True)
            unlock_page(world, page)
            put_page(world, page)

        def waiter() -> None:
            get_page(world, page)
            lock_page(world, page)
            results["waiter owned"] = page.lock_owner.name
            unlock_page(world, page)
            put_page(world, page)

        schedfuzz.spawn(holder, name="holder")
        schedfuzz.spawn(waiter, name="waiter")

    return scenario_fn


@pytest.mark.parametrize("algo", LOCK_ALGOS)
def test_contended_lock_passes_to_the_waiter(algo: str) -> None:
    """The waiter sleeps while the holder has the lock, and gets it after the unlock."""
    results: dict[str, Any] = {}
    outcome = schedfuzz.run(_contended(algo, results))
    assert not outcome.failed
    assert results["waiter owned"] == "waiter"
    steps = labels(outcome)
    assert "wake_up_page_bit" in steps
    # Hand-off: the waker takes the bit for the waiter, which never tests it itself.
    tested = any(s.startswith("wait_on_page_bit_common: test_and_set") for s in steps)
    assert tested == (algo != "handoff")


@pytest.mark.parametrize("algo", LOCK_ALGOS)
def test_contended_lock_under_random_schedules(algo: str) -> None:
    """Two lockers never both own the lock and never miss a wake-up."""
    kinds = {schedfuzz.run(_contended(algo, {}), oracle=oracle(seed)).kind
             for seed in range(150)}
    assert kinds == {"ok"}


@pytest.mark.parametrize("algo", LOCK_ALGOS)
def test_killable_lock_returns_eintr_on_a_signal(algo: str) -> None:
    """lock_page_killable gives up with -EINTR when the sleeper is killed."""
    results: dict[str, Any] = {}

    def scenario_fn() -> None:
        world = make_world(Config(lock_algo=algo), thp=False)
        page = world.pages[0]

        def holder() -> None:
            lock_page(world, page)
            schedfuzz.checkpoint("critical section", yield_=True)
            schedfuzz.checkpoint("critical section", yield_=True)
            unlock_page(world, page)

        def victim() -> None:
            get_page(world, page)
            results["ret"] = lock_page_killable(world, page)
            put_page(world, page)

        schedfuzz.spawn(holder, name="holder")
        target = schedfuzz.spawn(victim, name="victim")
        schedfuzz.spawn(lambda: schedfuzz.signal(target), name="killer")

    outcome = schedfuzz.run(scenario_fn)
    assert not outcome.failed, schedfuzz.explain(outcome)
    assert results["ret"] == EINTR


def test_unlock_by_a_task_that_does_not_hold_the_lock() -> None:
    """unlock_page by a non-owner breaks the lock discipline."""
    outcome, _, _ = solo(lambda world: unlock_page(world, world.pages[0]), thp=False)
    assert isinstance(outcome.error, InvariantViolation)
    assert outcome.error.invariant == "lock_discipline"
