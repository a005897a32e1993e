"""Budgets do what they say: ``seconds`` bounds the whole exploration (search and shrinking),
a time limit alone lifts the schedule count, run limits make shrinking machine-independent, and
every numeric option refuses nan, infinities, zero and negatives the same way.

The time tests run on a fake clock (``schedfuzz._core.clock.source``) that advances a fixed
tick per run: "seconds" then count work, so the tests pin exact behaviour on any machine.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
import schedfuzz as sf
from schedfuzz import checkpoint, spawn
from schedfuzz._core import clock
from schedfuzz._core.runner import Runner
from schedfuzz.cli import main
from schedfuzz.errors import InvalidArgument
from schedfuzz.explore import DEFAULT_MAX_SCHEDULES, UNLIMITED, Budget, explore


class WorkClock:
    """A clock that advances ``tick`` seconds per run of any scenario, and counts the runs."""

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self.runs = 0

    def now(self) -> float:
        return 1000.0 + self.runs * self.tick


@pytest.fixture
def work_clock(monkeypatch: pytest.MonkeyPatch) -> WorkClock:
    fake = WorkClock(tick=0.001)
    real_run = Runner.run

    def counted(runner: Runner) -> Any:
        fake.runs += 1
        return real_run(runner)

    monkeypatch.setattr(Runner, "run", counted)
    monkeypatch.setattr(clock, "source", fake.now)
    return fake


@sf.scenario("test.budgets.clean")
def clean() -> None:
    """Two increments under a lock: never fails, and has choice points."""
    lock = sf.Lock("lock")
    box = {"n": 0}

    def add() -> None:
        with lock:
            value = box["n"]
            checkpoint("write")
            box["n"] = value + 1

    spawn(add, name="a")
    spawn(add, name="b")


# -- what a time limit bounds -------------------------------------------------------------------

def test_a_budget_without_limits_runs_the_default_count_and_a_time_limit_lifts_it() -> None:
    assert Budget().max_schedules == DEFAULT_MAX_SCHEDULES
    assert Budget(seconds=5).max_schedules == UNLIMITED
    assert Budget(seconds=5, max_schedules=20).max_schedules == 20


@pytest.mark.parametrize("engine", ["random", "pct", "hypothesis"])
def test_seconds_alone_searches_past_the_default_count_until_the_time_is_up(
        work_clock: WorkClock, engine: str) -> None:
    """``seconds=1.5`` at a millisecond per run: 1,500 schedules, past the 1,000 that a budget
    without a time limit runs, and the report says the time stopped it."""
    report = explore("test.budgets.clean", engine_name=engine, budget=Budget(seconds=1.5))
    assert report.verdict == "ok"
    assert report.stopped_by == "seconds"
    assert DEFAULT_MAX_SCHEDULES < report.schedules <= 1500
    assert work_clock.runs <= 1500 + 10  # a few calibration runs (pct) at most


def test_the_cli_seconds_option_searches_past_the_default_count(
        work_clock: WorkClock, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "test.budgets.clean", "--engine", "random", "--seconds", "2",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stopped_by"] == "seconds"
    assert DEFAULT_MAX_SCHEDULES < report["schedules"] <= 2000


@pytest.mark.parametrize("engine", ["random", "hypothesis"])
def test_seconds_bounds_shrinking_too(work_clock: WorkClock, engine: str) -> None:
    """A failure whose shrinking takes hundreds of runs, under a budget of 60 runs' time: the
    whole exploration, search and shrinking, ends within a few runs of the deadline (the replay
    that rebuilds the failure, the final run), and shrinking says it was cut short."""
    work_clock.tick = 0.05
    report = explore("thp.splitwait.set1", engine_name=engine,
                     budget=Budget(seconds=3.0, seed=0))
    assert report.failed
    assert work_clock.runs <= 3.0 / work_clock.tick + 4
    timed_out = report.stats.get("shrink_timed_out")
    assert timed_out is True or "time limit" in report.note, report.note


def test_shrink_seconds_alone_still_bounds_shrinking_without_a_time_limit(
        work_clock: WorkClock) -> None:
    work_clock.tick = 0.05
    report = explore("thp.splitwait.set1", engine_name="random",
                     budget=Budget(shrink_seconds=2.0, seed=0))
    assert report.failed
    assert report.stats["shrink_timed_out"] is True
    assert report.stats["shrink_runs"] <= 2.0 / work_clock.tick + 1


# -- run limits: the same shrunk failure on every machine --------------------------------------

def test_shrink_runs_bounds_shrinking_by_runs() -> None:
    """Shrinking bounded by runs stops at the same place whatever the clock says."""
    budget = Budget(max_schedules=50, seed=0, shrink_seconds=3600, shrink_runs=40)
    first, second = (explore("thp.splitwait.set1", engine_name="random", budget=budget)
                     for _ in range(2))
    assert first.failed
    assert first.stats["shrink_runs"] <= 40
    assert first.outcome is not None
    assert second.outcome is not None
    assert first.outcome.schedule == second.outcome.schedule


# -- refusing bad numbers ----------------------------------------------------------------------

@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0, 0.0, -1])
def test_budget_refuses_a_time_limit_that_is_not_positive_and_finite(value: float) -> None:
    with pytest.raises(InvalidArgument, match=r"^Budget\.seconds must be a positive finite "
                                              rf"number of seconds, got {re.escape(repr(value))}$"):
        Budget(seconds=value)


@pytest.mark.parametrize("field", ["shrink_seconds", "checkpoint_every"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -1])
def test_budget_refuses_other_bad_times_and_takes_zero(field: str, value: float) -> None:
    with pytest.raises(InvalidArgument, match=rf"^Budget\.{field} must be a non-negative "
                                              rf"finite number of seconds, got "):
        Budget(**{field: value})
    assert getattr(Budget(**{field: 0}), field) == 0  # no shrinking; save after every run


@pytest.mark.parametrize(("field", "value"), [
    ("max_schedules", 0), ("max_schedules", 1.5), ("max_schedules", True), ("workers", 0),
    ("seed", -1), ("max_preemptions", -1), ("shrink_runs", -1)])
def test_budget_refuses_a_bad_count(field: str, value: object) -> None:
    with pytest.raises(InvalidArgument, match=rf"^Budget\.{field} must be an int of at least"):
        Budget(**{field: value})


NUMERIC_OPTIONS = {
    "--seconds": ["nan", "inf", "-inf", "0", "-1", "x"],
    "--checkpoint-every": ["nan", "inf", "-1"],
    "--max-schedules": ["0", "-1", "1.5", "nan"],
    "--workers": ["0", "-1", "nan"],
    "--seed": ["-1", "nan"],
    "--max-preemptions": ["-1", "inf"],
}


@pytest.mark.parametrize(("option", "value"), [
    (option, value) for option, values in NUMERIC_OPTIONS.items() for value in values])
def test_every_numeric_option_refuses_a_bad_number_with_one_line(
        option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "test.budgets.clean", "--engine", "dfs", f"{option}={value}"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"schedfuzz explore: argument {option}: expected ")
    assert f"got {value!r}" in lines[0]


def test_help_shows_every_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--engine", "--max-schedules", "--seconds", "--seed", "--workers",
                   "--max-preemptions", "--checkpoint", "--checkpoint-every"):
        after = text.split(f" {option} ", 1)[1].split(" --", 1)[0]  # its help, to the next one
        assert "(default: " in after or "default: " in after, (option, after)
    assert "default: 1000 without --seconds, no limit with it" in text
    assert "the whole command" in text
