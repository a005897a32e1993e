"""A corpus file is data: a bad or hostile one is refused in one line and runs nothing.

Every bad file gives exit 2 from ``schedfuzz replay`` with one line naming the file (and the
field), no traceback, and the good file sorted after it still replays. A ``ref`` may only name a
registered scenario, and a module is imported only when the user allows it: ``"os:system"`` runs
no command, and a module that calls ``sys.exit(0)`` on import ends nothing but its own file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

import pytest
import schedfuzz
from schedfuzz import RandomOracle, Settings, corpus
from schedfuzz.cli import main
from schedfuzz.corpus.format import MAX_FILE_BYTES

CLI = Path(sys.executable).with_name("schedfuzz")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A corpus folder holding one good reproducer, named to sort after every bad file."""
    for seed in range(100):
        outcome = schedfuzz.run("demo.abba", oracle=RandomOracle(seed))
        if outcome.failed:
            corpus.save(outcome, tmp_path / "corpus", name="z-good.json")
            return tmp_path / "corpus"
    raise AssertionError("no deadlock of demo.abba in 100 seeds")


def good_data(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "z-good.json").read_text())
    return data


def replay(folder: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["replay", "-q", *args, str(folder)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_bad_file(code: int, out: str, err: str, path: Path, message: str) -> None:
    """Exit 2; stderr is exactly one line naming ``path`` and matching ``message``; the good
    file after it reproduced; nothing anywhere looks like a traceback."""
    assert code == 2, (out, err)
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"schedfuzz replay: {path}: "), lines[0]
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in out + err
    assert f"ok   {path.parent / 'z-good.json'}: reproduced deadlock" in out, out
    assert out.splitlines()[-1] == "1 of 2 corpus files gave their expected verdict"


def _with(**changes: Any) -> Callable[[dict[str, Any]], str]:
    return lambda data: json.dumps({**data, **changes})


def _raw(field: str, text: str) -> Callable[[dict[str, Any]], str]:
    """Set ``field`` to ``text`` as written, which ``json.dumps`` could not write."""
    return lambda data: json.dumps({**data, field: "@@"}).replace('"@@"', text, 1)


BAD: list[tuple[str, Callable[[dict[str, Any]], str | bytes], str]] = [
    ("nested 100,000 deep", lambda data: "[" * 100_000 + "]" * 100_000,
     r": nested deeper than 16 levels$"),
    ("nested deep in a field", lambda data: json.dumps(data)[:-1] + ', "x": '
     + "[" * 100_000 + "]" * 100_000 + "}", r": nested deeper than 16 levels$"),
    ("5,000-digit integer", _raw("steps", "7" * 5000),
     r"field 'steps': an integer of 5000 digits; the limit is 40$"),
    ("5,000-digit parameter", _raw("params", '{"n": ' + "1" * 5000 + "}"),
     r"field 'params.n': an integer of 5000 digits"),
    ("huge file", lambda data: json.dumps(data)[:-1] + ', "pad": "' + "x" * MAX_FILE_BYTES + '"}',
     rf"a-bad\.json: {MAX_FILE_BYTES + 1:,} bytes or more; a corpus file holds at most "
     rf"{MAX_FILE_BYTES:,}$"),
    ("invalid UTF-8", lambda data: json.dumps(data).encode()[:-1] + b', "x": "\xc3\x28"}',
     r": not UTF-8 text \(invalid continuation byte at byte \d+\)$"),
    ("NaN", _with(settings={"runaway_seconds": float("nan")}),
     r"field 'settings.runaway_seconds': NaN is not a JSON number$"),
    ("Infinity", _with(params={"n": float("inf")}), r"field 'params.n': Infinity is not a JSON"),
    ("1e999", _raw("preemptions", "1e999"),
     r"field 'preemptions': 1e999 is too large for a float$"),
    ("negative decision", _with(decisions=[0, -3]), r"field 'decisions': item 1 is -3"),
    ("huge decision", _with(decisions=[10**30]),
     r"field 'decisions': item 0 is 10{30}; the limit is 9,999$"),
    ("huge width", _with(widths=[2**62]), r"field 'widths': item 0 is \d+; the limit is 10,000$"),
    ("params a list", _with(params=[1, 2]), r"field 'params': expected an object of parameters"),
    ("params a string", _with(params="n=2"), r"field 'params': expected an object"),
    ("scenario a list", _with(scenario=["demo.abba"]), r"field 'scenario': expected a scenario"),
    ("ref a number", _with(ref=7), r"field 'ref': expected 'module:function', got 7$"),
    ("verdict an object", _with(verdict={}), r"field 'verdict': expected a verdict name"),
    ("error a list", _with(error=[]), r"field 'error': expected an exception type name"),
    ("decisions an object", _with(decisions={"0": 1}), r"field 'decisions': expected a list"),
    ("widths a string", _with(widths="2,2"), r"field 'widths': expected a list"),
    ("cycle_start a float", _with(cycle_start=1.5), r"field 'cycle_start': expected null or"),
    ("steps null", _with(steps=None), r"field 'steps': expected an integer, got None$"),
    ("preemptions a float", _with(preemptions=1.0), r"field 'preemptions': expected an integer"),
    ("settings a list", _with(settings=[]), r"field 'settings': expected an object of Settings"),
    ("settings value a string", _with(settings={"max_steps": "50"}),
     r"field 'settings.max_steps': expected an integer up to 10,000,000"),
    ("settings max_steps huge", _with(settings={"max_steps": 10**15}),
     r"field 'settings.max_steps': expected an integer up to 10,000,000"),
    ("trace a string", _with(trace="x"), r"field 'trace': expected a list of trace lines"),
    ("trace line a number", _with(trace=[1]), r"field 'trace': item 0 is 1; expected a string"),
    ("trace_lines a string", _with(trace_lines="6"), r"field 'trace_lines': expected an integer"),
    ("trace_sha256 a number", _with(trace_sha256=5), r"field 'trace_sha256': expected a SHA-256"),
    ("proved a string", _with(verdict="livelock", error="Livelock", proved="yes"),
     r"field 'proved': a livelock says whether it is proved: expected true or false, got 'yes'$"),
    ("lone surrogate", _with(trace=["\ud800"]),
     r"field 'trace': item 0: a string holding the lone surrogate '\\ud800'$"),
    ("deep $repr literal", _with(params={"n": {"$repr": "(" * 100_000}}),
     r"field 'params.n': .* is not a Python literal$"),
    ("huge $repr integer", _with(params={"n": {"$repr": "9" * 5000}}),
     r"field 'params.n': .* is not a Python literal$"),
    ("a JSON array", lambda data: "[]", r": expected a JSON object, got an array$"),
    ("not a corpus file", lambda data: '{"text": "tokens"}',
     r"field 'format': expected 'schedfuzz-corpus', got None; not a schedfuzz corpus file$"),
]


@pytest.mark.parametrize(("what", "content", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_file_exits_2_in_one_line_and_the_next_file_still_runs(
        folder: Path, capsys: pytest.CaptureFixture[str], what: str,
        content: Callable[[dict[str, Any]], str | bytes], message: str) -> None:
    """Each kind of bad content: exit 2, one line naming the file and the field, no traceback,
    and the good file sorted after it still replays."""
    text = content(good_data(folder))
    path = folder / "a-bad.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    assert_one_bad_file(*replay(folder, capsys), path, message)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_not_read(
        folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A FIFO named like a corpus file would block a read forever: refused unread."""
    pipe = folder / "a-pipe.json"
    os.mkfifo(pipe)
    code = main(["replay", "-q", str(pipe), str(folder / "z-good.json")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == f"schedfuzz replay: {pipe}: not a regular file\n"
    assert "z-good.json: reproduced deadlock" in captured.out


# -- a ref names only registered scenarios, and imports only what the user allows -----------------

def test_os_system_is_refused_before_anything_is_called(
        folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """"os:system" with a command: refused on the ref, and the command never ran."""
    marker = tmp_path / "ran"
    path = folder / "a-system.json"
    path.write_text(json.dumps({**good_data(folder), "scenario": "os:system", "ref": "os:system",
                                "params": {"command": f"touch {marker}"}}))
    assert_one_bad_file(*replay(folder, capsys), path,
                        r"field 'ref': 'os:system' is not a registered scenario \(os\.system "
                        r"does not carry the @schedfuzz\.scenario marker\)$")
    assert not marker.exists()


def test_plain_python_function_is_refused(
        folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A function of an imported module without the scenario marker is not a scenario either."""
    victim = tmp_path / "victim"
    victim.mkdir()
    path = folder / "a-rmtree.json"
    path.write_text(json.dumps({**good_data(folder), "scenario": "rm", "ref": "shutil:rmtree",
                                "params": {"path": str(victim)}}))
    assert shutil.rmtree  # imported: only the marker keeps it out
    assert_one_bad_file(*replay(folder, capsys), path,
                        r"field 'ref': 'shutil:rmtree' is not a registered scenario "
                        r"\(shutil\.rmtree does not carry the @schedfuzz\.scenario marker\); "
                        r"nor is the name 'rm'$")
    assert victim.is_dir()


def test_module_not_imported_is_not_imported(
        folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A ref to a module nobody imported or allowed: refused with the way to allow it, and the
    module's code never ran."""
    marker = tmp_path / "imported"
    (tmp_path / "safety_sideeffect.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = folder / "a-import.json"
    path.write_text(json.dumps({**good_data(folder), "scenario": "s",
                                "ref": "safety_sideeffect:scenario"}))
    assert_one_bad_file(*replay(folder, capsys), path,
                        r"field 'ref': 'safety_sideeffect:scenario' is not a registered scenario "
                        r"\(module 'safety_sideeffect' is not imported, and importing it would "
                        r"run it; to allow that, pass --allow-import safety_sideeffect .*\)")
    assert not marker.exists()
    assert "safety_sideeffect" not in sys.modules


@pytest.mark.parametrize(("name", "body", "raised"), [
    ("safety_exit", "import sys\nsys.exit(0)\n", "SystemExit: 0"),
    ("safety_interrupt", "raise KeyboardInterrupt\n", "KeyboardInterrupt"),
    ("safety_broken", "raise ImportError('no such thing')\n", "ImportError: no such thing"),
])
def test_allowed_module_whose_import_escapes_is_that_files_error(
        folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, name: str, body: str, raised: str) -> None:
    """An allowed module that calls sys.exit(0) (or raises anything) on import: exit 2 naming
    the file and the field, and the files after it still run."""
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = folder / "a-exit.json"
    path.write_text(json.dumps({**good_data(folder), "scenario": "s", "ref": f"{name}:fn"}))
    assert_one_bad_file(*replay(folder, capsys, "--allow-import", name), path,
                        rf"field 'ref': '{name}:fn' is not a registered scenario \(importing "
                        rf"module '{name}' raised {raised}\); nor is the name 's'$")


USER_MODULE = textwrap.dedent("""
    import schedfuzz
    from schedfuzz.examples import abba_deadlock

    @schedfuzz.scenario("user.abba")
    def abba():
        abba_deadlock()

    def unmarked():
        abba_deadlock()
""")


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), "replay", "-q", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


def test_a_fresh_process_refuses_every_bad_file_and_runs_the_good_one(
        folder: Path, tmp_path: Path) -> None:
    """End to end with the console script: os:system, a module calling sys.exit(0), a file
    nested 100,000 deep, a foreign ref; each exit-2 line names its file, nothing ran, and the
    good file still replays. A scenario the user's module registers replays once the user
    allows the module, and not before; an unmarked function of it never does."""
    marker, imported = tmp_path / "ran", tmp_path / "imported"
    data = good_data(folder)
    (tmp_path / "quitter.py").write_text(f"open({str(imported)!r}, 'w').close()\n"
                                         "import sys\nsys.exit(0)\n")
    (tmp_path / "usermod.py").write_text(USER_MODULE)
    bad = {
        "a-system.json": {**data, "scenario": "os:system", "ref": "os:system",
                          "params": {"command": f"touch {marker}"}},
        "b-quit.json": {**data, "scenario": "q", "ref": "quitter:fn"},
        "c-unmarked.json": {**data, "scenario": "u", "ref": "usermod:unmarked"},
    }
    for name, content in bad.items():
        (folder / name).write_text(json.dumps(content))
    (folder / "d-deep.json").write_text('{"a": ' * 100_000 + "1" + "}" * 100_000)
    (folder / "y-user.json").write_text(json.dumps({**data, "scenario": "user.abba",
                                                    "ref": "usermod:abba"}))
    done = _cli(tmp_path, "corpus")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not marker.exists()
    assert not imported.exists()
    errors = done.stderr.splitlines()
    assert [line.split(": ")[1] for line in errors] == [
        "corpus/a-system.json", "corpus/b-quit.json", "corpus/c-unmarked.json",
        "corpus/d-deep.json", "corpus/y-user.json"]
    assert "field 'ref': 'quitter:fn' is not a registered scenario (module 'quitter' is not " \
           "imported" in errors[1]
    assert errors[3].endswith("corpus/d-deep.json: nested deeper than 16 levels")
    assert done.stdout.splitlines()[-1] == "1 of 6 corpus files gave their expected verdict"

    done = _cli(tmp_path, "--allow-import", "usermod", "--allow-import", "quitter", "corpus")
    assert done.returncode == 2
    assert imported.exists()  # allowed: the user asked for quitter to be imported
    assert not marker.exists()
    errors = done.stderr.splitlines()
    assert len(errors) == 4
    assert "importing module 'quitter' raised SystemExit: 0" in errors[1]
    assert "usermod.unmarked does not carry the @schedfuzz.scenario marker" in errors[2]
    assert "ok   corpus/y-user.json: reproduced deadlock" in done.stdout
    assert done.stdout.splitlines()[-1] == "2 of 6 corpus files gave their expected verdict"


# -- verdicts that claim no proof ----------------------------------------------------------------

def long_loop() -> None:
    """A loop that ends, but after more steps than the run allows: a step bound."""
    def count() -> None:
        for i in range(100_000):
            schedfuzz.checkpoint("tick", i=i)

    schedfuzz.spawn(count, name="counter")
    schedfuzz.spawn(schedfuzz.checkpoint, "other", name="other")


def test_step_bound_round_trips_and_says_bound_not_proof(tmp_path: Path) -> None:
    """A step bound is saved as verdict step_bound with no proof claim, and its replay says
    it is a bound, not a proof."""
    outcome = schedfuzz.run(long_loop, settings=Settings(max_steps=300))
    assert outcome.kind == "step_bound"
    path = corpus.save(outcome, tmp_path)
    data = json.loads(path.read_text())
    assert (data["version"], data["verdict"], data["error"], data["proved"]) == (
        2, "step_bound", "StepBound", None)
    replayed = corpus.replay_entry(corpus.load(path))
    assert replayed.reproduced
    assert replayed.summary().startswith(
        f"{path}: reproduced step bound (bound, not proof) in 30")


def test_livelock_records_proved_and_an_unproved_one_says_candidate(tmp_path: Path) -> None:
    """A proved lasso is saved with proved true; an entry recording an unproved candidate loads
    as such, says "livelock candidate (unproved)", and a replay that proves more or less than
    the recording is not the same verdict."""
    outcome = schedfuzz.run("demo.self-retry")
    path = corpus.save(outcome, tmp_path)
    assert json.loads(path.read_text())["proved"] is True
    entry = corpus.load(path)
    assert entry.proved is True
    replayed = corpus.replay_entry(entry)
    assert replayed.reproduced
    assert replayed.summary() == f"{path}: reproduced livelock in {outcome.result.steps} steps"

    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "proved": False}))
    candidate = corpus.load(path)
    assert candidate.proved is False
    again = corpus.replay_entry(candidate)
    assert not again.reproduced
    assert again.summary() == (f"{path}: expected livelock candidate (unproved), got livelock")
    as_recorded = attrs.evolve(again, proved=False)
    assert as_recorded.reproduced
    assert as_recorded.summary() == (
        f"{path}: reproduced livelock candidate (unproved) in {outcome.result.steps} steps")


def test_version_1_files_still_read(tmp_path: Path) -> None:
    """Version 1: a livelock with a cycle is a proved lasso, one without is the step bound that
    version 1 called a livelock; other verdicts are as they were."""
    lasso = corpus.save(schedfuzz.run("demo.self-retry"), tmp_path)
    data = json.loads(lasso.read_text())
    del data["proved"]
    lasso.write_text(json.dumps({**data, "version": 1}))
    assert (corpus.load(lasso).verdict, corpus.load(lasso).proved) == ("livelock", True)
    assert corpus.replay_entry(corpus.load(lasso)).reproduced

    bound = corpus.save(schedfuzz.run(long_loop, settings=Settings(max_steps=300)), tmp_path)
    data = json.loads(bound.read_text())
    del data["proved"]
    bound.write_text(json.dumps({**data, "version": 1, "verdict": "livelock",
                                 "error": "Livelock"}))
    entry = corpus.load(bound)
    assert (entry.verdict, entry.error, entry.proved) == ("step_bound", "StepBound", None)
    assert corpus.replay_entry(entry).reproduced


def test_the_shipped_corpus_still_replays() -> None:
    """The repository's own corpus/ folder (version 1 files) replays, every file reproduced."""
    folder = Path(__file__).resolve().parents[2] / "corpus"
    results = list(corpus.replay_all([folder]))
    assert len(results) >= 20
    assert all(isinstance(r, corpus.Replayed) and r.reproduced for _, r in results), [
        str(r) if not isinstance(r, corpus.Replayed) else r.summary() for _, r in results]


def test_saved_files_are_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """save() writes a sibling temporary file, fsyncs it, then os.replace()s it into place."""
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace",
                        lambda src, dst: (calls.append(f"replace {Path(src).parent == tmp_path}"),
                                          real_replace(src, dst))[1])
    corpus.save(schedfuzz.run("demo.abba"), tmp_path)
    assert calls == ["fsync", "replace True"]
