"""The command line on unmodified threaded code: explore, save, replay, and the corpus rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    return subprocess.run([sys.executable, "-m", "schedfuzz.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_explore_threads_saves_a_file_that_replays(tmp_path: Path) -> None:
    found = _cli("explore", "threading_code.pool:test_unlocked_count", "--threads",
                 "--preempt-in", "threading_code.pool", "--engine", "dfs",
                 "--max-preemptions", "1", "--save", "saved", "--json", cwd=tmp_path)
    assert found.returncode == 1, found.stderr
    report = json.loads(found.stdout)
    assert report["verdict"] == "failure"
    assert report["preemptions"] == 1
    (saved,) = (tmp_path / "saved").iterdir()
    data = json.loads(saved.read_text())
    assert data["threads"] == {"preempt_in": ["threading_code.pool"]}
    refused = _cli("replay", "-q", "saved", cwd=tmp_path)
    assert refused.returncode == 2
    assert "--allow-import threading_code.pool" in refused.stderr
    assert "Traceback" not in refused.stderr
    replayed = _cli("replay", "-q", "--allow-import", "threading_code", "saved", cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "reproduced failure (AssertionError)" in replayed.stdout


def test_the_replay_line_of_a_threaded_failure_reruns_it(tmp_path: Path) -> None:
    found = _cli("explore", "threading_code.bank:test_check_then_act", "--threads",
                 "--engine", "random", cwd=tmp_path)
    line = next(x for x in found.stdout.splitlines() if x.startswith("replay: "))
    assert " --threads " in line
    words = line.removeprefix("replay: schedfuzz ").split()
    again = _cli(*words, cwd=tmp_path)
    assert "spent [80, 80]" in again.stdout + again.stderr


def test_a_threaded_file_cannot_name_a_function_from_elsewhere(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    entry = {"format": "schedfuzz-corpus", "version": 2, "scenario": "os:system",
             "ref": "os:system", "params": {"command": f"touch {marker}"}, "verdict": "ok",
             "error": "", "proved": None, "threads": {"preempt_in": []}, "message": "",
             "decisions": [], "cycle_start": None, "widths": [], "preemptions": 0, "steps": 1,
             "settings": {}, "trace_lines": 0, "trace_sha256": "0" * 64, "trace": []}
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "evil.json").write_text(json.dumps(entry))
    result = _cli("replay", "-q", "--allow-import", "os", "corpus", cwd=tmp_path)
    assert result.returncode == 2
    assert "field 'ref'" in result.stderr
    assert "not a function defined in os" in result.stderr
    assert not marker.exists()


def test_preempt_in_without_threads_is_one_line(tmp_path: Path) -> None:
    result = _cli("explore", "demo.abba", "--preempt-in", "x", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "--preempt-in goes with --threads" in result.stderr
