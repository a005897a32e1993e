"""The @fuzz decorator: a plain Hypothesis test over a scenario's schedules."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hypothesis import given, seed, settings
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase
from hypothesis.errors import Unsatisfiable

import pytest
import schedfuzz as sf
from schedfuzz import Deadlock, InvalidArgument, Livelock
from schedfuzz import fuzz as fuzz_module
from schedfuzz.engines.hypothesis import _Search
from schedfuzz.explore import Budget
from schedfuzz.fuzz import check, fuzz, preemption_bucket
from schedfuzz.scenario import resolve
from schedfuzz.settings import Settings
from schedfuzz.strategies import Deviation, ScheduleOracle, SchedulePlan, schedules

QUICK = settings(max_examples=200, database=None, derandomize=True)


def test_fuzz_finds_and_shrinks_a_deadlock_with_its_trace() -> None:
    """The failure is the verdict's own type, shrunk to one preemption, trace in the notes."""

    @QUICK
    @fuzz("demo.abba")
    def test_abba() -> None:
        """Two locks in opposite orders."""

    assert test_abba.__name__ == "test_abba"
    assert test_abba.__doc__ == "Two locks in opposite orders."
    with pytest.raises(Deadlock) as info:
        test_abba()
    error = info.value
    assert error.schedule is not None
    assert error.schedule.decisions == (0, 0, 1, 0, 0)
    notes = "\n".join(error.__notes__)
    assert "step  one" in notes
    assert "1 preemption" in notes
    assert "replay: schedfuzz replay-one demo.abba --schedule sf1." in notes
    assert "schedule=schedule(" in notes  # Hypothesis's own line shows the plan, not raw bytes


def test_fuzz_calls_the_function_with_each_outcome() -> None:
    seen: list[str] = []

    @settings(max_examples=30, database=None)
    @fuzz("demo.spin-wait")
    def test_spin(outcome: sf.Outcome) -> None:
        seen.append(outcome.kind)

    test_spin()
    assert seen == ["ok"] * 30


def test_fuzz_checks_its_arguments_when_decorating() -> None:
    with pytest.raises(InvalidArgument, match=r"unknown scenario 'demo\.nope'"):
        fuzz("demo.nope")
    with pytest.raises(InvalidArgument, match="has no parameter 'm'"):
        fuzz("demo.lost-update", m=3)
    with pytest.raises(InvalidArgument, match="takes 2 parameters"):
        fuzz("demo.abba")(lambda a, b: None)


def test_fuzz_passes_scenario_parameters() -> None:
    @QUICK
    @fuzz("demo.lost-update", n=3)
    def test_three() -> None: ...

    with pytest.raises(AssertionError, match=r"counter is \d, expected 3"):
        test_three()


def test_events_name_the_verdict_and_a_preemption_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[str, str]] = []
    monkeypatch.setattr(fuzz_module, "event",
                        lambda name, value: events.append((name, value)))

    @QUICK
    @fuzz("demo.abba")
    def test_abba() -> None: ...

    with pytest.raises(Deadlock):
        test_abba()
    pairs = list(zip(events[::2], events[1::2]))  # one verdict and one bucket per run
    assert all(v[0] == "verdict" and p[0] == "preemptions" for v, p in pairs)
    assert (("verdict", "ok"), ("preemptions", "0")) in pairs  # the default schedule
    deadlocks = [p[1] for v, p in pairs if v[1] == "deadlock"]
    assert deadlocks
    assert "0" not in deadlocks  # no deadlock of demo.abba without a preemption
    assert [preemption_bucket(n) for n in (0, 1, 2, 3, 4, 5, 8, 9, 100)] == [
        "0", "1", "2", "3-4", "3-4", "5-8", "5-8", "9+", "9+"]


def test_a_cycling_schedule_that_fails_otherwise_is_rejected() -> None:
    """Cycles stand for livelocks; a cycling schedule that deadlocks is not a test case."""

    def body_with(plan: SchedulePlan) -> None:
        search = _Search(resolve("demo.abba"), {}, Settings(), Budget())

        @settings(max_examples=1, database=None)
        @given(st.just(plan))
        def probe(plan: SchedulePlan) -> None:
            search.body(ScheduleOracle(plan))

        probe()

    with pytest.raises(Unsatisfiable):  # the only test case was rejected
        body_with(SchedulePlan((Deviation(2, 1),), 0))
    with pytest.raises(Deadlock):
        body_with(SchedulePlan((Deviation(2, 1),)))


def test_the_shrunk_failure_is_saved_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the final replay is saved (this pins Hypothesis's ``is_final``), and replays."""
    from schedfuzz import corpus

    monkeypatch.setenv("SCHEDFUZZ_SAVE_DIR", str(tmp_path))

    @QUICK
    @fuzz("demo.abba")
    def test_abba() -> None: ...

    with pytest.raises(Deadlock) as info:
        test_abba()
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == 1
    assert f"reproducer saved to {files[0]}" in "\n".join(info.value.__notes__)
    entry = corpus.load(files[0])
    assert entry.verdict == "deadlock"
    assert entry.decisions == (0, 0, 1, 0, 0)


def test_is_final_is_known_inside_a_test() -> None:
    seen: list[bool | None] = []

    @settings(max_examples=3, database=None)
    @given(schedules())
    def probe(oracle: ScheduleOracle) -> None:
        seen.append(fuzz_module._is_final())

    probe()
    assert seen == [False] * 3


def test_a_failed_save_is_a_note_not_a_new_error(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SCHEDFUZZ_SAVE_DIR", str(blocker))

    @QUICK
    @fuzz("demo.abba")
    def test_abba() -> None: ...

    with pytest.raises(Deadlock) as info:
        test_abba()
    assert any("could not save the reproducer" in n for n in info.value.__notes__)


def test_environment_sets_max_examples_unless_settings_are_stacked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEDFUZZ_MAX_SCHEDULES", "7")
    runs: list[int] = []

    @fuzz("demo.spin-wait")
    def from_env() -> None:
        runs.append(1)

    @settings(max_examples=4, database=None)
    @fuzz("demo.spin-wait")
    def stacked() -> None:
        runs.append(2)

    from_env()
    stacked()
    assert runs.count(1) == 7
    assert runs.count(2) == 4


def test_environment_seed_makes_the_search_repeatable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEDFUZZ_SEED", "12345")
    searches: list[list[tuple[int, ...]]] = []
    for _ in range(2):
        seen: list[tuple[int, ...]] = []

        @settings(max_examples=25, database=None)
        @fuzz("demo.spin-wait")
        def test_spin(outcome: sf.Outcome, seen: list[tuple[int, ...]] = seen) -> None:
            seen.append(outcome.schedule.decisions)

        test_spin()
        searches.append(seen)
    assert searches[0] == searches[1]
    assert len(set(searches[0])) > 5


class KeyRecorder(ExampleDatabase):
    """An example database that only remembers which keys were written."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: set[bytes] = set()

    def save(self, key: bytes, value: bytes) -> None:
        self.keys.add(key)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return ()

    def delete(self, key: bytes, value: bytes) -> None:
        pass


def test_each_fuzz_test_has_its_own_database_key() -> None:
    """Every @fuzz test shares one body; the extra digest keeps their examples apart."""
    db = KeyRecorder()

    @settings(max_examples=200, database=db)
    @seed(0)
    @fuzz("demo.abba")
    def test_one() -> None: ...

    @settings(max_examples=200, database=db)
    @seed(0)
    @fuzz("demo.abba")
    def test_two() -> None: ...

    for test in (test_one, test_two):
        with pytest.raises(Deadlock):
            test()
    assert len(db.keys) >= 2


def test_check_serves_a_hand_written_given_test() -> None:
    """Schedules combine with other strategies; ``check`` raises the verdict with its trace."""

    @QUICK
    @given(schedules(), st.integers(2, 4))
    def test_counter(oracle: ScheduleOracle, n: int) -> None:
        outcome = sf.run("demo.lost-update", oracle=oracle, n=n)
        check(outcome, oracle)

    with pytest.raises(AssertionError) as info:
        test_counter()
    notes = "\n".join(info.value.__notes__)
    assert "replay: schedfuzz replay-one demo.lost-update -p n=2 --schedule" in notes
    assert "step  inc0" in notes
    assert "6 steps, 1 preemption," in notes  # the final replay shows the smallest failure


def test_the_report_shows_the_smallest_schedule_when_shrinking_stops_short() -> None:
    """Hypothesis's shrinking ends at switching on every step (8 preemptions); the short
    exhaustive check on the final replay shows the 3-preemption lasso instead, and says so.
    (Only a cycling deviation plan, a few in a hundred schedules, can find the livelock.)"""

    @settings(max_examples=4000, database=None, derandomize=True)
    @fuzz("demo.polite-livelock")
    def test_polite() -> None: ...

    with pytest.raises(Livelock) as info:
        test_polite()
    error = info.value
    assert error.schedule is not None
    assert error.schedule.decisions == (0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1)
    assert error.schedule.cycle_start == 3
    notes = "\n".join(error.__notes__)
    assert "schedfuzz: shown is a smaller schedule than the drawn one" in notes
    assert "11 steps, 3 preemptions" in notes
