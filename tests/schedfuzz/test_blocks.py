"""Joining an actor's turns: block moves on the actor order, and the oracle that follows one."""

from __future__ import annotations

import pytest
import schedfuzz as sf
from schedfuzz import checkpoint, spawn
from schedfuzz._core import clock
from schedfuzz.reduce.minimal import reduce
from schedfuzz.reduce.shrink import Shrinker
from schedfuzz.reduce.turns import GuidedOracle, joined_orders, turns

A, B, C = 0, 1, 2


def test_turns_are_maximal_blocks_of_one_actor() -> None:
    assert turns([A, A, B, A, C, C]) == [(A, 0, 2), (B, 2, 1), (A, 3, 1), (C, 4, 2)]
    assert turns([]) == []


def test_joined_orders_move_a_later_turn_up_or_an_earlier_one_down() -> None:
    assert list(joined_orders([A, B, B, A, C])) == [
        (A, A, B, B, C),  # the second turn of A follows the first
        (B, B, A, A, C),  # the first turn of A precedes the second
    ]
    # neighbouring turns of one actor do not exist; different actors between are required
    assert list(joined_orders([A, B, C])) == []


def test_joined_orders_pair_each_turn_with_the_previous_one_of_its_actor() -> None:
    out = list(joined_orders([A, B, A, B]))
    assert out == [(A, A, B, B), (B, A, A, B), (A, B, B, A), (A, A, B, B)]
    for order in out:  # a move only reorders: every actor keeps its number of steps
        assert sorted(order) == [A, A, B, B]


def _three_workers(steps: int = 3) -> None:
    def worker() -> None:
        for _ in range(steps):
            checkpoint("tick")

    for i in range(3):
        spawn(worker, name=f"w{i}")


def _order(outcome: sf.Outcome) -> list[int]:
    return [row[0] for row in outcome.result.trace.rows]


def test_guided_oracle_follows_a_feasible_order_exactly() -> None:
    # each worker takes a start step and three ticks: four steps each
    order = [C, C, A, B, B, A, A, C, B, A, B, C]
    outcome = sf.run(_three_workers, oracle=GuidedOracle(order))
    assert outcome.kind == "ok"
    assert _order(outcome) == order


def test_guided_oracle_skips_entries_the_run_cannot_take() -> None:
    # six steps of C asked for, but C has four: once it is done, the entries left for it are
    # skipped and B runs next as asked (the default policy would pick A); after the order is
    # used up, the default policy finishes the run
    order = [C] * 6 + [B, B]
    oracle = GuidedOracle(order)
    outcome = sf.run(_three_workers, oracle=oracle)
    assert outcome.kind == "ok"
    assert _order(outcome)[:6] == [C, C, C, C, B, B]
    assert _order(outcome)[6:] == [B, B, A, A, A, A]
    assert not oracle.exhausted  # C's two extra entries are never used


def test_joining_turns_takes_a_walks_failure_to_the_fewest_preemptions() -> None:
    """A walk's missed wakeup in the old page-lock loop switches at 13 of its 21 choice points;
    joining turns alone brings it to 6 preemptions (the fewest: pinned by
    tests/quality/test_thp_minimum.py) in a few dozen runs."""
    name = "thp.pagelock.old-loop-kill"
    if name not in sf.registry():
        pytest.skip("thpmodel not installed")
    walk = sf.run(name, schedule="sf1.ARUBAgMCAAIBAQIBAQIBAQEBAAAAAAAA")
    assert walk.kind == "missed_wakeup"
    assert walk.result.preemptions == 13
    shrinker = Shrinker(walk, clock.now() + 3600, max_runs=100)
    assert shrinker.join_turns()
    best = shrinker.best
    assert best.kind == "missed_wakeup"
    assert best.result.preemptions == 6
    assert shrinker.runs < 100
    replayed = sf.run(name, schedule=best.schedule.encode())
    assert replayed.kind == "missed_wakeup"
    assert replayed.result.preemptions == 6


def test_reduce_proves_the_fewest_preemptions_of_a_walks_failure() -> None:
    """``minimal.reduce`` on a 3-preemption failure whose fewest is 2: the exhaustive search
    rules out 1 preemption within its share of the runs (750 of 1,000; the whole search below
    3 takes about 18,000), and joining turns finds the 2: the two results together prove it.
    Bounded by runs, so the verdict is the same on any machine; the seconds are a safety net."""
    name = "thp.splitwait.set1"
    if name not in sf.registry():
        pytest.skip("thpmodel not installed")
    walk = sf.run(name, schedule="sf1.ATUCAgABAQAAAAAAAAAAAAAAAAAAAAAAAAAA"
                                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert walk.kind == "failure"
    assert walk.result.preemptions == 3
    reduced = reduce(walk, seconds=3600, max_runs=1000)
    assert reduced.outcome.kind == "failure"
    assert reduced.outcome.result.preemptions == 2
    assert reduced.complete
    assert "fewest preemptions: 2" in reduced.note
