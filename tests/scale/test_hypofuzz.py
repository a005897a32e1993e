"""HypoFuzz fuzzes schedfuzz tests as they are written, and finds the bug in the buggy one.

HypoFuzz (the ``hypofuzz`` package; its command is ``hypothesis fuzz``) collects a project's
Hypothesis tests through pytest and fuzzes them for as long as it runs, with coverage guidance
instead of a fixed number of examples. It prints next to nothing: what it finds goes into
Hypothesis's example database, which its dashboard reads, and a failure is saved under the
test's key there, so the next plain pytest run replays it.

The test below runs ``hypothesis fuzz --no-dashboard`` on ``fuzz_targets.py`` (a ``@fuzz`` test
of a correct scenario and one of ``demo.lost-update``) in a temporary folder, which gives it a
fresh database, and stops it once it has fuzzed both and shrunk the bug, or after
``FUZZ_SECONDS``. It then checks, each from a different witness:

1. HypoFuzz's own output: both targets were collected. HypoFuzz skips, and counts out, a test
   it cannot fuzz: a derandomized one (the CI profile of ``conftest.py``) or one that keeps a
   database of its own.
2. HypoFuzz's records in the database, what its dashboard shows: inputs ran through both
   targets; the buggy one has a shrunk failure whose traceback is schedfuzz's report (per-actor
   trace, replay line), and the clean one none; no target failed fatally.
3. A plain pytest run in the same folder, allowed one generated schedule (the default one,
   which does not lose an update, as a control run in an empty folder shows), fails with the
   lost update: it replayed HypoFuzz's schedule from the database, and reports it the way a
   schedfuzz failure always is.

Without HypoFuzz installed the test skips. The fuzzing run gets ``CI=1``, which would select the
derandomized CI profile that HypoFuzz cannot fuzz, so it also checks that ``conftest.py`` steps
aside under HypoFuzz. Should HypoFuzz break with a newer Hypothesis (see the ``hypofuzz`` extra
in ``pyproject.toml``), the worker's traceback in HypoFuzz's output fails the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from fuzz_targets import BUGGY, CLEAN

import pytest

pytest.importorskip("hypofuzz", reason="hypofuzz not installed: pip install -e '.[hypofuzz]'")

from hypofuzz.database import FailureState, HypofuzzDatabase
from hypofuzz.database import test_keys_key as FUZZED_TESTS_KEY  # test_* names are for tests
from hypothesis.database import DirectoryBasedExampleDatabase

TARGETS = Path(__file__).with_name("fuzz_targets.py")
FUZZ_SECONDS = 30.0  # the usual run needs about 12: collection twice, then a few hundred inputs
POLL_SECONDS = 0.5
# Runs hypothesis's console script without relying on where the installer put it.
HYPOTHESIS_CLI = "import sys; from hypothesis.extra.cli import main; sys.exit(main())"
# Settings that would change what the subprocesses do or where they keep their database.
SCRUBBED_ENV = ("PYTEST_ADDOPTS", "SCHEDFUZZ_SEED", "SCHEDFUZZ_MAX_SCHEDULES",
                "SCHEDFUZZ_SAVE_DIR", "CI")


@dataclass
class Target:
    """What HypoFuzz recorded about one fuzz target."""

    inputs: int = 0
    failures: list[str] = field(default_factory=list)  # representation and traceback of each
    fatal: str | None = None


def _records(folder: Path) -> dict[str, Target]:
    """HypoFuzz's records in the database under ``folder``, by test name.

    Read through ``hypofuzz.database``, the module HypoFuzz's own dashboard reads them with.
    """
    examples = folder / ".hypothesis" / "examples"
    if not examples.exists():
        return {}
    db = HypofuzzDatabase(DirectoryBasedExampleDatabase(examples))
    targets: dict[str, Target] = {}
    for key in db.fetch(FUZZED_TESTS_KEY):
        reports = [r for r in db.reports.fetch(key) if r is not None]
        if not reports:
            continue
        target = targets.setdefault(reports[0].nodeid.rpartition("::")[2], Target())
        # A report is a snapshot of the campaign so far, so the largest count is the total.
        target.inputs = max(sum(r.status_counts.values()) for r in reports)
        shrunk = FailureState.SHRUNK
        for choices in db.failures(state=shrunk).fetch(key):
            observation = db.failure_observations(state=shrunk).fetch(key, choices)
            if observation is not None:
                target.failures.append(
                    f"{observation.representation}\n{observation.metadata.traceback}")
        fatal = db.fatal_failures.fetch(key)
        target.fatal = None if fatal is None else fatal.traceback
    return targets


def _done(targets: dict[str, Target]) -> bool:
    """Both targets fuzzed, and the buggy one's failure shrunk and saved."""
    return (CLEAN in targets and targets[CLEAN].inputs > 0
            and BUGGY in targets and bool(targets[BUGGY].failures))


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    return env | extra


def _fuzz(folder: Path) -> tuple[str, dict[str, Target], float]:
    """Run HypoFuzz in ``folder`` until ``_done`` or ``FUZZ_SECONDS``: its output, its records,
    and the seconds it ran."""
    command = [sys.executable, "-c", HYPOTHESIS_CLI, "fuzz", "--no-dashboard", "-n", "1",
               "--", str(TARGETS), "-p", "no:cacheprovider"]
    start = time.monotonic()
    # Its own session, so that stopping it stops the worker and manager processes it forks.
    with subprocess.Popen(command, cwd=folder, env=_environment(CI="1"), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          start_new_session=True) as process:
        targets: dict[str, Target] = {}
        try:
            while process.poll() is None and time.monotonic() - start < FUZZ_SECONDS:
                time.sleep(POLL_SECONDS)
                targets = _records(folder)
                if _done(targets):
                    break
            exited = process.poll()
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    seconds = time.monotonic() - start
    # HypoFuzz runs until stopped: having exited by itself means it refused to start or crashed.
    assert exited is None, f"hypothesis fuzz exited with {exited}:\n{output}"
    return output, _records(folder), seconds


def _pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    """A plain pytest run of the targets in ``folder``, allowed one generated schedule."""
    command = [sys.executable, "-m", "pytest", str(TARGETS), "-p", "no:cacheprovider",
               "--schedfuzz-max-schedules=1", "-q"]
    return subprocess.run(command, cwd=folder, env=_environment(), text=True, timeout=120,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)


def _show(targets: dict[str, Target]) -> str:
    return "\n".join(f"{name}: {target}" for name, target in targets.items()) or "(no records)"


def test_hypofuzz_fuzzes_both_targets_and_finds_the_lost_update(tmp_path: Path) -> None:
    control = tmp_path / "control"
    control.mkdir()
    default_only = _pytest(control)
    assert default_only.returncode == 0, default_only.stdout  # the default schedule passes

    output, targets, seconds = _fuzz(tmp_path)
    # 1. HypoFuzz's output: both collected, none skipped, and no traceback from a worker.
    assert "using 1 process to fuzz 2 tests\n" in output, output
    assert "Traceback" not in output, output
    # 2. HypoFuzz's records.
    assert _done(targets), (f"after {seconds:.0f}s HypoFuzz had not fuzzed both targets and "
                            f"shrunk the lost update:\n{_show(targets)}\n{output}")
    assert targets[CLEAN].failures == [], targets[CLEAN].failures
    assert targets[CLEAN].fatal is None, targets[CLEAN].fatal
    assert targets[BUGGY].fatal is None, targets[BUGGY].fatal
    [failure] = targets[BUGGY].failures
    assert f"{BUGGY}(\n    schedule=schedule(" in failure, failure
    assert "AssertionError: counter is 1, expected 2" in failure, failure
    assert "replay: schedfuzz replay-one demo.lost-update -p n=2 --schedule sf1." in failure

    # 3. Plain pytest replays HypoFuzz's failure from the database.
    replayed = _pytest(tmp_path)
    report = replayed.stdout
    assert replayed.returncode == 1, report
    assert "1 failed, 1 passed" in report, report
    assert f"fuzz_targets.py::{BUGGY}" in report, report
    assert "AssertionError: counter is 1, expected 2" in report, report
    assert "1 preemption," in report, report
    assert "replay: schedfuzz replay-one demo.lost-update -p n=2 --schedule sf1." in report
