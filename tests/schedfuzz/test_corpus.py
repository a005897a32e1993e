"""The corpus: saved reproducers round-trip, are written atomically, fail loudly in one line and
replay byte for byte in any process."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import attrs

import pytest
import schedfuzz
from schedfuzz import CorpusError, InvalidArgument, RandomOracle, corpus
from schedfuzz.execute import Outcome

FAILING = ["demo.lost-update", "demo.abba", "demo.condition-missed-wakeup", "demo.event-hang",
           "demo.self-retry"]


@functools.cache
def failing(name: str, **params: Any) -> Outcome:
    """The first failing run of ``name`` under seeded random walks (deterministic)."""
    for seed in range(200):
        outcome = schedfuzz.run(name, oracle=RandomOracle(seed), **params)
        if outcome.failed:
            return outcome
    raise AssertionError(f"no failing schedule of {name} in 200 seeds")


def fragile(boom: bool = False, names: tuple[str, ...] = ("a", "b")) -> None:
    """A scenario whose setup can be made to raise, with a tuple parameter."""
    if boom:
        raise RuntimeError("setup broke")
    for name in names:
        schedfuzz.spawn(schedfuzz.checkpoint, "hello", name=name)


# -- round trip ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FAILING)
def test_save_load_round_trip_and_exact_replay(tmp_path: Path, name: str) -> None:
    """Every verdict kind survives save and load and replays exactly (same verdict and trace)."""
    outcome = failing(name)
    path = corpus.save(outcome, tmp_path)
    entry = corpus.load(path)
    assert attrs.evolve(entry, path=None) == corpus.Entry.from_outcome(outcome)
    assert entry.verdict == outcome.kind != "ok"
    assert entry.decisions == outcome.schedule.decisions
    assert entry.trace == tuple(outcome.result.trace.lines())
    replayed = corpus.replay_entry(entry)
    assert replayed.exact, replayed.report()
    assert replayed.summary() == f"{path}: reproduced {replayed.summary().split('reproduced ')[1]}"


def test_livelock_keeps_its_cycle(tmp_path: Path) -> None:
    """A lasso reproducer stores cycle_start, and replaying it loops the cycle to the verdict."""
    outcome = schedfuzz.run("demo.self-retry")
    assert outcome.kind == "livelock"
    assert outcome.schedule.cycle_start is not None
    entry = corpus.load(corpus.save(outcome, tmp_path))
    assert entry.cycle_start == outcome.schedule.cycle_start
    assert corpus.replay_entry(entry).exact


def test_file_is_readable_json_with_one_line_decisions(tmp_path: Path) -> None:
    """The file is indented JSON; decisions and widths sit on one line each."""
    outcome = failing("demo.abba")
    text = corpus.save(outcome, tmp_path).read_text(encoding="utf-8")
    data = json.loads(text)
    assert list(data)[:3] == ["format", "version", "scenario"]
    assert data["format"] == "schedfuzz-corpus"
    assert data["version"] == 2
    assert data["proved"] is None  # a deadlock: only a livelock is proved or not
    assert data["ref"] == "schedfuzz.examples:abba_deadlock"
    decisions = ", ".join(map(str, outcome.schedule.decisions))
    assert f'  "decisions": [{decisions}],\n' in text
    assert text.endswith("}\n")


def test_stable_name_and_idempotent_save(tmp_path: Path) -> None:
    """The name is <scenario>-<verdict>-<hash>.json; saving twice writes one file."""
    outcome = failing("demo.condition-missed-wakeup")
    first = corpus.save(outcome, tmp_path)
    second = corpus.save(outcome, tmp_path)
    assert first == second
    assert re.fullmatch(r"demo\.condition-missed-wakeup-missed_wakeup-[0-9a-f]{10}\.json",
                        first.name)
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name]
    assert corpus.save(outcome, tmp_path / "sub", name="mine.json") == tmp_path / "sub/mine.json"


def test_different_params_different_files(tmp_path: Path) -> None:
    """The hash covers the parameters: the same decisions with other params are another file."""
    two = corpus.save(failing("demo.lost-update"), tmp_path)
    three = corpus.save(failing("demo.lost-update", n=3), tmp_path)
    assert two != three
    assert corpus.load(three).params == {"n": 3}


def test_non_json_params_round_trip_as_literals(tmp_path: Path) -> None:
    """A tuple parameter is stored as a Python literal and comes back a tuple."""
    outcome = schedfuzz.run(fragile, names=("x", "y", "z"))
    path = corpus.save(outcome, tmp_path)
    assert json.loads(path.read_text())["params"]["names"] == {"$repr": "('x', 'y', 'z')"}
    assert corpus.load(path).params == {"names": ("x", "y", "z")}


def test_unstorable_param_is_refused(tmp_path: Path) -> None:
    """A parameter that is neither JSON nor a literal is refused by name, and nothing is written."""
    outcome = schedfuzz.run(fragile, names=("a",))
    outcome.params["names"] = object()
    with pytest.raises(InvalidArgument, match=r"parameter names=<object .* cannot be saved"):
        corpus.save(outcome, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_long_trace_keeps_its_head_and_a_digest(tmp_path: Path) -> None:
    """A long run stores its first TRACE_KEEP lines plus the whole trace's length and digest,
    which still tell a matching replay from a different one."""
    outcome = schedfuzz.run("demo.bounded-loop", iterations=corpus.TRACE_KEEP + 20)
    lines = outcome.result.trace.lines()
    assert len(lines) > corpus.TRACE_KEEP
    path = corpus.save(outcome, tmp_path)
    data = json.loads(path.read_text())
    assert data["trace"] == lines[:corpus.TRACE_KEEP]
    assert data["trace_lines"] == len(lines)
    assert data["trace_sha256"] == corpus.trace_digest(lines)
    assert corpus.replay_entry(corpus.load(path)).exact
    path.write_text(json.dumps({**data, "trace_sha256": "0" * 64}))
    replayed = corpus.replay_entry(corpus.load(path))
    assert replayed.reproduced
    assert replayed.diff == (
        f"trace differs from the recording after its first {corpus.TRACE_KEEP} lines, which are "
        f"all the file keeps (recorded {len(lines)} lines, replayed {len(lines)})",)


# -- atomic writes -------------------------------------------------------------------------------

def test_save_goes_through_a_temporary_file_in_the_same_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The content is complete in a sibling temp file before one os.replace publishes it."""
    seen: list[tuple[str, str, str]] = []
    real = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append((str(Path(src).parent), Path(src).read_text(), str(dst)))
        real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    path = corpus.save(failing("demo.abba"), tmp_path)
    assert seen == [(str(tmp_path), path.read_text(), str(path))]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_failed_save_leaves_old_file_and_no_litter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the rename fails, the previous file is untouched and the temp file is removed."""
    outcome = failing("demo.abba")
    path = corpus.save(outcome, tmp_path, name="x.json")
    path.write_text("previous content")

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="No space left"):
        corpus.save(outcome, tmp_path, name="x.json")
    assert path.read_text() == "previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


# -- bad input: one line naming the file and the field -------------------------------------------

def _mutated(**changes: Any) -> Any:
    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        for key, value in changes.items():
            if value is KeyError:
                del data[key]
            else:
                data[key] = value
        return data
    return mutate


BAD_FIELDS = [
    (_mutated(format="other"), r"field 'format': expected 'schedfuzz-corpus'"),
    (_mutated(format=KeyError), r"field 'format': .*not a schedfuzz corpus file"),
    (_mutated(version=99), r"field 'version': unknown format version 99; .*reads versions 1, 2"),
    (_mutated(version=True), r"field 'version': unknown format version True"),
    (_mutated(decisions=KeyError), r"field 'decisions': missing$"),
    (_mutated(decisions="1,0"), r"field 'decisions': expected a list of integers >= 0"),
    (_mutated(decisions=[0, -1]), r"field 'decisions': item 1 is -1"),
    (_mutated(decisions=[True]), r"field 'decisions': item 0 is True"),
    (_mutated(decisions=[5], widths=[2]), r"field 'decisions': item 0 is 5 but only 2 actors"),
    (_mutated(decisions=[0, 0], widths=[2]), r"field 'widths': 1 widths for 2 decisions"),
    (_mutated(widths=[1]), r"field 'widths': item 0 is 1; expected an integer >= 2"),
    (_mutated(scenario="demo.nope", ref="nowhere.at_all:fn"),
     r"field 'ref': 'nowhere.at_all:fn' is not a registered scenario \(module 'nowhere.at_all' is "
     r"not imported.*--allow-import nowhere.at_all.*\); nor is the name 'demo.nope'$"),
    (_mutated(scenario="demo.nope", ref=KeyError),
     r"field 'scenario': 'demo.nope' is not a registered scenario, and the file has no 'ref'"),
    (_mutated(scenario="x", ref="os:system"),
     r"field 'ref': 'os:system' is not a registered scenario \(os.system does not carry the "
     r"@schedfuzz.scenario marker\)"),
    (_mutated(scenario="x", ref="os:system;rm"), r"field 'ref': .*expected 'module:function'"),
    (_mutated(scenario="x", ref="schedfuzz.examples:abba_deadlock.__globals__"),
     r"field 'ref': .*never a dunder attribute"),
    (_mutated(preemptions=-1), r"field 'preemptions': -1 is outside 0\.\.10,000,000$"),
    (_mutated(widths=[2, 10**6, 2, 2, 2]), r"field 'widths': item 1 is 1000000; the limit is "),
    (_mutated(proved=True), r"field 'proved': only a livelock is proved or not"),
    (_mutated(verdict="livelock", error="Livelock"),
     r"field 'proved': a livelock says whether it is proved: expected true or false, got None"),
    (_mutated(settings={"max_steps": 10**12}), r"field 'settings.max_steps': expected an integer "
     r"up to 10,000,000 like the default 50000, got 1000000000000$"),
    (_mutated(settings={"detect_livelock": "yes"}),
     r"field 'settings.detect_livelock': expected true or false"),
    (_mutated(params={"n": functools.reduce(lambda inner, _: [inner], range(15), 1)}),
     r"field 'params.n': at \[0\]\[0\].*nested deeper than 16 levels$"),
    (_mutated(scenario=3), r"field 'scenario': expected a scenario name, got 3"),
    (_mutated(params={"zzz": 1}), r"field 'params': scenario 'demo.abba' has no parameter 'zzz'"),
    (_mutated(params={"n": {"$repr": "os.system('x')"}}), r"field 'params.n': .*not a Python"),
    (_mutated(verdict="boom"), r"field 'verdict': 'boom' is not a verdict"),
    (_mutated(cycle_start=99), r"field 'cycle_start': expected null or an integer in 0\.\."),
    (_mutated(steps="6"), r"field 'steps': expected an integer, got '6'"),
    (_mutated(steps=True), r"field 'steps': expected an integer, got True"),
    (_mutated(settings={"max_steps": 0}), r"field 'settings': Settings.max_steps must be"),
    (_mutated(settings={"bogus": 1}), r"field 'settings.bogus': Settings has no field"),
    (_mutated(trace=["ok", 3]), r"field 'trace': item 1 is 3; expected a string"),
    (_mutated(error=None), r"field 'error': expected an exception type name"),
    (_mutated(trace_lines=2), r"field 'trace_lines': 2 is less than the 6 stored lines"),
    (_mutated(trace_lines=KeyError), r"field 'trace_lines': missing"),
    (_mutated(trace_sha256="abc"), r"field 'trace_sha256': expected a SHA-256 hex digest"),
]


@pytest.mark.parametrize(("mutate", "message"), BAD_FIELDS)
def test_bad_field_gives_one_line_naming_file_and_field(
        tmp_path: Path, mutate: Any, message: str) -> None:
    """Each kind of bad content raises CorpusError: one line, the file, the field."""
    path = corpus.save(failing("demo.abba"), tmp_path)
    path.write_text(json.dumps(mutate(json.loads(path.read_text()))))
    with pytest.raises(CorpusError) as info:
        corpus.load(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")
    assert re.search(message, text), text


@pytest.mark.parametrize(("content", "message"), [
    (b"{not json", r"not JSON \(Expecting property name .* at line 1, column 2\)"),
    (b"", r"not JSON \(Expecting value at line 1, column 1\)"),
    (b"[1, 2]", r"expected a JSON object, got an array"),
    (b"\xff\xfe{}", r"not UTF-8 text \(invalid start byte at byte 0\)"),
])
def test_unreadable_content_gives_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    """Not JSON, not an object, not text: one line naming the file."""
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=rf"^{re.escape(str(path))}: {message}$"):
        corpus.load(path)


def test_missing_file_gives_one_line(tmp_path: Path) -> None:
    """A file that is not there is named, with the reason."""
    with pytest.raises(CorpusError, match=r"nope\.json: cannot read: No such file or directory$"):
        corpus.load(tmp_path / "nope.json")


def test_hand_written_trace_needs_no_digest(tmp_path: Path) -> None:
    """Without trace_lines and trace_sha256 the stored trace is taken as the whole trace."""
    path = corpus.save(failing("demo.abba"), tmp_path)
    data = json.loads(path.read_text())
    del data["trace_lines"], data["trace_sha256"]
    path.write_text(json.dumps(data))
    assert corpus.replay_entry(corpus.load(path)).exact


def test_registered_name_wins_and_ref_is_the_fallback(tmp_path: Path) -> None:
    """A stale ref does not matter while the name resolves; a stale name falls back to ref."""
    path = corpus.save(failing("demo.abba"), tmp_path)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "ref": "gone.module:fn"}))
    assert corpus.load(path).info.name == "demo.abba"
    path.write_text(json.dumps({**data, "scenario": "demo.renamed"}))
    assert corpus.load(path).info.fn is schedfuzz.examples.abba_deadlock


# -- replays that differ --------------------------------------------------------------------------

def test_changed_verdict_shows_the_first_differing_step() -> None:
    """A replay giving another verdict says so and diffs the traces from the first step."""
    entry = corpus.Entry.from_outcome(failing("demo.lost-update"))
    assert entry.trace[0] == "    0 inc1: start"
    # All defaults: inc0 runs to the end first and nothing is lost.
    changed = attrs.evolve(entry, decisions=(), widths=())
    replayed = corpus.replay_entry(changed)
    assert not replayed.reproduced
    assert replayed.verdict == "ok"
    assert replayed.summary() == "<memory>: expected failure (AssertionError), got ok"
    assert replayed.diff[0] == "trace differs from the recording first at step 0:"
    assert "-    0 inc1: start" in replayed.diff
    assert "+    0 inc0: start" in replayed.diff
    assert "recorded: AssertionError: counter is 1, expected 2" in replayed.report()


def test_same_kind_other_exception_is_not_reproduced() -> None:
    """A failure must come back as the same exception type, not just any crash."""
    entry = attrs.evolve(corpus.Entry.from_outcome(failing("demo.lost-update")), error="KeyError")
    replayed = corpus.replay_entry(entry)
    assert not replayed.reproduced
    assert replayed.summary().endswith("expected failure (KeyError), got failure (AssertionError)")


def test_schedule_that_no_longer_fits_reports_divergence() -> None:
    """Recorded widths that the program no longer has: diverged, naming the choice point."""
    entry = corpus.Entry.from_outcome(failing("demo.abba"))
    changed = attrs.evolve(entry, widths=(2, 3, *entry.widths[2:]))
    replayed = corpus.replay_entry(changed)
    assert not replayed.reproduced
    assert replayed.diverged == ("replay diverged at choice point 1: the recording had 3 enabled "
                                 "actors, the program now has 2")
    assert "expected deadlock, but the replay diverged at choice point 1" in replayed.summary()


def test_trace_only_change_passes_unless_strict() -> None:
    """Same verdict, different trace: reproduced, not exact; strict mode fails it."""
    entry = corpus.Entry.from_outcome(failing("demo.abba"))
    changed = attrs.evolve(entry, trace=(*entry.trace[:-1], "    5 one: renamed"))
    replayed = corpus.replay_entry(changed)
    assert replayed.reproduced
    assert not replayed.exact
    assert replayed.passed()
    assert not replayed.passed(strict=True)
    assert replayed.summary().endswith("; the trace differs from the recording")
    assert replayed.diff[0] == "trace differs from the recording first at step 5:"


def test_setup_that_raises_is_reported_not_raised(tmp_path: Path) -> None:
    """A scenario whose setup now raises gives a one-line problem, not an exception."""
    entry = corpus.load(corpus.save(schedfuzz.run(fragile), tmp_path))
    replayed = corpus.replay_entry(attrs.evolve(entry, params={"boom": True}))
    assert not replayed.reproduced
    assert replayed.outcome is None
    assert replayed.problem == "RuntimeError: setup broke"
    assert replayed.summary().endswith(
        "cannot replay test_corpus:fragile: RuntimeError: setup broke")


# -- many files ---------------------------------------------------------------------------------

def test_folder_iteration_reports_bad_files_and_runs_the_rest(tmp_path: Path) -> None:
    """A bad file yields its error; the good ones (nested too) still replay; temp files skipped."""
    good = corpus.save(failing("demo.abba"), tmp_path)
    nested = corpus.save(failing("demo.event-hang"), tmp_path / "nested")
    (tmp_path / "a-broken.json").write_text("{")
    (tmp_path / ".x.json.123.tmp").write_text("{")
    (tmp_path / ".hidden.json").write_text("{")
    (tmp_path / "notes.txt").write_text("not a corpus file")
    results = list(corpus.replay_all([tmp_path]))
    assert [p for p, _ in results] == [tmp_path / "a-broken.json", good, nested]
    assert isinstance(results[0][1], CorpusError)
    assert all(isinstance(r, corpus.Replayed) and r.exact for _, r in results[1:])


def test_named_missing_path_is_an_error_entry(tmp_path: Path) -> None:
    """A path that does not exist is reported like any unreadable file."""
    [(_path, result)] = corpus.entries([tmp_path / "missing.json"])
    assert isinstance(result, CorpusError)
    assert "cannot read" in str(result)


# -- determinism across processes ----------------------------------------------------------------

REPLAY_SCRIPT = textwrap.dedent("""
    import json, sys
    from schedfuzz import corpus
    out = {}
    for path in sys.argv[2:]:
        replayed = corpus.replay_entry(corpus.load(path))
        saved = corpus.save(replayed.outcome, sys.argv[1])
        out[path] = [replayed.verdict, replayed.outcome.result.trace.lines(), saved.read_text()]
    print(json.dumps(out))
""")


def test_replay_is_byte_identical_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    """Two fresh processes with different PYTHONHASHSEED replay to the same trace and file bytes."""
    paths = [str(corpus.save(failing(name), tmp_path / "in")) for name in FAILING]
    runs = []
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", REPLAY_SCRIPT, str(tmp_path / seed), *paths],
                              capture_output=True, text=True, env=env, check=True, timeout=120)
        runs.append(json.loads(done.stdout))
    assert runs[0] == runs[1]
    for path in paths:
        entry = corpus.load(path)
        verdict, lines, _ = runs[0][path]
        assert verdict == entry.verdict
        assert tuple(lines) == entry.trace
