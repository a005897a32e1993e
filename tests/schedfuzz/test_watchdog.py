"""The runaway watchdog over code outside actors: the scenario function, invariants, end checks,
the ``snapshot()`` callback and wait predicates run in the hub between two steps, and one that
never returns is stopped and named with its file:line like a runaway actor.

These are timeout tests by nature (the watchdog is a wall-clock limit): they pin what is
reported and where, never how long it took.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import schedfuzz as sf
from schedfuzz import Settings, checkpoint, spawn
from schedfuzz.cli import main

FAST = Settings(runaway_seconds=0.5, lasso_after=0)  # lasso_after=0: the snapshot is read at once
SOURCE = Path(__file__).read_text().splitlines()


def line_of(marker: str) -> int:
    """The line number of the one source line that carries ``# marker``."""
    (number,) = [i for i, text in enumerate(SOURCE, 1) if text.endswith(f"# {marker}")]
    return number


def in_loop(marker: str, function: str) -> set[str]:
    """Where an interrupt can land in the two-line loop marked ``# marker``: on its test or
    on its body, depending on the bytecode it interrupts."""
    first = line_of(marker)
    return {f"{__file__}:{line} in {function}" for line in (first, first + 1)}


def endless_scenario(where: str) -> None:
    """Two actors that each take a step; the scenario's own code loops forever at ``where``."""
    box = {"n": 0}

    def actor() -> None:
        checkpoint("add")
        box["n"] += 1

    if where == "predicate":  # waits first; re-checked in the hub once ``a`` has added

        def waiter() -> None:
            def ready() -> bool:
                n = 0
                while box["n"] == 1:  # loop: predicate
                    n += 1
                return box["n"] == 2

            sf.block_until(ready, "ready")

        spawn(waiter, name="waiter")
    spawn(actor, name="a")
    spawn(actor, name="b")
    if where == "setup":
        n = 0
        while True:  # loop: setup
            n += 1
    if where == "invariant":

        @sf.invariant
        def balanced() -> None:
            n = 0
            while box["n"] == 1:  # loop: invariant
                n += 1

    if where == "at_end":

        @sf.at_end
        def totals() -> None:
            n = 0
            while True:  # loop: at_end
                n += 1

    if where == "snapshot":

        def state() -> Any:
            n = 0
            while True:  # loop: snapshot
                n += 1

        sf.snapshot(state)


@pytest.mark.parametrize(("where", "what", "function"), [
    ("setup", "scenario function endless_scenario", "endless_scenario"),
    ("invariant", "invariant balanced", "balanced"),
    ("at_end", "end check totals", "totals"),
    ("snapshot", "the scenario's snapshot()", "state"),
    ("predicate", "wait predicate ready", "ready"),
])
def test_endless_code_outside_actors_is_a_runaway_named_at_its_line(
        where: str, what: str, function: str) -> None:
    outcome = sf.run(endless_scenario, settings=FAST, where=where)
    assert outcome.kind == "hang"
    error = outcome.error
    assert isinstance(error, sf.RunawayActor)
    location = error.details["where"]
    assert location in in_loop(f"loop: {where}", function)
    assert error.details["outside"] == what
    assert error.details["actor"] is None
    assert str(error).startswith(f"RunawayActor: {what} ran 0.5s (Settings.runaway_seconds) "
                                 f"without returning, at {location}.")


def test_a_runaway_outside_actors_leaves_the_next_run_clean() -> None:
    assert sf.run(endless_scenario, settings=FAST, where="invariant").kind == "hang"
    assert sf.run(endless_scenario, settings=FAST, where="none").kind == "ok"
    assert sf.run("demo.lost-update").kind in ("ok", "failure")  # nothing left behind


def slow_setup() -> None:
    """Each run spends nearly all its time in the scenario function, under the limit."""
    time.sleep(0.02)
    spawn(lambda: None, name="a")


def test_short_setups_of_many_runs_never_add_up_to_a_runaway() -> None:
    """The watchdog's clock restarts with each run: 60 runs whose setups take 20 ms each, 1.2 s
    in all and nearly all of it at step 0 outside actors, stay under a 1 s limit."""
    settings = Settings(runaway_seconds=1.0)
    kinds = {sf.run(slow_setup, settings=settings).kind for _ in range(60)}
    assert kinds == {"ok"}


def raising_snapshot() -> None:
    spawn(lambda: checkpoint("x"), name="a")
    spawn(lambda: checkpoint("x"), name="b")

    def state() -> Any:
        raise ValueError("no state today")  # raises: snapshot

    sf.snapshot(state)


sf.scenario("test.watchdog.snapshot-raises", settings=FAST)(raising_snapshot)


def test_a_snapshot_that_raises_says_it_came_from_the_snapshot() -> None:
    with pytest.raises(ValueError, match="no state today") as caught:
        sf.run(raising_snapshot, settings=FAST)
    notes = caught.value.__notes__
    assert notes == [f"raised in the scenario's snapshot() callback, at "
                     f"{__file__}:{line_of('raises: snapshot')} in state, at step 0"]


def test_the_cli_names_a_raising_snapshot_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "test.watchdog.snapshot-raises", "--engine", "dfs"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("schedfuzz explore: ValueError: no state today; raised in the "
                               "scenario's snapshot() callback, at ")
    assert f"{__file__}:{line_of('raises: snapshot')} in state" in lines[0]
    assert "Traceback" not in captured.err


@sf.scenario("test.watchdog.endless-end-check", settings=FAST)
def endless_end_check() -> None:
    endless_scenario("at_end")


def test_the_cli_reports_a_runaway_end_check_and_exits(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The command ends (it does not hang) with the runaway verdict and no traceback."""
    code = main(["explore", "test.watchdog.endless-end-check", "--engine", "random", "--json"])
    captured = capsys.readouterr()
    assert code == 1
    report = json.loads(captured.out)
    assert report["verdict"] == "hang"
    assert "Traceback" not in captured.err


BLOCKED_IN_SETUP = """
import signal, time
import schedfuzz as sf

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal


def scenario():
    sf.spawn(lambda: None, name="a")
    time.sleep(600)  # a call the scheduler does not control


outcome = sf.run(scenario, settings=sf.Settings(runaway_seconds=0.3))
print(outcome.kind)
print(outcome.error)
"""


def test_a_scenario_function_blocked_in_a_call_is_stopped_and_located(tmp_path: Path) -> None:
    """A blocking call takes no asynchronous exception: the SIGINT that follows interrupts
    it. In its own process, so a failure of the mechanism fails this test instead of hanging
    the suite."""
    script = tmp_path / "blocked.py"
    script.write_text(BLOCKED_IN_SETUP)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    kind, message = done.stdout.splitlines()[:2]
    assert kind == "hang"
    line = next(i for i, text in enumerate(BLOCKED_IN_SETUP.splitlines(), 1)
                if "time.sleep(600)" in text)
    assert message.startswith(f"RunawayActor: scenario function scenario ran 0.3s "
                              f"(Settings.runaway_seconds) without returning, at "
                              f"{script}:{line} in scenario. Blocked in a call")
