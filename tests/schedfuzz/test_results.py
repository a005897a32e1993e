"""Typed results: a step bound is its own verdict, and a report says what it proved as data.

Every engine fills ``Report.proof``, ``proof_bound``, ``livelocks_checked``, ``stopped_by``,
``inexact`` and ``livelock_proved`` the same way (``explore.conclude``); ``--json`` carries them
and the text summary words them. These tests pin each field for the searches that set it.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import schedfuzz as sf
from schedfuzz import AtomicInt, Lock, Settings, snapshot, spawn
from schedfuzz.cli import main
from schedfuzz.explore import Budget, Report, explore
from schedfuzz.search import dfs

ENGINES = ["hypothesis", "random", "pct", "dfs"]
SMALL = Settings(max_steps=2000)


@sf.scenario("test.results.long-loop", settings=SMALL)
def long_loop() -> None:
    """One actor, a loop that ends after 100,000 steps: far past ``max_steps``."""
    counter = AtomicInt(0)

    def count() -> None:
        for _ in range(100_000):
            counter.add(1)

    spawn(count, name="counter")


@sf.scenario("test.results.locked-pair", expect="ok")
def locked_pair(rounds: int = 2) -> None:
    """Two actors add under a lock: clean, with a small state space."""
    lock = Lock()
    state = {"n": 0}

    def add() -> None:
        for _ in range(rounds):
            with lock:
                state["n"] += 1

    spawn(add, name="a")
    spawn(add, name="b")
    snapshot(lambda: state["n"])


@sf.scenario("test.results.uncomparable")
def uncomparable() -> None:
    """Its snapshot holds a real ``threading.Lock``, which the fingerprint cannot compare."""
    lock = Lock()
    state = {"n": 0}
    opaque = threading.Lock()  # never used: only there to be seen

    def add() -> None:
        with lock:
            state["n"] += 1

    spawn(add, name="a")
    spawn(add, name="b")
    snapshot(lambda: (state["n"], opaque))


def _explore(name: str, engine: str, **budget: Any) -> Report:
    return explore(name, engine_name=engine,
                   budget=Budget(**{"max_schedules": 50, "shrink_seconds": 5, **budget}))


# -- step_bound: a verdict of its own, never a livelock ---------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_a_long_terminating_loop_is_a_step_bound_from_every_engine(engine: str) -> None:
    report = _explore("test.results.long-loop", engine)
    assert report.verdict == "step_bound"
    assert report.outcome is not None
    error = report.outcome.error
    assert isinstance(error, sf.StepBound)
    assert not isinstance(error, sf.Livelock)
    assert "bound, not a proof" in str(error)
    assert "Settings.max_steps" in str(error)
    assert (report.proof, report.stopped_by, report.livelock_proved) == ("none", "failure", None)
    data = report.to_json()
    assert data["verdict"] == "step_bound"
    # Only the field names speak of livelocks: no value calls this run one.
    values = json.dumps({k: v for k, v in data.items() if not k.startswith("livelock")})
    assert "livelock" not in values


def test_step_bound_message_says_how_to_go_further() -> None:
    outcome = sf.run("test.results.long-loop")
    assert outcome.kind == "step_bound"
    assert outcome.livelock_proved is None
    message = str(outcome.error)
    assert message.startswith("StepBound (a bound, not a proof): 2000 steps")
    for advice in ("raise Settings.max_steps", "progress()", "snapshot()"):
        assert advice in message


def test_step_bound_json_from_the_cli_exits_1_and_says_step_bound(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explore", "test.results.long-loop", "--engine", "random",
                 "--max-schedules", "5", "--json"])
    assert code == 1
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "step_bound"
    assert data["livelock_proved"] is None
    assert data["proof"] == "none"


def test_step_bound_text_summary_says_bound_not_proof(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "test.results.long-loop", "--engine", "dfs",
                 "--max-schedules", "5"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("StepBound (a bound, not a proof)")
    last = out.splitlines()[-1]
    assert last.startswith("test.results.long-loop: step_bound found by dfs (")
    assert "step bound: a bound, not a proof" in last
    assert "verified" not in last


def test_a_scenario_may_expect_a_step_bound() -> None:
    sf.scenario("test.results.expects-bound", expect="step_bound")(long_loop)
    assert sf.resolve("test.results.expects-bound").expect == "step_bound"


# -- Livelock.proved ------------------------------------------------------------------------

def test_livelock_proved_defaults_to_having_a_lasso_and_can_be_denied() -> None:
    assert sf.Livelock("cycle", lasso=(1, 5)).proved
    assert not sf.Livelock("pumped cycle").proved
    assert not sf.Livelock("pumped cycle", lasso=(1, 5), proved=False).proved
    assert sf.StepBound("cut").kind == "step_bound"
    assert not issubclass(sf.StepBound, sf.Livelock)


@pytest.mark.parametrize("engine", ["dfs", "random"])
def test_a_proved_lasso_reports_livelock_proved(engine: str) -> None:
    report = _explore("demo.self-retry", engine)
    assert report.verdict == "livelock"
    assert report.outcome is not None
    assert report.outcome.livelock_proved is True
    assert report.livelock_proved is True
    assert report.to_json()["livelock_proved"] is True
    assert report.stopped_by == "failure"
    assert report.proof == "none"


# -- proofs -------------------------------------------------------------------------------------

def test_a_finished_stateful_dfs_is_a_complete_proof() -> None:
    report = _explore("test.results.locked-pair", "dfs", max_schedules=10_000)
    assert report.verdict == "ok"
    assert (report.proof, report.proof_bound, report.stopped_by) == ("complete", None,
                                                                     "exhausted")
    assert report.complete
    assert report.livelocks_checked
    assert report.inexact == ()
    assert report.note.startswith("verified: complete state space")
    data = report.to_json()
    assert (data["proof"], data["proof_bound"], data["stopped_by"], data["livelocks_checked"],
            data["inexact"], data["complete"]) == ("complete", None, "exhausted", True, [], True)


def test_a_dfs_cut_at_max_preemptions_is_a_bounded_proof() -> None:
    report = _explore("test.results.locked-pair", "dfs", max_schedules=10_000,
                      max_preemptions=1)
    assert (report.proof, report.proof_bound, report.stopped_by) == ("bounded", 1,
                                                                     "max_preemptions")
    assert not report.complete
    assert report.livelocks_checked  # a stateful search looked for cycles among its states
    assert report.note.startswith("verified: no failure with at most 1 preemption")


def test_a_stateless_bounded_proof_says_livelocks_were_not_checked() -> None:
    info = sf.resolve("test.results.locked-pair")
    report = dfs.search(info, {}, Settings(), Budget(max_schedules=10_000), stateful=False,
                        max_preemptions=1)
    assert (report.proof, report.proof_bound) == ("bounded", 1)
    assert not report.livelocks_checked
    assert "livelocks not checked" in report.note
    assert report.to_json()["livelocks_checked"] is False


def test_a_dfs_stopped_by_its_schedule_budget_says_so() -> None:
    report = _explore("test.results.locked-pair", "dfs", max_schedules=3)
    assert report.stopped_by == "max_schedules"
    assert report.proof in ("bounded", "none")
    assert not report.complete


def test_random_without_a_failure_is_a_sample_not_a_proof(
        capsys: pytest.CaptureFixture[str]) -> None:
    report = _explore("test.results.locked-pair", "random", max_schedules=20)
    assert (report.proof, report.proof_bound, report.stopped_by) == ("sampled", None,
                                                                     "max_schedules")
    assert not report.livelocks_checked
    assert not report.complete
    assert main(["explore", "test.results.locked-pair", "--engine", "random",
                 "--max-schedules", "20"]) == 0
    out = capsys.readouterr().out
    assert "proof: sampled (not a proof), stopped by max_schedules" in out
    assert "verified" not in out


def test_hypothesis_without_a_failure_is_a_sample() -> None:
    report = _explore("test.results.locked-pair", "hypothesis", max_schedules=20)
    assert report.proof == "sampled"
    assert report.stopped_by in ("max_schedules", "no_new_schedules")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_failure_stops_the_search_and_proves_nothing(engine: str) -> None:
    report = _explore("demo.lost-update", engine)
    assert report.verdict == "failure"
    assert (report.proof, report.proof_bound, report.stopped_by) == ("none", None, "failure")
    assert report.livelock_proved is None
    assert not report.livelocks_checked


def test_the_json_and_the_text_carry_the_same_fields(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["explore", "test.results.locked-pair", "--engine", "dfs", "--max-preemptions", "1"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["proof"], data["proof_bound"], data["stopped_by"]) == ("bounded", 1,
                                                                        "max_preemptions")
    assert main(args) == 0
    text = capsys.readouterr().out
    assert ("proof: bounded (at most 1 preemption), livelocks checked, stopped by "
            "max_preemptions") in text


def test_a_search_that_met_uncomparable_state_claims_no_complete_proof() -> None:
    """Every run of this small space ends, so the search finishes; but its states hold a
    lock object, which the fingerprint cannot compare: no complete state space, no livelock
    check, and the report names what it met."""
    report = _explore("test.results.uncomparable", "dfs", max_schedules=10_000)
    assert report.verdict == "ok"
    assert report.inexact, "the lock in the snapshot was not reported"
    assert any("_thread.lock" in what for what in report.inexact)
    assert (report.proof, report.stopped_by) == ("bounded", "exhausted")
    assert not report.complete
    assert not report.livelocks_checked
    assert "verified: complete" not in report.note
    assert "_thread.lock" in report.note
    assert report.to_json()["inexact"] == list(report.inexact)


def test_worker_processes_fill_the_same_fields() -> None:
    sampled = _explore("demo.spin-wait", "random", max_schedules=40, workers=2)
    assert (sampled.proof, sampled.stopped_by) == ("sampled", "max_schedules")
    bounded = _explore("demo.spin-wait", "dfs", max_schedules=10_000, max_preemptions=1,
                       workers=2)
    assert (bounded.proof, bounded.proof_bound) == ("bounded", 1)
    found = _explore("demo.lost-update", "random", workers=2)
    assert (found.proof, found.stopped_by) == ("none", "failure")
