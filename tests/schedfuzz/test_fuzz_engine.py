"""The `hypothesis` engine: budget, report, several failures, nondeterministic scenarios."""

from __future__ import annotations

import itertools

import pytest
import schedfuzz as sf
from schedfuzz import Deadlock, Lock, ReplayDiverged, spawn
from schedfuzz._core import clock
from schedfuzz.engines.hypothesis import hypothesis_engine
from schedfuzz.explore import Budget, engine, explore

# Shrinking a long failure is bounded by runs, which decide; its seconds are a safety net that
# never binds, so the reduced schedule does not depend on the machine's speed.
SHRINK_RUNS = 4000


def test_engine_is_registered_and_reports_a_shrunk_replayable_failure() -> None:
    assert engine("hypothesis").fn is hypothesis_engine
    report = explore("demo.abba", engine_name="hypothesis", budget=Budget(max_schedules=1000))
    assert report.verdict == "deadlock"
    assert report.failed
    assert report.first_failure is not None
    assert report.schedules == report.first_failure[0]
    assert report.outcome is not None
    assert report.outcome.schedule.decisions == (0, 0, 1, 0, 0)
    assert "minimal: 1 deviation" in report.note
    data = report.to_json()
    assert data["engine"] == "hypothesis"
    assert data["preemptions"] == 1
    with pytest.raises(Deadlock):
        sf.replay("demo.abba", data["schedule"])


def test_engine_is_deterministic_for_a_seed() -> None:
    budget = Budget(max_schedules=1000, seed=7)
    first, second = (explore("demo.lost-update", engine_name="hypothesis", budget=budget)
                     for _ in range(2))
    assert first.schedules == second.schedules
    assert first.outcome is not None
    assert second.outcome is not None
    assert first.outcome.schedule == second.outcome.schedule


def test_engine_stops_at_the_time_limit_with_nothing_found(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On a clock that advances 10 ms a reading (one per schedule), 0.3 s is 30 schedules."""
    readings = itertools.count()
    monkeypatch.setattr(clock, "source", lambda: next(readings) * 0.01)
    report = explore("demo.spin-wait", engine_name="hypothesis",
                     budget=Budget(max_schedules=10**6, seconds=0.3))
    assert report.verdict == "ok"
    assert not report.failed
    assert report.note.startswith("time limit (0.3s) reached after ")
    assert report.stopped_by == "seconds"
    assert 20 <= report.schedules <= 30


def test_engine_keeps_the_best_failure_when_shrinking_is_cut_short() -> None:
    report = explore("demo.abba", engine_name="hypothesis",
                     budget=Budget(max_schedules=1000, shrink_seconds=0))
    assert report.verdict == "deadlock"
    assert report.stats["shrink_timed_out"] is True
    assert report.stats["minimal_verified"] is False
    assert "stopped by the shrink time limit" in report.note
    assert "minimality not checked" in report.note


def two_bugs() -> None:
    """An actor's own error with no preemption, and a deadlock with one."""
    a, b = Lock("a"), Lock("b")
    started: list[str] = []

    def one() -> None:
        started.append("one")
        with a, b:
            pass

    def two() -> None:
        if not started:
            raise ValueError("two started before one")
        with b, a:
            pass

    spawn(one, name="one")
    spawn(two, name="two")


def test_engine_reports_the_failure_with_fewest_preemptions_and_names_the_others() -> None:
    report = explore(two_bugs, engine_name="hypothesis", budget=Budget(max_schedules=1000))
    assert report.outcome is not None
    assert isinstance(report.outcome.error, ValueError)
    assert report.outcome.result.preemptions == 0
    assert report.stats["distinct_failures"] == 2
    assert "also found: deadlock (Deadlock, 1 preemption)" in report.note


def test_engine_finds_the_hybrid_lock_lost_wakeup_by_a_walk_and_reduces_it() -> None:
    """The killed waiter of ``thp.pagelock.hybrid-kill`` must leave the wait loop between the
    unlocker's wake-up walk and its own ``finish_wait``, with the killer run at its moment: a
    handful of well-placed switches that deviation plans alone never drew in 22,000 schedules.
    A walk finds it in a few hundred; Hypothesis shrinks the walk to a handful of switches and
    ``minimal.reduce`` gets it to 2 preemptions, the least any schedule needs (the ``dfs``
    engine proves that: no failure with 1)."""
    report = explore("thp.pagelock.hybrid-kill", engine_name="hypothesis",
                     budget=Budget(max_schedules=3000, seed=0, shrink_seconds=3600,
                                   shrink_runs=SHRINK_RUNS))
    assert report.verdict == "missed_wakeup"
    assert report.first_failure is not None
    assert report.first_failure[0] <= 3000
    assert report.stats["found_by"] == "walk"
    assert report.stats["hypothesis_preemptions"] >= 2
    assert report.stats["minimal_verified"] is True
    outcome = report.outcome
    assert outcome is not None
    assert isinstance(outcome.error, sf.MissedWakeup)
    assert outcome.result.preemptions == 2
    with pytest.raises(sf.MissedWakeup):
        sf.replay("thp.pagelock.hybrid-kill", outcome.schedule.encode())


def test_a_scenario_without_choice_points_is_explored_completely() -> None:
    report = explore("demo.bounded-loop", engine_name="hypothesis",
                     budget=Budget(max_schedules=300), iterations=50)
    assert report.verdict == "ok"
    assert report.complete
    assert report.schedules == 1


_calls = {"n": 0}


def flaky_scenario() -> None:
    """Fails on its runs 3 to 10 only, whatever the schedule: state the scheduler cannot see."""
    _calls["n"] += 1
    fail = 3 <= _calls["n"] <= 10

    def actor() -> None:
        if fail:
            raise RuntimeError("flaky")

    spawn(actor, name="a")
    spawn(actor, name="b")


def test_a_nondeterministic_scenario_is_an_error_not_a_verdict() -> None:
    _calls["n"] = 0
    with pytest.raises(ReplayDiverged, match=r"flaky_scenario is not deterministic: "):
        explore(flaky_scenario, engine_name="hypothesis", budget=Budget(max_schedules=100))
