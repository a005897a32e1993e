"""A scenario that depends on what the scheduler does not decide is refused, not "proved".

The exhaustive search replays recorded decisions and trusts them to lead where they led before;
a scenario that reads a random number, the clock or state an earlier run left behind breaks
that, and a search over it would prove nothing. Every replay checks it meets its branching point
as recorded (step, enabled actors, a digest of the steps before), as shuttle's
uncontrolled-nondeterminism scheduler does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import schedfuzz as sf
from schedfuzz.explore import Budget, explore
from schedfuzz.search.digest import StepDigest

_RUNS = [0]  # what one run leaves to the next: the hidden input of the scenarios below


def _worker(lock: sf.Lock, extra: bool) -> None:
    if extra:
        sf.checkpoint("extra")
    with lock:
        sf.checkpoint("work")


def every_other_run_takes_an_extra_step() -> None:
    _RUNS[0] += 1
    lock = sf.Lock("l")
    extra = _RUNS[0] % 2 == 1
    sf.spawn(_worker, lock, extra, name="a")
    sf.spawn(_worker, lock, extra, name="b")


def later_runs_have_a_third_actor() -> None:
    _RUNS[0] += 1
    lock = sf.Lock("l")
    for name in "abc"[: 2 if _RUNS[0] == 1 else 3]:
        sf.spawn(_worker, lock, False, name=name)


def deterministic_twin() -> None:
    lock = sf.Lock("l")
    sf.spawn(_worker, lock, True, name="a")
    sf.spawn(_worker, lock, True, name="b")


HOW = ("Its actors depend on something the scheduler does not decide (random numbers, the "
       "clock, set or id() order, state left by an earlier run), so no search over its "
       "schedules proves anything")


@pytest.mark.parametrize(("scenario", "what"), [
    (every_other_run_takes_an_extra_step,
     "after the same 2 decisions, the 2 steps before choice point 2 differ from those of the "
     "run that found it (other actors or operations)"),
    (later_runs_have_a_third_actor,
     "after the same 0 decisions, choice point 0 came at step 0 with 3 actors enabled, where "
     "the run that found it had step 0 and 2"),
])
def test_dfs_refuses_a_scenario_whose_replay_goes_elsewhere(scenario: object, what: str) -> None:
    _RUNS[0] = 0
    with pytest.raises(sf.ReplayDiverged) as excinfo:
        explore(scenario, engine_name="dfs", budget=Budget(max_schedules=100))  # type: ignore[arg-type]
    message = str(excinfo.value)
    name = f"{__name__}:{scenario.__name__}"  # type: ignore[attr-defined]
    assert message.startswith(f"{name} is not deterministic: {what}. {HOW}")
    # and it says how to see the two runs
    assert message.endswith(f"(`schedfuzz replay-one {name} --schedule "
                            f"{sf.Schedule([0] * (2 if 'extra' in name else 0)).encode()}`, "
                            "run twice, shows two traces)")


def test_the_same_scenario_without_the_hidden_input_is_searched_to_the_end() -> None:
    report = explore(deterministic_twin, engine_name="dfs", budget=Budget(max_schedules=1000))
    assert report.verdict == "ok"
    assert report.complete


MODULE = """
import schedfuzz as sf

_RUNS = [0]


@sf.scenario("leaky.counter")
def leaky() -> None:
    _RUNS[0] += 1
    lock = sf.Lock("l")

    def worker() -> None:
        if _RUNS[0] % 2:
            sf.checkpoint("extra")
        with lock:
            sf.checkpoint("work")

    sf.spawn(worker, name="a")
    sf.spawn(worker, name="b")


@sf.scenario("tidy.counter")
def tidy() -> None:
    lock = sf.Lock("l")

    def worker() -> None:
        with lock:
            sf.checkpoint("work")

    sf.spawn(worker, name="a")
    sf.spawn(worker, name="b")
"""


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "leakymod.py").write_text(textwrap.dedent(MODULE))
    env = {"PYTHONPATH": str(tmp_path), "PATH": ""}
    return subprocess.run([sys.executable, "-m", "schedfuzz.cli", "explore", *args,
                           "--engine", "dfs", "--workers", "2"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def test_workers_refuse_it_in_one_line_as_one_process_does(tmp_path: Path) -> None:
    out = _cli(tmp_path, "leakymod:leaky")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.splitlines()) == 1, out.stderr
    assert out.stderr.startswith("schedfuzz explore: leaky.counter is not deterministic: after "
                                 "the same ")
    assert "`schedfuzz replay-one leakymod:leaky --schedule sf1." in out.stderr


def test_workers_find_a_scenario_registered_by_the_module_named_on_the_command_line(
        tmp_path: Path) -> None:
    """The workers are fresh processes: they import the module to find the name it registers."""
    out = _cli(tmp_path, "leakymod:tidy", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["scenario"], report["verdict"], report["stats"]["workers"]) == (
        "tidy.counter", "ok", 2)
    assert report["note"].startswith("verified: the whole space explored, no failure and no "
                                     "livelock (2 workers")


def test_the_step_digest_does_not_depend_on_where_a_run_asked_for_it() -> None:
    """An exploring run asks at each branching point, a replay once at its end: they agree;
    a step taken by another actor, or another operation, changes it."""
    rows = [(k % 3, ("start", "acquire", "work", "release")[k % 4], None) for k in range(50)]

    class Asking:  # what StepDigest reads of a runner: the trace rows and the step
        def __init__(self, rows: list[tuple[int, str, None]]) -> None:
            self.trace = type("Trace", (), {"rows": rows})()
            self.step = 0

    def digest(rows: list[tuple[int, str, None]], asked_at: list[int]) -> int:
        asking, steps = Asking(rows), StepDigest()
        for asking.step in [*asked_at, len(rows)]:
            value = steps.at(asking)  # type: ignore[arg-type]
        return value

    whole = digest(rows, [])
    assert digest(rows, list(range(50))) == digest(rows, [3, 17, 18, 40]) == whole
    assert digest([*rows[:30], (2, rows[30][1], None), *rows[31:]], [10]) != whole
    assert digest([*rows[:30], (rows[30][0], "extra", None), *rows[31:]], [10]) != whole
    assert digest(rows[:49], []) != whole


def fails_on_odd_runs() -> None:
    _RUNS[0] += 1
    odd = _RUNS[0] % 2 == 1

    def actor() -> None:
        sf.checkpoint("look")
        assert not odd, "an odd run"

    sf.spawn(actor, name="a")
    sf.spawn(actor, name="b")


@pytest.mark.parametrize("engine", ["random", "pct", "hypothesis"])
def test_every_engine_refuses_a_failure_its_replay_does_not_give_again(engine: str) -> None:
    """The sampling engines and Hypothesis replay what they found before they shrink it: a
    failure that does not come back is the same error as a dfs replay going elsewhere."""
    _RUNS[0] = 0
    with pytest.raises(sf.ReplayDiverged) as excinfo:
        explore(fails_on_odd_runs, engine_name=engine, budget=Budget(max_schedules=50))
    message = str(excinfo.value)
    assert message.startswith(f"{__name__}:fails_on_odd_runs is not deterministic: ")
    assert f". {HOW}: make that part deterministic" in message
