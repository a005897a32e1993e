"""The command line: exit codes 0/1/2, JSON output, and one-line errors without tracebacks."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schedfuzz
from schedfuzz import RandomOracle, corpus
from schedfuzz.cli import _parse_params, _Ticker, main
from schedfuzz.cli.common import BadInput, check_save_dir
from schedfuzz.explore import ENGINES, PROGRESS, Budget, Report, register_engine
from schedfuzz.scenario import ScenarioInfo
from schedfuzz.settings import Settings

REPORT_KEYS = {"scenario", "engine", "verdict", "schedules", "seconds", "schedules_per_second",
               "preemptions", "steps", "schedule", "saved"}


@pytest.fixture
def engine() -> Iterator[str]:
    """A small engine for these tests: seeded random walks, the first failure as found."""

    @register_engine("cli-fake")
    def fake(info: ScenarioInfo, params: dict[str, Any], settings: Settings,
             budget: Budget) -> Report:
        report = Report(info, params, "cli-fake")
        for i in range(budget.max_schedules):
            outcome = schedfuzz.run(info, oracle=RandomOracle(budget.seed + i), settings=settings,
                                    **params)
            report.schedules = i + 1
            if outcome.failed:
                report.outcome, report.verdict = outcome, outcome.kind
                report.first_failure = (i + 1, 0.0)
                break
        return report

    yield "cli-fake"
    del ENGINES["cli-fake"]


def one_error_line(err: str) -> str:
    """Bad input: exactly one line on stderr, and no traceback."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# -- explore --------------------------------------------------------------------------------------

def test_explore_failure_exits_1_and_prints_the_trace(
        engine: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A failure found: exit 1, the explanation with its replay line, a summary."""
    assert main(["explore", "demo.abba", "--engine", engine, "--max-schedules", "50"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("Deadlock: ")
    assert "replay: schedfuzz replay-one demo.abba --schedule sf1." in out
    assert out.splitlines()[-1].startswith("demo.abba: deadlock found by cli-fake (")


def test_explore_nothing_found_exits_0(engine: str, capsys: pytest.CaptureFixture[str]) -> None:
    """No failure within the budget: exit 0, and the summary says so."""
    assert main(["explore", "demo.spin-wait", "--engine", engine, "--max-schedules", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("demo.spin-wait: no failure in 5 schedules within the budget")


def test_explore_json_is_one_object(engine: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints exactly one JSON object with the report keys and the saved file."""
    code = main(["explore", "demo.lost-update", "-p", "n=3", "--engine", engine, "--seed", "1",
                 "--json", "--save", str(tmp_path)])
    assert code == 1
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1
    report = json.loads(out)
    assert set(report) >= REPORT_KEYS
    assert report["verdict"] == "failure"
    assert report["params"] == {"n": 3}
    saved = Path(report["saved"])
    assert saved.parent == tmp_path
    entry = corpus.load(saved)
    assert entry.params == {"n": 3}
    assert schedfuzz.Schedule(entry.decisions, entry.cycle_start).encode() == report["schedule"]


def test_explore_json_when_nothing_found(engine: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON of a clean search has verdict ok and no schedule."""
    assert main(["explore", "demo.spin-wait", "--engine", engine, "--max-schedules", "3",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "ok"
    assert report["schedule"] is None
    assert report["schedules"] == 3


def test_explore_with_the_random_engine(capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped random engine goes through the same contract."""
    pytest.importorskip("schedfuzz.engines.random_walk")
    assert main(["explore", "demo.abba", "--engine", "random", "--max-schedules", "200",
                 "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == "deadlock"


@schedfuzz.scenario("test.cli.no-actor")
def no_actor() -> None:
    """A scenario that forgot to spawn its actors."""


@schedfuzz.scenario("test.cli.broken-setup")
def broken_setup() -> None:
    """A scenario whose own code fails before it spawns anything."""
    raise TypeError("a bug in the scenario's own setup")


@pytest.mark.parametrize(("argv", "message"), [
    (["explore", "demo.nope"], r"^schedfuzz explore: unknown scenario 'demo.nope'"),
    (["explore", "demo.lost-updat"],
     r"^schedfuzz explore: unknown scenario 'demo.lost-updat'; did you mean 'demo.lost-update'\?$"),
    (["explore", "nowhere.module:fn"], r"^schedfuzz explore: unknown scenario 'nowhere"),
    (["explore", "demo.abba", "--engine", "nope"], r"unknown engine 'nope'; use one of "),
    (["explore", "demo.abba", "-p", "x=1"], r"scenario 'demo.abba' has no parameter 'x'"),
    (["explore", "demo.abba", "-p", "x"], r"-p 'x': expected NAME=VALUE"),
    (["explore", "demo.lost-update", "-p", "n=1", "-p", "n=2"], r"-p n: parameter given twice"),
    (["explore", "demo.abba", "--max-schedules", "x"],
     r"argument --max-schedules: expected an int of at least 1, got 'x' "
     r"\(see schedfuzz explore --help\)$"),
    (["explore", "demo.abba", "--max-schedules", "-1", "--engine", "random"],
     r"argument --max-schedules: expected an int of at least 1, got '-1'"),
    (["explore", "demo.abba", "--max-preemptions", "2"],
     r"--max-preemptions is for the dfs engine's search, not the hypothesis engine's"),
    (["explore", "demo.abba", "--workers", "2"],
     r"Budget.workers=2: the hypothesis engine runs in one process \(engines that split "
     r"among workers: dfs, pct, random\)"),
    (["explore"], r"the following arguments are required: SCENARIO"),
    (["frobnicate"], r"^schedfuzz: argument COMMAND: invalid choice: 'frobnicate'"),
    ([], r"the following arguments are required: COMMAND"),
    (["replay-one", "demo.abba", "--schedule", "xyz"], r"a schedule starts with 'sf1.'"),
    (["replay-one", "demo.abba", "--schedule", "sf1.AQEFAA"],
     r"replay diverged at choice point 0: decision 5 but only 2 actors are enabled"),
    # A value of another type than the default's would break the scenario's own setup (and
    # look like a bug of the program under test): it is refused before any run.
    (["replay-one", "demo.lost-update", "-p", "n=abc", "--schedule", "sf1.AQAA"],
     r"^schedfuzz replay-one: scenario 'demo.lost-update': parameter n takes int values like "
     r"its default \d+, got 'abc'$"),
    (["explore", "thp.upstream.c17", "-p", "actors=5"],
     r"parameter actors takes str values like its default 'all', got 5$"),
    (["explore", "thp.upstream.c17", "-p", "dirty=1"],
     r"parameter dirty takes bool values like its default True, got 1$"),
    (["explore", "demo.abba", "--workers", "0", "--engine", "random"],
     r"argument --workers: expected an int of at least 1, got '0'"),
    (["explore", "demo.abba", "--max-schedules", "0"],
     r"argument --max-schedules: expected an int of at least 1, got '0'"),
    # A bug in the scenario's own setup, not in the program it runs: one line too.
    (["replay-one", "test.cli.broken-setup", "--schedule", "sf1.AQAA"],
     r"^schedfuzz replay-one: TypeError: a bug in the scenario's own setup "
     r"\(--traceback shows where\)$"),
    *[(["explore", "test.cli.no-actor", "--engine", engine],
       r"^schedfuzz explore: scenario 'no_actor' spawned no actor$")
      for engine in ("hypothesis", "random", "dfs")],
])
def test_bad_input_exits_2_with_one_line(argv: list[str], message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Bad input of every kind: exit 2, one line on stderr, nothing on stdout."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.search(message, one_error_line(captured.err)), captured.err


def test_save_into_a_file_is_refused_before_the_search(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_dir = tmp_path / "corpus"
    not_a_dir.write_text("")
    replay = ["replay-one", "demo.abba", "--schedule", "sf1.AQAA"]
    for command in (["explore", "demo.abba"], replay):
        assert main([*command, "--save", str(not_a_dir)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""  # nothing ran
        assert one_error_line(captured.err).endswith(f"--save {not_a_dir}: not a directory")


def test_save_under_a_file_is_refused_and_a_new_folder_is_fine(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(BadInput, match=f"--save {afile}/sub: {afile} is not a writable directory"):
        check_save_dir(str(afile / "sub"))
    check_save_dir(str(tmp_path / "new" / "corpus"))  # created when a reproducer is saved
    assert not (tmp_path / "new").exists()


def test_a_failed_save_still_shows_the_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The search's result comes first; the save error follows on one line, exit 2."""
    def full_disk(*args: Any, **kwargs: Any) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(corpus, "save", full_disk)
    code = main(["explore", "demo.abba", "--save", str(tmp_path / "corpus")])
    captured = capsys.readouterr()
    assert code == 2
    assert "demo.abba: deadlock found by hypothesis" in captured.out
    assert "replay: schedfuzz replay-one demo.abba" in captured.out
    assert one_error_line(captured.err) == (
        f"schedfuzz explore: --save {tmp_path / 'corpus'}: No space left on device")


def test_explore_dfs_proves_up_to_the_preemption_bound(capsys: pytest.CaptureFixture[str]) -> None:
    """--max-preemptions K: every schedule with at most K preemptions, however many that takes
    (no --max-schedules), and the summary says it is a proof up to that bound."""
    assert main(["explore", "demo.spin-wait", "--engine", "dfs", "--max-preemptions", "1"]) == 0
    out = capsys.readouterr().out
    assert "up to the preemption bound" in out
    assert "verified: no failure with at most 1 preemption" in out


RUNS_BEFORE_CTRL_C = [0]


@schedfuzz.scenario("test.cli.ctrl-c", expect="ok")
def ctrl_c_on_the_fifth_run() -> None:
    """Two clean actors; on the fifth run one of them is where the user's Ctrl-C lands."""
    RUNS_BEFORE_CTRL_C[0] += 1
    interrupt = RUNS_BEFORE_CTRL_C[0] == 5

    def worker() -> None:
        schedfuzz.checkpoint("work")
        if interrupt:
            raise KeyboardInterrupt
        schedfuzz.checkpoint("work")

    schedfuzz.spawn(worker, name="a")
    schedfuzz.spawn(worker, name="b")


@pytest.mark.parametrize("engine", ["dfs", "random", "hypothesis"])
def test_ctrl_c_inside_an_actor_stops_the_search_with_one_line(
        engine: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Not a failure of the program: exit 130, one line, nothing reported or saved."""
    RUNS_BEFORE_CTRL_C[0] = 0
    code = main(["explore", "test.cli.ctrl-c", "--engine", engine, "--max-schedules", "50"])
    out, err = capsys.readouterr()
    assert code == 130
    # How far it got: the counts the progress ticker shows (4 runs done, the 5th interrupted).
    expected = {"dfs": "level 1, runs 5, states 9", "random": "schedules 4",
                "hypothesis": "schedules 4"}[engine]
    assert one_error_line(err) == f"schedfuzz explore: interrupted after {expected}"
    assert out == ""
    assert RUNS_BEFORE_CTRL_C[0] == 5  # stopped at once


def test_traceback_option_shows_unexpected_errors() -> None:
    """--traceback lets an unexpected error through with its traceback."""
    with pytest.raises(TypeError, match="a bug in the scenario's own setup"):
        main(["replay-one", "test.cli.broken-setup", "--schedule", "sf1.AQAA", "--traceback"])


def test_params_are_literals_or_strings() -> None:
    """-p values parse as Python literals, else as plain strings."""
    assert _parse_params(["n=2", "v=buggy", "t=(1, 'a')", "s='x y'", "e=", "b=True"]) == {
        "n": 2, "v": "buggy", "t": (1, "a"), "s": "x y", "e": "", "b": True}


# -- replay, replay-one ---------------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path: Path) -> list[Path]:
    """A corpus folder holding two reproducers."""
    out = []
    for name in ("demo.abba", "demo.lost-update"):
        for seed in range(100):
            outcome = schedfuzz.run(name, oracle=RandomOracle(seed))
            if outcome.failed:
                out.append(corpus.save(outcome, tmp_path / "corpus"))
                break
    assert len(out) == 2
    return out


def test_replay_all_reproduced_exits_0(saved: list[Path],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Every file gives its verdict: exit 0, each verdict and trace printed, then a tally."""
    assert main(["replay", str(saved[0].parent)]) == 0
    out = capsys.readouterr().out
    assert f"ok   {saved[0]}: reproduced deadlock in 6 steps" in out
    assert "step  one" in out  # the trace table
    assert out.splitlines()[-1] == "2 of 2 corpus files gave their expected verdict"


def test_replay_differs_exits_1_with_diff(saved: list[Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A file whose verdict no longer comes back: exit 1 and the first differing step."""
    data = json.loads(saved[0].read_text())
    saved[0].write_text(json.dumps({**data, "verdict": "ok", "error": "",
                                    "trace": [*data["trace"][:3], "    3 two: other"]}))
    assert main(["replay", "-q", *map(str, saved)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {saved[0]}: expected ok, got deadlock" in out
    assert "trace differs from the recording first at step 3:" in out
    assert f"ok   {saved[1]}: reproduced failure (AssertionError)" in out


def test_replay_unreadable_exits_2_and_runs_the_others(
        saved: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A corrupt file: one line on stderr, exit 2, and the other files still replay."""
    bad = saved[0].parent / "broken.json"
    bad.write_text('{"format": "schedfuzz-corpus", "version": 1}')
    assert main(["replay", "-q", str(saved[0].parent)]) == 2
    captured = capsys.readouterr()
    assert one_error_line(captured.err) == (
        f"schedfuzz replay: {bad}: field 'scenario': missing")
    assert captured.out.count("ok   ") == 2


def test_replay_json(saved: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    """--json: one object with a row per file and the counts."""
    (saved[0].parent / "broken.json").write_text("{")
    assert main(["replay", "--json", str(saved[0].parent)]) == 2
    report = json.loads(capsys.readouterr().out)
    assert (report["reproduced"], report["differs"], report["error"]) == (2, 0, 1)
    assert [row["status"] for row in report["files"]] == ["error", "reproduced", "reproduced"]
    assert report["files"][1]["trace_matches"] is True


def test_replay_strict_and_update(saved: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A trace-only change passes, fails with --strict, and --update re-records it."""
    data = json.loads(saved[0].read_text())
    saved[0].write_text(json.dumps({**data, "trace": [*data["trace"][:-1], "    5 x: y"]}))
    assert main(["replay", "-q", str(saved[0])]) == 0
    assert main(["replay", "-q", "--strict", str(saved[0])]) == 1
    assert main(["replay", "-q", "--strict", "--update", str(saved[0])]) == 1
    assert "updated: " in capsys.readouterr().out
    assert main(["replay", "-q", "--strict", str(saved[0].parent)]) == 0


def test_replay_one_prints_the_explanation(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """replay-one replays a schedule: exit 1 for a failure, and can save it to the corpus."""
    code = main(["replay-one", "demo.lost-update", "-p", "n=2", "--schedule", "sf1.AQUBAAEAAAA",
                 "--save", str(tmp_path)])
    assert code == 1
    out = capsys.readouterr().out
    assert out.startswith("AssertionError: counter is 1, expected 2")
    [path] = tmp_path.iterdir()
    assert out.splitlines()[-1] == f"saved: {path}"
    assert corpus.replay_entry(corpus.load(path)).exact


def test_replay_one_ok_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    """A schedule that runs clean exits 0; --json carries the verdict and the trace."""
    assert main(["replay-one", "demo.lost-update", "--schedule", "sf1.AQAA", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "ok"
    assert result["error"] is None
    assert result["trace"][0] == "    0 inc0: start"


# -- list ---------------------------------------------------------------------------------------

def test_list_shows_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    """list: one line per scenario with parameters, expected verdict and description."""
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    [abba] = [line for line in lines if line.startswith("demo.abba ")]
    assert abba.split() == ["demo.abba", "deadlock", "Two", "actors", "take", "two", "locks",
                            "in", "opposite", "orders."]
    assert any(line.startswith("demo.lost-update (n=2) ") for line in lines)


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    """list --json: an array of scenarios with name, ref, expect, params, description."""
    assert main(["list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["demo.lost-update"] == {
        "name": "demo.lost-update", "ref": "schedfuzz.examples:lost_update",
        "expect": "failure", "params": {"n": 2},
        "description": schedfuzz.registry()["demo.lost-update"].description}


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--help is not an error."""
    assert main(["explore", "--help"]) == 0
    assert "--max-schedules N" in capsys.readouterr().out


# -- progress -----------------------------------------------------------------------------------

class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_ticker_writes_elapsed_time_on_a_terminal_and_erases_it() -> None:
    """On a terminal the ticker shows the clock after its delay, and cleans up at the end."""
    PROGRESS.clear()
    stream = _Tty()
    with _Ticker(stream, "exploring x", 5.0, delay=0.0, period=0.01):
        time.sleep(0.2)
    text = stream.getvalue()
    assert "\rexploring x: 0s of 5s ..." in text
    assert text.endswith("\r" + " " * len("\rexploring x: 0s of 5s ...") + "\r")


def test_ticker_shows_what_the_search_has_done() -> None:
    """The counts an engine keeps in ``explore.PROGRESS`` appear after the clock."""
    PROGRESS.clear()
    PROGRESS.update(level=1, runs=1234, states=56789)
    stream = _Tty()
    try:
        with _Ticker(stream, "exploring x", None, delay=0.0, period=0.01):
            time.sleep(0.1)
    finally:
        PROGRESS.clear()
    assert "\rexploring x: 0s, level 1, runs 1,234, states 56,789 ..." in stream.getvalue()


def test_dfs_keeps_its_progress_counts() -> None:
    report = schedfuzz.explore.explore("demo.spin-wait", engine_name="dfs",
                                       budget=Budget(max_schedules=50, max_preemptions=1))
    assert PROGRESS["runs"] == report.schedules
    assert PROGRESS["level"] == 1


def test_ticker_is_silent_off_a_terminal() -> None:
    """Piped stderr (CI logs) gets no progress noise."""
    stream = io.StringIO()
    with _Ticker(stream, "exploring x", None, delay=0.0, period=0.01):
        time.sleep(0.05)
    assert stream.getvalue() == ""


# -- the console script ---------------------------------------------------------------------------

def test_console_script(saved: list[Path]) -> None:
    """The installed `schedfuzz` command: exit codes and one-line errors, out of process."""
    exe = shutil.which("schedfuzz")
    cmd = [exe] if exe else [sys.executable, "-m", "schedfuzz.cli"]
    done = subprocess.run([*cmd, "replay", "--json", str(saved[0].parent)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["reproduced"] == 2
    done = subprocess.run([*cmd, "explore", "demo.nope"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert one_error_line(done.stderr).startswith("schedfuzz explore: unknown scenario 'demo.nope'")


def test_console_script_finds_scenarios_in_the_working_directory(tmp_path: Path) -> None:
    """`schedfuzz replay-one module:function` imports the module from the current directory."""
    (tmp_path / "local_scenario.py").write_text(textwrap.dedent("""
        from schedfuzz import Lock, spawn

        def abba():
            a, b = Lock("A"), Lock("B")
            def one():
                with a, b:
                    pass
            def two():
                with b, a:
                    pass
            spawn(one, name="one")
            spawn(two, name="two")
    """))
    exe = shutil.which("schedfuzz")
    cmd = [exe] if exe else [sys.executable, "-m", "schedfuzz.cli"]
    schedule = schedfuzz.Schedule((1, 0, 1, 0, 0)).encode()
    done = subprocess.run([*cmd, "replay-one", "local_scenario:abba", "--schedule", schedule],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("Deadlock: ")
