"""Saving and resuming a dfs search: the resumed search ends exactly as the uninterrupted one."""

from __future__ import annotations

import itertools
import json
import logging
import marshal
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import schedfuzz as sf
from schedfuzz.cli import main
from schedfuzz.explore import Budget
from schedfuzz.scenario import resolve
from schedfuzz.search import checkpoint as dfs_checkpoint
from schedfuzz.search import dfs
from schedfuzz.settings import Settings

C17 = "thp.upstream.c17"
SMALL = {"actors": "writer,faulter"}

# One leg of a search in a fresh interpreter: at most N runs, then save (or finish).
LEG = """
import json, sys
import thpmodel.scenarios
from schedfuzz.search import checkpoint as dfs_checkpoint
from schedfuzz.search import dfs
from schedfuzz.explore import Budget
from schedfuzz.scenario import resolve
from schedfuzz.settings import Settings
name, params, bound, runs, path = json.loads(sys.argv[1])
report = dfs.DfsSearch(resolve(name), params, Settings(), Budget(max_schedules=runs,
                       checkpoint=path), max_preemptions=bound).explore()
print(json.dumps({"note": report.note, "runs": report.schedules, "verdict": report.verdict,
                  "states": report.stats.get("states"),
                  "schedule": None if report.outcome is None
                  else report.outcome.schedule.encode()}))
"""


def one_error_line(err: str) -> str:
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err.strip()


def _leg(name: str, params: dict[str, Any], bound: int | None, runs: int, path: Path,
         hash_seed: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    out = subprocess.run([sys.executable, "-c", LEG, json.dumps([name, params, bound, runs,
                                                                   str(path)])],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def _whole(name: str, params: dict[str, Any], bound: int | None) -> sf.explore.Report:
    return dfs.DfsSearch(resolve(name), params, Settings(), Budget(max_schedules=1 << 40),
                         max_preemptions=bound).explore()


@pytest.mark.parametrize(("name", "params", "bound", "legs"), [
    (C17, SMALL, 1, 3),  # a proof: no failure with at most 1 preemption
    ("demo.polite-livelock", {}, None, 2),  # a livelock, found in the state graph
])
def test_a_search_resumed_in_other_processes_ends_as_the_uninterrupted_one(
        tmp_path: Path, name: str, params: dict[str, Any], bound: int | None,
        legs: int) -> None:
    """Stopped every few runs and resumed in a new process with another PYTHONHASHSEED: the
    states are found again (stable hashes), and the last leg reports what one search does."""
    if name not in sf.registry():
        pytest.skip("thpmodel not installed")
    whole = _whole(name, params, bound)
    path = tmp_path / "search.ckpt"
    per_leg = whole.schedules // legs + 1
    for leg in range(legs - 1):
        part = _leg(name, params, bound, per_leg, path, hash_seed=leg + 1)
        assert "unfinished: saved in" in part["note"]
        assert path.exists()
    last = _leg(name, params, bound, 1 << 40, path, hash_seed=legs + 7)
    assert last["note"].startswith(f"resumed from {path} ({per_leg * (legs - 1)} runs")
    assert last["runs"] == whole.schedules
    assert last["states"] == whole.stats["states"]
    assert last["verdict"] == whole.verdict
    assert last["schedule"] == (None if whole.outcome is None
                                else whole.outcome.schedule.encode())
    assert last["note"].endswith(whole.note)
    assert not path.exists()  # a finished search leaves no checkpoint


def test_a_stateless_search_resumes_too(tmp_path: Path) -> None:
    """Without state caching the checkpoint is the subtrees still to run."""
    path = str(tmp_path / "stateless.ckpt")
    info = resolve("demo.spin-wait")

    def search(runs: int) -> sf.explore.Report:
        return dfs.DfsSearch(info, {}, Settings(), Budget(max_schedules=runs, checkpoint=path),
                             stateful=False, max_preemptions=2).explore()

    whole = dfs.DfsSearch(info, {}, Settings(), Budget(max_schedules=1 << 40), stateful=False,
                          max_preemptions=2).explore()
    assert whole.schedules > 20
    first = search(10)
    assert first.schedules == 10
    rest = search(1 << 40)
    assert rest.schedules == whole.schedules
    assert rest.note.endswith(whole.note)
    assert not os.path.exists(path)


def test_saves_are_logged_not_printed_by_the_library(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Each save is an INFO record of ``schedfuzz.dfs`` saying how far the search got; the
    Python API prints nothing unless the caller sets up logging (the CLI does, for logs)."""
    path = str(tmp_path / "logged.ckpt")
    with caplog.at_level(logging.INFO, logger="schedfuzz.dfs"):
        dfs.DfsSearch(resolve(C17), SMALL, Settings(), Budget(max_schedules=5, checkpoint=path),
                      max_preemptions=1).explore()
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [f"saved {path}"]
    assert ", 5 runs, " in caplog.records[0].getMessage()
    assert capsys.readouterr().err == ""


def test_a_checkpoint_of_another_search_is_refused_in_one_line(tmp_path: Path) -> None:
    path = str(tmp_path / "other.ckpt")
    info = resolve(C17)
    budget = Budget(max_schedules=5, checkpoint=path)
    dfs.DfsSearch(info, SMALL, Settings(), budget, max_preemptions=1).explore()
    with pytest.raises(sf.InvalidArgument) as excinfo:
        dfs.DfsSearch(info, {"actors": "writer"}, Settings(), budget, max_preemptions=1).explore()
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith(f"checkpoint {path}: it was written for params ")
    assert message.endswith("remove it to start the search afresh")
    with pytest.raises(sf.InvalidArgument, match="max_preemptions 1, and this search has 2"):
        dfs.DfsSearch(info, SMALL, Settings(), budget, max_preemptions=2).explore()
    assert os.path.exists(path)  # refusing it does not lose it


@pytest.mark.parametrize(("content", "why"), [
    (b"", "unreadable"),
    (marshal.dumps({"format": "something else"}), "not a schedfuzz dfs checkpoint"),
])
def test_a_damaged_checkpoint_is_refused_in_one_line(tmp_path: Path, content: bytes,
                                                     why: str) -> None:
    path = tmp_path / "bad.ckpt"
    path.write_bytes(content)
    with pytest.raises(sf.InvalidArgument) as excinfo:
        dfs.DfsSearch(resolve(C17), SMALL, Settings(),
                      Budget(max_schedules=5, checkpoint=str(path))).explore()
    assert str(excinfo.value).startswith(f"checkpoint {path}: {why}")
    assert "\n" not in str(excinfo.value)


def test_a_truncated_checkpoint_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.ckpt"
    budget = Budget(max_schedules=20, checkpoint=str(path))
    dfs.DfsSearch(resolve(C17), SMALL, Settings(), budget).explore()
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(sf.InvalidArgument, match=r"unreadable|damaged"):
        dfs.DfsSearch(resolve(C17), SMALL, Settings(), budget).explore()


def test_a_failure_ends_the_search_and_removes_its_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "found.ckpt"
    budget = Budget(max_schedules=1 << 40, checkpoint=str(path), checkpoint_every=0)
    report = dfs.DfsSearch(resolve("demo.lost-update"), {}, Settings(), budget).explore()
    assert report.verdict == "failure"
    assert not path.exists()
    assert not list(tmp_path.iterdir())  # no temporary file left behind either


def test_a_parallel_search_resumes_with_a_file_per_worker(tmp_path: Path) -> None:
    """Each worker saves its share, even when done; the files go when the whole search is."""
    path = str(tmp_path / "two.ckpt")

    def search(runs: int, checkpoint: str | None) -> sf.explore.Report:
        return sf.explore.explore(C17, engine_name="dfs", budget=Budget(
            max_schedules=runs, workers=2, max_preemptions=1, checkpoint=checkpoint), **SMALL)

    whole = search(1 << 40, None)
    first = search(300, path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["two.ckpt.1-of-2", "two.ckpt.2-of-2"]
    assert first.note.endswith("run again to go on")
    rest = search(1 << 40, path)
    assert rest.note.startswith(f"resumed from {path}.1-of-2 to {path}.2-of-2 "
                                f"({first.schedules} runs before); ")
    assert rest.note.endswith(whole.note)
    assert rest.schedules == whole.schedules
    assert rest.stats["states"] == whole.stats["states"]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("saved", "workers", "why"), [
    (["w.ckpt"], 2, "saved by one process; resume it with --workers 1"),
    (["w.ckpt.1-of-2", "w.ckpt.2-of-2"], 1, "saved by 2 workers; resume it with --workers 2"),
    (["w.ckpt.1-of-2", "w.ckpt.2-of-2"], 3, "saved by 2 workers; resume it with --workers 2"),
])
def test_a_checkpoint_saved_by_another_worker_count_is_refused(
        tmp_path: Path, saved: list[str], workers: int, why: str) -> None:
    for name in saved:
        (tmp_path / name).write_bytes(b"")
    path = str(tmp_path / "w.ckpt")
    with pytest.raises(sf.InvalidArgument) as excinfo:
        sf.explore.explore(C17, engine_name="dfs",
                           budget=Budget(workers=workers, checkpoint=path), **SMALL)
    assert str(excinfo.value) == (f"checkpoint {path}: {why}, or remove it to start the "
                                  "search afresh")


def test_cli_resumes_with_the_same_command(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "cli.ckpt")
    args = ["explore", C17, "-p", "actors=writer,faulter", "--engine", "dfs",
            "--max-preemptions", "1", "--checkpoint", path, "--json"]
    assert main([*args, "--max-schedules", "100"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["note"].endswith(f"unfinished: saved in {path}, run again to go on")
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["note"].startswith(f"resumed from {path} (100 runs, ")
    assert "verified: no failure with at most 1 preemption" in second["note"]
    assert not os.path.exists(path)


def test_a_resumed_search_counts_the_earlier_sessions_time_with_their_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``schedules`` counts every session's runs, so ``seconds`` (and the rate from both)
    counts every session's time: here the first one's is made 1000 s longer than it was."""
    path = str(tmp_path / "time.ckpt")
    budget = {"max_preemptions": 1, "checkpoint": path}
    first = sf.explore.explore(C17, engine_name="dfs", budget=Budget(max_schedules=50, **budget),
                               **SMALL)
    restore = dfs_checkpoint.restore
    monkeypatch.setattr(dfs_checkpoint, "restore",
                        lambda search, p: restore(search, p) + 1000.0)  # type: ignore[operator]
    rest = sf.explore.explore(C17, engine_name="dfs", budget=Budget(**budget), **SMALL)
    assert rest.note.startswith(f"resumed from {path} (50 runs, ")
    assert 1000.0 < rest.resumed_seconds <= 1000.0 + first.seconds
    assert rest.seconds > rest.resumed_seconds
    assert rest.to_json()["schedules_per_second"] == round(rest.schedules / rest.seconds, 1)
    assert rest.to_json()["seconds"] > 1000.0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_saves_after_the_run_in_progress_and_stops(tmp_path: Path,
                                                             sig: signal.Signals) -> None:
    """A CI timeout (SIGTERM) or a Ctrl-C (SIGINT) costs no run: the search saves where it is
    and says so, and the same command goes on to the uninterrupted search's end."""
    path = tmp_path / "signal.ckpt"
    args = ["explore", C17, "-p", "actors=writer,faulter", "--engine", "dfs",
            "--max-preemptions", "2", "--checkpoint", str(path), "--json"]
    command = [sys.executable, "-m", "schedfuzz.cli", *args]
    proc = subprocess.Popen([*command, "--checkpoint-every", "0.5"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the first save: the search is running, and its handler is set
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    stopped = json.loads(out)
    assert stopped["note"].endswith(f"stopped by {sig.name}: saved in {path}, run again to "
                                    "go on")
    # stderr is a pipe, as in a CI log: a line per save says how far the search has got
    assert re.search(rf"^schedfuzz: saved {re.escape(str(path))}: level \d, [\d,]+ runs, "
                     r"[\d,]+ states kept, ", err, flags=re.MULTILINE), err
    runs = stopped["schedules"]
    assert 0 < runs < 6913
    resumed = subprocess.run(command, capture_output=True, text=True, check=True)
    note = json.loads(resumed.stdout)["note"]
    assert note.startswith(f"resumed from {path} ({runs} runs, ")
    assert note.endswith("verified: no failure with at most 2 preemptions and no livelock "
                         "within that bound (6599 states, 6913 runs)")
    assert not path.exists()


def test_a_signal_to_a_parallel_search_saves_every_workers_share(tmp_path: Path) -> None:
    """With workers, the parent takes the signal and every worker saves after its run in
    progress; the same command then ends as the uninterrupted parallel search."""
    path = tmp_path / "parallel-signal.ckpt"
    files = [tmp_path / f"parallel-signal.ckpt.{k}-of-2" for k in (1, 2)]
    args = ["explore", C17, "-p", "actors=writer,faulter", "--engine", "dfs", "--workers", "2",
            "--max-preemptions", "2", "--json"]
    whole = subprocess.run([sys.executable, "-m", "schedfuzz.cli", *args], capture_output=True,
                           text=True, check=True)
    command = [sys.executable, "-m", "schedfuzz.cli", *args, "--checkpoint", str(path)]
    proc = subprocess.Popen([*command, "--checkpoint-every", "0.5"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not all(f.exists() for f in files) and proc.poll() is None and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    stopped = json.loads(out)
    assert stopped["note"].endswith(f"stopped by SIGTERM: saved in {files[0]} to {files[1]}, "
                                    "run again to go on")
    for f in files:  # each worker logs its own saves to the parent's stderr
        assert f"schedfuzz: saved {f}: level " in err, err
    assert all(f.exists() for f in files)
    saved_seconds = []
    for f in files:
        with f.open("rb") as data:
            marshal.load(data)  # the header
            saved_seconds.append(marshal.load(data)["seconds"])
    resumed = json.loads(subprocess.run(command, capture_output=True, text=True,
                                        check=True).stdout)
    # the workers ran side by side: the time before is the longest of theirs
    assert resumed["seconds"] > max(saved_seconds) > 0
    assert resumed["note"].startswith(f"resumed from {files[0]} to {files[1]} (")
    assert resumed["note"].endswith(json.loads(whole.stdout)["note"])
    assert resumed["schedules"] == json.loads(whole.stdout)["schedules"]
    assert not any(f.exists() for f in files)


@pytest.mark.parametrize(("extra", "error"), [
    (["--engine", "random", "--checkpoint", "x"],
     "--checkpoint is for the dfs engine's search, not the random engine's"),
    (["--engine", "dfs", "--checkpoint-every", "5"], "--checkpoint-every needs --checkpoint FILE"),
])
def test_cli_checkpoint_misuse_is_one_line(extra: list[str], error: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", C17, *extra]) == 2
    assert one_error_line(capsys.readouterr().err) == f"schedfuzz explore: {error}"


INTERRUPT_AT_RUN = [0, 5]  # runs so far, the run a Ctrl-C lands in (0: none)


@sf.scenario("test.checkpoint.ctrl-c", expect="ok")
def ctrl_c_once() -> None:
    """Two workers and a snapshot; a Ctrl-C lands in one of them on a chosen run."""
    INTERRUPT_AT_RUN[0] += 1
    interrupt = INTERRUPT_AT_RUN[0] == INTERRUPT_AT_RUN[1]
    done = [0, 0]
    sf.snapshot(lambda: tuple(done))

    def worker(i: int) -> None:
        for _ in range(3):
            sf.checkpoint("work")
            if interrupt:
                raise KeyboardInterrupt
            done[i] += 1

    sf.spawn(worker, 0, name="a")
    sf.spawn(worker, 1, name="b")


def test_ctrl_c_keeps_the_last_save_and_the_search_resumes_from_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A KeyboardInterrupt raised inside an actor (not the signal handler's polite stop) loses
    only the run in progress: a save between every two runs (none spaced out) keeps the rest."""
    monkeypatch.setattr(dfs, "SAVE_SHARE", 0)
    INTERRUPT_AT_RUN[:] = [0, 0]
    whole = _whole("test.checkpoint.ctrl-c", {}, None)
    path = str(tmp_path / "ctrl-c.ckpt")
    INTERRUPT_AT_RUN[:] = [0, 5]
    args = ["explore", "test.checkpoint.ctrl-c", "--engine", "dfs", "--checkpoint", path,
            "--checkpoint-every", "0", "--json"]
    assert main(args) == 130
    lines = capsys.readouterr().err.splitlines(keepends=True)
    assert lines[0].startswith(f"schedfuzz: saved {path}: level 0, 0 runs, ")  # not a terminal
    err = one_error_line("".join(line for line in lines if not line.startswith("schedfuzz: ")))
    assert err.endswith(f"; the last save is in {path}")
    assert os.path.exists(path)  # saved before the 5th run: its 4 runs are kept
    assert main(args) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["note"].startswith(f"resumed from {path} (4 runs, ")
    assert resumed["note"].endswith(whole.note)
    assert resumed["schedules"] == whole.schedules
    assert not os.path.exists(path)


def test_slow_saves_are_spaced_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A save that takes 50 ms is followed by the next one at least 20 times that later, even
    when saves are asked for between every two runs: a big graph costs at most a twentieth of
    the search's time to keep saved."""
    real_save = dfs_checkpoint.save
    times: list[float] = []

    def slow_save(search: dfs.DfsSearch, path: str, seconds: float) -> None:
        times.append(time.perf_counter())
        time.sleep(0.05)
        real_save(search, path, seconds)

    monkeypatch.setattr(dfs_checkpoint, "save", slow_save)
    budget = Budget(max_schedules=1 << 40, seconds=3, checkpoint=str(tmp_path / "slow.ckpt"),
                    checkpoint_every=0)
    dfs.DfsSearch(resolve(C17), {"actors": "writer,faulter,reader"}, Settings(), budget,
                  max_preemptions=2).explore()
    periodic = times[:-1]  # the last is the save at the end of the budget
    assert len(periodic) >= 2
    assert all(b - a >= 20 * 0.05 for a, b in itertools.pairwise(periodic))


def test_a_checkpoint_where_no_file_can_be_is_refused_before_the_search(
        tmp_path: Path) -> None:
    info = resolve(C17)
    missing = str(tmp_path / "no" / "such.ckpt")
    with pytest.raises(sf.InvalidArgument, match=r"the folder .*no does not exist$"):
        dfs.DfsSearch(info, SMALL, Settings(), Budget(checkpoint=missing)).explore()
    with pytest.raises(sf.InvalidArgument, match=r"is a folder; name a file$"):
        dfs.DfsSearch(info, SMALL, Settings(), Budget(checkpoint=str(tmp_path))).explore()


def test_a_save_that_fails_keeps_the_last_one(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "full.ckpt"
    budget = Budget(max_schedules=3, checkpoint=str(path))
    dfs.DfsSearch(resolve(C17), SMALL, Settings(), budget).explore()
    saved = path.read_bytes()

    def disk_full(target: object, write: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dfs_checkpoint, "write_atomic", disk_full)
    with pytest.raises(sf.InvalidArgument) as excinfo:
        dfs.DfsSearch(resolve(C17), SMALL, Settings(), budget).explore()
    assert str(excinfo.value) == (f"checkpoint {path}: cannot write it (No space left on "
                                  "device); the last save is kept")
    assert path.read_bytes() == saved


def test_a_checkpoint_of_changed_code_is_refused(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Saved states of the old code and new runs of the new would prove neither program."""
    path = str(tmp_path / "old.ckpt")
    budget = Budget(max_schedules=3, checkpoint=path)
    dfs.DfsSearch(resolve(C17), SMALL, Settings(), budget).explore()
    edited = dfs_checkpoint.code_digest
    monkeypatch.setattr(dfs_checkpoint, "code_digest", lambda search: edited(search) + "x")
    with pytest.raises(sf.InvalidArgument) as excinfo:
        dfs.DfsSearch(resolve(C17), SMALL, Settings(), budget).explore()
    assert str(excinfo.value) == (
        f"checkpoint {path}: the code of thpmodel or of schedfuzz has changed since it was "
        "saved, so its states may not be this program's; remove it to start the search afresh")


def test_the_code_digest_covers_the_scenario_package_and_schedfuzz(tmp_path: Path) -> None:
    search = dfs.DfsSearch(resolve(C17), SMALL, Settings(), Budget())
    files = {p.name for p in dfs_checkpoint._sources(search.info.fn.__module__)}
    assert {"truncate.py", "huge_memory.py", "scenarios.py"} <= files
    assert "dfs.py" in {p.name for p in dfs_checkpoint._sources(dfs_checkpoint.__name__)}
    assert dfs_checkpoint.code_digest(search) == dfs_checkpoint.code_digest(search)
