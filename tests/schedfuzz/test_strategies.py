"""The schedule strategy: its byte encoding, the oracle it drives, its use in a @given test."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

import pytest
import schedfuzz as sf
from schedfuzz import InvalidArgument, checkpoint, spawn
from schedfuzz.strategies import (
    WALK_SWITCHES,
    Deviation,
    ScheduleOracle,
    SchedulePlan,
    gap_of,
    schedules,
    walk_gaps,
)


def plan(*deviations: tuple[int, int], cycle_from: int | None = None) -> SchedulePlan:
    return SchedulePlan(tuple(Deviation(g, c) for g, c in deviations), cycle_from)


def test_gap_of_is_monotone_and_skewed_to_small_gaps() -> None:
    """Smaller field values never mean later deviations; half the values give gaps 0-15."""
    gaps = [gap_of(v) for v in range(1 << 14)]
    assert gaps == sorted(gaps)
    assert gaps[0] == 0
    assert max(gaps[:8192]) == 15
    assert gaps[8192] == 16
    assert gaps.count(0) == 2048  # a quarter of all records switch at the very next choice point
    assert gaps[-1] > 60_000
    with pytest.raises(InvalidArgument, match="14-bit"):
        gap_of(1 << 14)


def test_from_bytes_reads_records_and_an_odd_byte_as_a_cycle() -> None:
    """Two bytes per deviation; the low two bits pick the choice; an odd byte makes a cycle."""
    assert SchedulePlan.from_bytes(b"") == SchedulePlan()
    assert SchedulePlan.from_bytes(b"\x00") == SchedulePlan()  # a lone byte: nothing to cycle
    assert SchedulePlan.from_bytes(b"\x00\x00") == plan((0, 1))
    assert SchedulePlan.from_bytes(b"\x00\x03") == plan((0, 4))
    assert SchedulePlan.from_bytes(b"-D") == plan((2, 1))  # the lost update's shrunk schedule
    # in the cycle, the gap field reads reversed: the lowest bytes are the sparsest cycle
    assert SchedulePlan.from_bytes(b"\x00\x00\x00\x01\x05") == plan(
        (0, 1), (gap_of((1 << 14) - 1), 2), cycle_from=1)
    assert SchedulePlan.from_bytes(b"\xff\xfc\x00") == plan((0, 1), cycle_from=0)


@given(st.binary())
def test_every_byte_string_is_a_valid_plan(data: bytes) -> None:
    decoded = SchedulePlan.from_bytes(data)
    assert len(decoded.deviations) == len(data) // 2
    assert (decoded.cycle_from is not None) == (len(data) % 2 == 1 and len(data) > 1)
    assert str(decoded)


def test_walk_gaps_are_geometric_quantiles() -> None:
    """Switching with probability p at each choice point waits Geometric(p) choice points."""
    assert walk_gaps(256) == (0,) * 22  # switch at every choice point
    half = walk_gaps(128)  # p = 1/2: P(gap = 0) = 1/2, P(gap <= 1) = 3/4, ...
    assert half[:11] == (0,) * 11  # levels 0..10 hold the records 1..132, about half of 255
    assert half[11] == 1
    for span in range(16, 257):
        gaps = walk_gaps(span)
        assert list(gaps) == sorted(gaps)  # a lower record never waits longer
        weights = [12] * 21 + [3]  # records per level
        mean = sum(g * w for g, w in zip(gaps, weights)) / 255
        p = span / 256
        assert abs(mean - (1 - p) / p) <= 0.15 + 0.03 * (1 - p) / p, span  # the mean: (1-p)/p
    with pytest.raises(InvalidArgument, match=r"16\.\.256"):
        walk_gaps(15)


def test_from_walk_reads_a_density_then_one_record_per_byte() -> None:
    """Record r > 0: gap level (r - 1) // 12, choice 1 + (r - 1) % 12; record 0: none."""
    assert SchedulePlan.from_walk(b"") == SchedulePlan()
    assert SchedulePlan.from_walk(b"\xff") == SchedulePlan()  # a density, no records
    dense = SchedulePlan.from_walk(bytes([255, 1, 0, 13, 255]))
    assert dense == plan((0, 1), (0, 1), (0, 3))
    sparse = SchedulePlan.from_walk(bytes([0, 1, 12, 13, 255]))  # span 16: p = 1/16
    assert sparse == plan((0, 1), (0, 12), (1, 1), (walk_gaps(16)[21], 3))
    assert sparse.cycle_from is None


@given(st.binary(min_size=1, max_size=40), st.integers(0, 39))
def test_a_zeroed_record_deletes_one_deviation_and_keeps_the_rest(data: bytes, i: int) -> None:
    """What Hypothesis's shrinker does to a walk: zeroing a byte removes that one switch, and
    the later ones keep their gaps and choices (they move earlier)."""
    walk = SchedulePlan.from_walk(data)
    assert len(walk.deviations) == sum(1 for r in data[1:] if r)
    if 1 <= i < len(data) and data[i]:
        zeroed = data[:i] + b"\x00" + data[i + 1:]
        k = sum(1 for r in data[1:i] if r)
        deviations = list(walk.deviations)
        del deviations[k]
        assert SchedulePlan.from_walk(zeroed).deviations == tuple(deviations)


def test_a_walk_switches_at_about_its_density() -> None:
    """At span / 256 = 1/2, about half of the choice points a walk covers switch."""
    rng = random.Random(0)
    switched = covered = 0
    for _ in range(300):
        oracle = ScheduleOracle(SchedulePlan.from_walk(bytes([63]) + rng.randbytes(WALK_SWITCHES)))
        while not oracle.exhausted:
            switched += oracle.choose_actor(2) != 0
            covered += 1
    assert 0.45 < switched / covered < 0.55
    always = ScheduleOracle(SchedulePlan.from_walk(bytes([255]) + bytes(range(1, 33))))
    assert [always.choose_actor(3) for _ in range(33)] == [1, 2] * 16 + [0]


def test_schedules_are_plans_and_walks() -> None:
    """Three schedules in four are walks; ``walk=0`` keeps to deviation plans."""
    shapes: Counter[str] = Counter()

    @settings(max_examples=400, database=None, derandomize=True)
    @given(schedules(), schedules(walk=0))
    def draw(mixed: ScheduleOracle, plans_only: ScheduleOracle) -> None:
        shapes[mixed.shape] += 1
        assert plans_only.shape == "plan"

    draw()
    assert set(shapes) == {"plan", "walk"}
    assert 0.6 < shapes["walk"] / sum(shapes.values()) < 0.9


def test_plan_text_and_validation() -> None:
    assert str(SchedulePlan()) == "default"
    assert str(plan((2, 1), (2, 1), (4, 1), cycle_from=1)) == "2:1, (2:1, 4:1)*"
    assert repr(ScheduleOracle(plan((2, 1)))) == "schedule(2:1)"
    with pytest.raises(InvalidArgument, match="gap >= 0 and choice >= 1"):
        plan((0, 0))
    with pytest.raises(InvalidArgument, match="cycle_from=1"):
        plan((0, 1), cycle_from=1)
    with pytest.raises(InvalidArgument, match="max_deviations"):
        schedules(max_deviations=-1)
    with pytest.raises(InvalidArgument, match="walk must be a non-negative int, got True"):
        schedules(walk=True)


def test_oracle_answers_zero_except_at_deviations_modulo_the_others() -> None:
    """After ``gap`` zeros the deviation's choice, taken modulo the other enabled actors."""
    oracle = ScheduleOracle(plan((2, 1), (0, 3), (1, 2)))
    assert not oracle.exhausted
    answers = [oracle.choose_actor(3) for _ in range(8)]
    # 0 0 then 1; then 3 -> 1 + 2 % 2 = 1; then one 0 and 2; then the default for ever
    assert answers == [0, 0, 1, 1, 0, 2, 0, 0]
    assert oracle.exhausted


def test_a_plan_drives_a_run_and_can_be_run_again() -> None:
    """The oracle restarts for every run it serves: the same plan, the same run."""
    oracle = ScheduleOracle(plan((2, 1)))
    first = sf.run("demo.abba", oracle=oracle)
    second = sf.run("demo.abba", oracle=oracle)
    assert first.kind == second.kind == "deadlock"
    assert first.schedule.decisions == second.schedule.decisions == (0, 0, 1, 0, 0)
    assert first.result.trace.lines() == second.result.trace.lines()
    assert sf.run("demo.abba", oracle=ScheduleOracle(SchedulePlan())).kind == "ok"


def starving_spin() -> None:
    """A spinner that always yields, and a setter it waits for: fine under any fair schedule."""
    box = {"flag": False}

    def spinner() -> None:
        while not box["flag"]:
            checkpoint("spin", yield_=True)

    def setter() -> None:
        checkpoint("set")
        box["flag"] = True

    spawn(spinner, name="spinner")
    spawn(setter, name="setter")


def test_a_cycle_stops_after_its_limit_so_starvation_is_no_verdict() -> None:
    """``(0:1)*`` always reruns the spinner that yielded, starving the setter; after
    ``2 * lasso_after + 4 * period + 256`` choice points the default policy takes over."""
    outcome = sf.run(starving_spin, oracle=ScheduleOracle(plan((0, 1), cycle_from=0)))
    assert outcome.kind == "ok"
    limit = 2 * 200 + 4 * 1 + 256
    decisions = outcome.result.decisions
    assert decisions[:limit] == [1] * limit
    assert all(d == 0 for d in decisions[limit:])


def test_a_cycle_sustains_an_adversarial_livelock() -> None:
    """Switching at every step keeps the polite pair backing off until the lasso is seen."""
    outcome = sf.run("demo.polite-livelock", oracle=ScheduleOracle(plan((0, 1), cycle_from=0)))
    assert outcome.kind == "livelock"
    assert outcome.result.lasso is not None
    finite = sf.run("demo.polite-livelock", oracle=ScheduleOracle(plan(*[(0, 1)] * 6)))
    assert finite.kind == "ok"  # the fair default policy that follows lets one of them through


# These two keep the default database (no database=None): HypoFuzz fuzzes only tests that use
# it, since its corpus and the failures it finds live there.
@settings(max_examples=60)
@given(schedules())
def test_schedules_drive_an_ordinary_given_test(oracle: ScheduleOracle) -> None:
    """The documented use: every schedule of the spin-wait demo passes."""
    assert sf.run("demo.spin-wait", oracle=oracle).kind == "ok"


@settings(max_examples=20)
@given(schedules(max_deviations=0, walk=0))
def test_zero_deviations_is_the_default_schedule(oracle: ScheduleOracle) -> None:
    assert oracle.plan == SchedulePlan()


def test_same_bytes_same_run_in_any_process() -> None:
    """Decoding is integer arithmetic: another process and hash seed give the same trace."""
    code = (
        "import hashlib, schedfuzz as sf\n"
        "from schedfuzz.strategies import ScheduleOracle, SchedulePlan\n"
        "p = SchedulePlan.from_bytes(bytes(range(90, 103)))\n"
        "o = sf.run('demo.polite-livelock', oracle=ScheduleOracle(p))\n"
        "print(hashlib.sha256('\\n'.join(o.result.trace.lines()).encode()).hexdigest())\n"
        "w = SchedulePlan.from_walk(bytes(range(150, 183)))\n"
        "o = sf.run('demo.lost-update', oracle=ScheduleOracle(w), n=3)\n"
        "print(hashlib.sha256('\\n'.join(o.result.trace.lines()).encode()).hexdigest())\n"
    )
    digests = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1
