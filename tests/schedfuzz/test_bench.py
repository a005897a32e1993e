"""The benchmark suite runs end to end and reports every figure it promises (no timing asserts:
speed is measured in benchmarks/, not judged in tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench.py"

NUMBERS = [
    "raw_switch_ns", "step_ns", "step_overhead_ratio", "run_setup_us", "step_fingerprint_ns",
    "random_schedules_per_s_median", "pct_schedules_per_s_median",
    "dfs_schedules_per_s_median", "hypothesis_schedules_per_s_median",
    "buggy_scenarios", "bugs_found_dfs", "bugs_found_random", "bugs_found_pct",
    "bugs_found_hypothesis", "shrunk_at_minimum_random", "shrunk_at_minimum_pct",
    "stateful_states_per_s_median", "stateful_graph_bytes_per_state_max", "stateful_complete",
    "bounded_states_kept_ratio", "bounded_graph_bytes_ratio", "bounded_seconds_ratio",
    "threads_bugs_found", "threads_bug_rate", "memory_rss_growth_kib", "memory_leaked_greenlets",
    "total_seconds",
]


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    """One smoke run of every section except the colleague-owned Hypothesis floor figures."""
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--smoke", "--json", "--memory", "--only", "switch",
         "engines", "first_failure", "stateful", "threads", "memory"],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, "--json prints exactly one JSON object"
    parsed: dict[str, Any] = json.loads(lines[0])
    return parsed


@pytest.mark.parametrize("key", NUMBERS)
def test_figure_is_a_number(figures: dict[str, Any], key: str) -> None:
    assert key in figures
    value = figures[key]
    assert isinstance(value, (int, float))
    assert not isinstance(value, bool)


def test_the_bounded_proof_runs_the_same_schedules_either_way(figures: dict[str, Any]) -> None:
    assert figures["bounded_same_runs"] == 1
    assert figures["bounded_states_kept_ratio"] < 1  # forced states are not kept
    assert "verified: no failure with at most 1 preemption" in figures["bounded_proof"]


def test_step_ratio_is_the_ratio_of_its_parts(figures: dict[str, Any]) -> None:
    ratio = figures["step_ns"] / figures["raw_switch_ns"]
    assert figures["step_overhead_ratio"] == pytest.approx(ratio, rel=0.02)


def test_first_failure_rows_cover_every_engine(figures: dict[str, Any]) -> None:
    rows = figures["first_failure"]
    assert "demo.abba" in rows
    for row in rows.values():
        assert set(row) >= {"expect", "dfs", "random", "pct", "hypothesis"}
    abba = rows["demo.abba"]
    assert abba["dfs"]["min_preemptions"] == 1
    assert abba["random"]["shrunk_preemptions"] == 1


def test_memory_runs_leak_no_greenlet(figures: dict[str, Any]) -> None:
    assert figures["memory_leaked_greenlets"] == 0


def test_markdown_tables(figures: dict[str, Any]) -> None:
    sys.path.insert(0, str(BENCH.parent))
    try:
        import bench
    finally:
        sys.path.remove(str(BENCH.parent))
    text = bench.markdown(figures)
    assert text.startswith("| figure | value |")
    assert "| `step_overhead_ratio` |" in text
    assert "First failure" in text
    assert "| demo.abba | deadlock | 1 (" in text
    assert "Real threads" in text


def test_threaded_bug_trials_run() -> None:
    sys.path.insert(0, str(BENCH.parent))
    try:
        import threaded_bugs
    finally:
        sys.path.remove(str(BENCH.parent))
    for name, trial in threaded_bugs.TRIALS.items():
        result = threaded_bugs.hunt(trial, 0.01)
        assert result["trials"] >= 1, name
        assert 0 <= result["failures"] <= result["trials"]


def test_the_bounded_proofs_keep_what_they_say_when_one_process_runs_both(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool may hand both proofs to one process: the second must not inherit the first's
    ``KEEP_EVERY`` (it did, and the ratio came out 1.0 on a busy machine)."""
    import thpmodel.scenarios  # noqa: F401  (registers thp.upstream.c17)
    from schedfuzz.search import oracle as dfs_oracle

    monkeypatch.syspath_prepend(str(BENCH.parent))
    default = dfs_oracle.KEEP_EVERY
    monkeypatch.setattr(dfs_oracle, "KEEP_EVERY", default)  # restored after the test
    bench = __import__("bench")
    scale = bench.PROFILES["smoke"]
    every = bench._bounded_run(0, scale)
    some = bench._bounded_run(default, scale)
    assert some[3] == every[3]  # the same runs
    assert some[1] < every[1]  # fewer states kept
