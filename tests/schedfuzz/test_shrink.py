"""The schedule shrinker: same failure, strictly simpler, deterministic, bounded, replayable."""

from __future__ import annotations

import pytest
import schedfuzz as sf
from schedfuzz import AtomicInt, Lock, at_end, checkpoint, spawn
from schedfuzz.engines.random_walk import derive_seed
from schedfuzz.explore import Budget, explore
from schedfuzz.reduce.shrink import LenientReplay, shrink
from schedfuzz.search import dfs

# Shrinking in these tests is bounded by runs, which decide; the seconds are a safety net that
# never binds, so no verdict here depends on the machine's speed.
SAFETY_NET = 3600.0
SHRINK_RUNS = 2000


def _first_failure(name: str, *, p: float = 0.5, **params: object) -> sf.Outcome:
    """A failing run found by a noisy random walk (many needless switches)."""
    for index in range(500):
        oracle = sf.RandomOracle(derive_seed(11, index, "test"), switch_probability=p)
        outcome = sf.run(name, oracle=oracle, **params)
        if outcome.failed and outcome.result.preemptions >= 3:
            return outcome
    raise AssertionError(f"no noisy failure of {name}")


def test_shrinks_a_noisy_lost_update_to_one_preemption() -> None:
    noisy = _first_failure("demo.lost-update", p=0.9, n=3)
    result = shrink(noisy, seconds=SAFETY_NET, max_runs=SHRINK_RUNS)
    assert result.outcome.kind == "failure"
    assert result.outcome.result.preemptions == 1
    assert result.original_preemptions >= 3
    assert result.outcome.schedule.sort_key() < noisy.schedule.sort_key()
    assert not result.timed_out


def test_shrunk_schedule_is_in_normal_form_and_replays_exactly() -> None:
    noisy = _first_failure("demo.abba", p=0.9)
    result = shrink(noisy, seconds=SAFETY_NET, max_runs=SHRINK_RUNS)
    schedule = result.outcome.schedule
    assert schedule.decisions == (0, 0, 1)  # trailing default answers are dropped
    replayed = sf.run("demo.abba", schedule=schedule.encode())
    assert replayed.kind == "deadlock"
    assert replayed.result.trace.lines() == result.outcome.result.trace.lines()
    with pytest.raises(sf.Deadlock):
        sf.replay("demo.abba", schedule)


def test_shrinking_is_deterministic() -> None:
    noisy = _first_failure("demo.lost-update", p=0.9, n=3)
    a = shrink(noisy, seconds=SAFETY_NET, max_runs=SHRINK_RUNS)
    b = shrink(noisy, seconds=SAFETY_NET, max_runs=SHRINK_RUNS)
    assert a.outcome.schedule == b.outcome.schedule
    assert a.runs == b.runs


@sf.scenario("test.shrink.two-bugs", expect="failure")
def two_bugs() -> None:
    """A lost update (an AssertionError at the end) and a lock-order deadlock in one program:
    both are reachable, and the shrinker must not trade one for the other."""
    a, b = Lock("A"), Lock("B")
    counter = AtomicInt(0, "counter")

    def one() -> None:
        counter.store(counter.load() + 1)
        with a, b:
            pass

    def two() -> None:
        counter.store(counter.load() + 1)
        with b, a:
            pass

    spawn(one, name="one")
    spawn(two, name="two")

    @at_end
    def counted() -> None:
        assert counter.value == 2


@pytest.mark.parametrize("kind", ["failure", "deadlock"])
def test_shrinking_keeps_the_verdict_kind(kind: str) -> None:
    found = None
    for index in range(2000):
        oracle = sf.RandomOracle(derive_seed(5, index, "test"), switch_probability=0.8)
        outcome = sf.run("test.shrink.two-bugs", oracle=oracle)
        if outcome.kind == kind and outcome.result.preemptions >= 2:
            found = outcome
            break
    assert found is not None
    result = shrink(found, seconds=SAFETY_NET, max_runs=SHRINK_RUNS)
    assert result.outcome.kind == kind
    assert result.outcome.result.preemptions == 1


def test_shrinking_keeps_the_exception_type() -> None:
    def scenario() -> None:
        box = AtomicInt(0, "box")

        def left() -> None:
            v = box.load()
            checkpoint("think")
            if v == 0 and box.load() == 1:
                raise KeyError("left saw the write")
            box.store(v + 1)

        def right() -> None:
            box.store(box.load() + 1)
            checkpoint("between")
            if box.load() == 2:
                raise ValueError("right saw two")

        spawn(left, name="left")
        spawn(right, name="right")

    for seed in range(400):
        outcome = sf.run(scenario, oracle=sf.RandomOracle(seed, 0.7))
        if isinstance(outcome.error, ValueError):
            break
    else:
        pytest.fail("no ValueError schedule")
    result = shrink(outcome, seconds=SAFETY_NET, max_runs=SHRINK_RUNS)
    assert isinstance(result.outcome.error, ValueError)


def test_livelock_shrinks_to_a_proved_lasso() -> None:
    info = sf.resolve("demo.polite-livelock")
    found = dfs.search(info, {}, sf.Settings(), Budget(max_schedules=5000), stateful=True)
    assert found.outcome is not None
    result = shrink(found.outcome, seconds=SAFETY_NET, max_runs=SHRINK_RUNS)
    assert result.outcome.kind == "livelock"
    assert result.outcome.result.lasso is not None
    assert result.outcome.schedule.cycle_start is not None
    assert result.outcome.schedule.sort_key() <= found.outcome.schedule.sort_key()
    assert sf.run("demo.polite-livelock", schedule=result.outcome.schedule).kind == "livelock"


def test_time_limit_returns_the_input_when_nothing_was_tried() -> None:
    noisy = _first_failure("demo.lost-update", p=0.9, n=3)
    result = shrink(noisy, seconds=0)
    assert result.timed_out
    assert result.runs == 0
    assert result.outcome.kind == "failure"
    assert result.outcome.result.preemptions == noisy.result.preemptions


def test_passing_outcome_is_returned_unchanged() -> None:
    ok = sf.run("demo.spin-wait")
    result = shrink(ok, seconds=5)
    assert result.runs == 0
    assert result.outcome.kind == "ok"


def test_local_passes_alone_are_weaker_than_with_the_exhaustive_pass() -> None:
    """The exhaustive pass finds minimal reproducers the local edits cannot reach: a walk's
    livelock whose cheapest lasso (0 preemptions: the default policy's own cycle) is not a few
    edits away from the walk's."""
    name = "thp.retry.fault-loop"
    if name not in sf.registry():
        pytest.skip("thpmodel not installed")
    report = explore(name, engine_name="random",
                     budget=Budget(max_schedules=500, seed=1, shrink_runs=0))
    assert report.outcome is not None
    assert report.outcome.kind == "livelock"
    local = shrink(report.outcome, seconds=SAFETY_NET, max_runs=SHRINK_RUNS, exhaustive_runs=0)
    full = shrink(report.outcome, seconds=SAFETY_NET, max_runs=SHRINK_RUNS)
    assert full.outcome.kind == local.outcome.kind == "livelock"
    assert full.outcome.result.preemptions == 0
    assert local.outcome.result.preemptions > 0


def test_lenient_replay_clamps_and_loops() -> None:
    oracle = LenientReplay((3, 1, 0), None)
    assert [oracle.choose_actor(2), oracle.choose_actor(3), oracle.choose_actor(2)] == [1, 1, 0]
    assert not oracle.exhausted
    assert oracle.choose_actor(4) == 0
    assert oracle.exhausted
    looping = LenientReplay((0, 1, 2), 1)
    assert [looping.choose_actor(3) for _ in range(7)] == [0, 1, 2, 1, 2, 1, 2]
