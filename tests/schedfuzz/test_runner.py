"""The run loop: switching, spawning, teardown, bounds, invariants and the runaway watchdog."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import greenlet

import pytest
import schedfuzz as sf
from schedfuzz import ScriptOracle, Settings, checkpoint, spawn


def test_actors_interleave_only_at_checkpoints() -> None:
    """The code between two traps is atomic: a row per step names the operation performed."""
    log: list[str] = []

    def scenario() -> None:
        def worker(tag: str) -> None:
            log.append(f"{tag}1")
            checkpoint("second", tag=tag)
            log.append(f"{tag}2")

        spawn(worker, "a", name="a")
        spawn(worker, "b", name="b")

    outcome = sf.run(scenario, oracle=ScriptOracle(["a", "b", "a", "b"]))
    assert outcome.kind == "ok"
    assert log == ["a1", "b1", "a2", "b2"]
    assert [(row[0], row[1]) for row in outcome.result.trace.rows] == [
        (0, "start"), (1, "start"), (0, "second"), (1, "second")]


def test_default_policy_runs_each_actor_to_its_end() -> None:
    log: list[str] = []

    def scenario() -> None:
        def worker(tag: str) -> None:
            for i in range(3):
                checkpoint("step")
                log.append(f"{tag}{i}")

        spawn(worker, "a", name="a")
        spawn(worker, "b", name="b")

    assert sf.run(scenario).kind == "ok"
    assert log == ["a0", "a1", "a2", "b0", "b1", "b2"]


def test_yield_hands_over_to_the_next_actor() -> None:
    log: list[str] = []

    def scenario() -> None:
        def worker(tag: str) -> None:
            for i in range(2):
                checkpoint("spin", yield_=True)
                log.append(f"{tag}{i}")

        spawn(worker, "a", name="a")
        spawn(worker, "b", name="b")

    sf.run(scenario)
    assert log == ["a0", "b0", "a1", "b1"]


def test_actor_can_spawn_actors_and_results_are_kept() -> None:
    handles: list[sf.current_actor.__class__] = []

    def scenario() -> None:
        def child(x: int) -> int:
            checkpoint("child")
            return x * 2

        def parent() -> int:
            handles.append(spawn(child, 21, name="child"))  # type: ignore[arg-type]
            checkpoint("parent")
            return 1

        handles.append(spawn(parent, name="parent"))  # type: ignore[arg-type]

    outcome = sf.run(scenario)
    assert outcome.kind == "ok"
    assert [h.result for h in handles] == [1, 42]  # type: ignore[attr-defined]
    assert outcome.result.trace.names == ["parent", "child"]


def test_teardown_leaves_no_greenlet_alive() -> None:
    """A deadlocked run is torn down: every actor greenlet is dead afterwards."""
    gc.collect()
    before = sum(isinstance(o, greenlet.greenlet) for o in gc.get_objects())
    for _ in range(50):
        assert sf.run("demo.abba", oracle=ScriptOracle(["one", "one", "two"])).kind == "deadlock"
    gc.collect()
    after = sum(isinstance(o, greenlet.greenlet) for o in gc.get_objects())
    assert after - before < 5


def test_finally_blocks_of_blocked_actors_run_at_teardown() -> None:
    cleaned: list[str] = []

    def scenario() -> None:
        never = sf.Event("never")

        def waiter() -> None:
            try:
                never.wait()
            finally:
                cleaned.append("waiter")

        spawn(waiter, name="waiter")

    assert sf.run(scenario).kind == "hang"
    assert cleaned == ["waiter"]


def test_checkpoint_outside_an_actor_is_a_usage_error() -> None:
    with pytest.raises(sf.NotInActor, match="must be called from inside an actor"):
        checkpoint("nowhere")
    with pytest.raises(sf.NotInActor, match="no schedfuzz run is active"):
        spawn(lambda: None)


def test_scenario_without_actors_is_rejected() -> None:
    with pytest.raises(sf.InvalidArgument, match="spawned no actor"):
        sf.run(lambda: None)


def test_nested_runs_are_rejected() -> None:
    def scenario() -> None:
        def actor() -> None:
            sf.run("demo.lost-update")

        spawn(actor, name="nester")

    outcome = sf.run(scenario)
    assert outcome.kind == "failure"
    assert isinstance(outcome.error, sf.NotInActor)
    assert "cannot be nested" in str(outcome.error)


def test_invariant_checked_after_every_step() -> None:
    def scenario() -> None:
        box = {"x": 0}

        def bump() -> None:
            for _ in range(5):
                checkpoint("bump")
                box["x"] += 1

        @sf.invariant
        def small() -> None:
            assert box["x"] < 3, f"x reached {box['x']}"

        spawn(bump, name="bumper")

    outcome = sf.run(scenario)
    assert outcome.kind == "failure"
    assert isinstance(outcome.error, AssertionError)
    assert "x reached 3" in str(outcome.error)
    assert any("invariant small failed after step 3 (bumper)" in n
               for n in outcome.error.__notes__)


def test_actor_exception_keeps_its_type_and_traceback() -> None:
    def scenario() -> None:
        def boom() -> None:
            checkpoint("about to fail")
            raise KeyError("the actor's own error")

        spawn(boom, name="boom")

    outcome = sf.run(scenario)
    assert outcome.kind == "failure"
    assert isinstance(outcome.error, KeyError)
    assert outcome.result.actor == "boom"
    with pytest.raises(KeyError) as info:
        sf.execute.raise_for(outcome)
    assert "replay: schedfuzz replay-one" in "\n".join(info.value.__notes__)
    frames = []
    tb = info.value.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert "boom" in frames


def test_ctrl_c_inside_an_actor_stops_the_run_instead_of_failing_it() -> None:
    """A KeyboardInterrupt lands wherever the program is, mostly inside an actor: it is the
    user's, so it leaves the run (every actor torn down), never becomes the actor's failure."""
    unwound = []

    def scenario() -> None:
        def victim() -> None:
            checkpoint("working")
            raise KeyboardInterrupt

        def bystander() -> None:
            try:
                checkpoint("waiting")
                checkpoint("waiting")
            finally:
                unwound.append("bystander")

        spawn(bystander, name="bystander")
        spawn(victim, name="victim")

    with pytest.raises(KeyboardInterrupt):
        sf.run(scenario, oracle=ScriptOracle(["bystander", "victim", "victim"]))
    assert unwound == ["bystander"]
    assert sf.run("demo.lost-update").kind == "ok"  # the next run starts: none left behind


def test_runaway_actor_is_stopped_and_located() -> None:
    def scenario() -> None:
        def runaway() -> None:
            checkpoint("enter")
            while True:
                pass

        spawn(runaway, name="runaway")

    outcome = sf.run(scenario, settings=Settings(runaway_seconds=0.3))
    assert outcome.kind == "hang"
    assert isinstance(outcome.error, sf.RunawayActor)
    assert outcome.error.details["actor"] == "runaway"
    assert "test_runner.py" in outcome.error.details["where"]
    assert "without reaching a scheduling point" in str(outcome.error)


BLOCKED_ON_A_REAL_LOCK = """
import signal, threading
import schedfuzz as sf

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal


def scenario():
    lock = threading.Lock()  # not a schedfuzz primitive: the scheduler cannot see it

    def worker():
        with lock:  # the second actor blocks here for good
            sf.checkpoint("inside")

    sf.spawn(worker, name="a")
    sf.spawn(worker, name="b")


outcome = sf.run(scenario, oracle=sf.ScriptOracle(["a", "b"]),
                 settings=sf.Settings(runaway_seconds=0.3))
print(outcome.kind)
print(outcome.error)
"""


def test_actor_blocked_in_a_real_lock_is_stopped_and_located(tmp_path: Path) -> None:
    """A blocking call in C never takes the watchdog's asynchronous exception; without the
    SIGINT that follows it, the process would hang for good. In its own process, so a failure
    of the mechanism fails this test instead of hanging the suite."""
    script = tmp_path / "blocked.py"
    script.write_text(BLOCKED_ON_A_REAL_LOCK)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    kind, message = done.stdout.splitlines()[:2]
    assert kind == "hang"
    assert message.startswith("RunawayActor: b ran 0.3s")
    line = next(i for i, text in enumerate(BLOCKED_ON_A_REAL_LOCK.splitlines(), 1)
                if "with lock:" in text)
    assert f"{script}:{line} in worker" in message
    assert "Blocked in a call the scheduler does not control" in message


def test_step_bound_is_named_and_not_called_a_proof() -> None:
    def scenario() -> None:
        def forever() -> None:
            i = 0
            while True:
                i += 1
                checkpoint("count")

        spawn(forever, name="counter")

    outcome = sf.run(scenario, settings=Settings(max_steps=500))
    assert outcome.kind == "step_bound"
    assert isinstance(outcome.error, sf.StepBound)
    assert not isinstance(outcome.error, sf.Livelock)
    assert outcome.livelock_proved is None
    assert "500 steps (Settings.max_steps)" in str(outcome.error)
    assert "bound, not a proof" in str(outcome.error)


def test_progress_mark_inside_a_cycle_prevents_a_livelock_verdict() -> None:
    def scenario() -> None:
        def busy() -> None:
            for _ in range(2000):
                sf.progress("did work")
                checkpoint("again")

        spawn(busy, name="busy")

    # The state repeats every step (no counter in its frame), but progress fires inside.
    def scenario_with_hidden_count() -> None:
        def busy() -> None:
            while True:
                sf.progress("did work")
                checkpoint("again")

        spawn(busy, name="busy")

    outcome = sf.run(scenario_with_hidden_count, settings=Settings(max_steps=400))
    assert outcome.kind == "step_bound"  # no proved lasso: only the bound stops it
    assert isinstance(outcome.error, sf.StepBound)
    assert sf.run(scenario).kind == "ok"


@pytest.mark.parametrize(
    ("settings", "field"),
    [({"max_steps": 0}, "max_steps"), ({"fair_quantum": -1}, "fair_quantum"),
     ({"runaway_seconds": 0}, "runaway_seconds"), ({"max_steps": True}, "max_steps")],
)
def test_bad_settings_name_the_field(settings: dict[str, object], field: str) -> None:
    with pytest.raises(sf.InvalidArgument, match=f"Settings.{field}"):
        Settings(**settings)  # type: ignore[arg-type]


def test_unknown_scenario_and_parameter_are_one_line_errors() -> None:
    with pytest.raises(sf.InvalidArgument, match=r"unknown scenario 'demo\.nope'"):
        sf.run("demo.nope")
    with pytest.raises(sf.InvalidArgument, match="has no parameter 'bogus'"):
        sf.run("demo.lost-update", bogus=1)


def _typed(n=2, m: int = 3, rate: float = 0.5, name: str = "x", on: bool = False,
           loops: int | None = 1) -> None:
    """n has no annotation on purpose."""
    spawn(lambda: None, name="a")


@pytest.mark.parametrize(("params", "message"), [
    ({"m": "3"}, r"parameter m takes int values like its default 3, got '3'"),
    ({"m": True}, r"parameter m takes int values like its default 3, got True"),
    ({"m": None}, r"parameter m takes int values like its default 3, got None"),
    ({"on": 1}, r"parameter on takes bool values like its default False, got 1"),
    ({"name": 5}, r"parameter name takes str values like its default 'x', got 5"),
    ({"rate": "fast"}, r"parameter rate takes float values like its default 0.5, got 'fast'"),
])
def test_a_parameter_of_another_type_than_its_default_is_refused(
        params: dict[str, object], message: str) -> None:
    """Refused before the run: inside it, the scenario's own TypeError would pass for a bug of
    the program under test."""
    with pytest.raises(sf.InvalidArgument, match=message):
        sf.run(_typed, **params)


def test_parameters_of_the_default_type_or_none_where_allowed_run() -> None:
    """An int where a float is the default is fine; None where the annotation admits it, or
    where there is no annotation to say otherwise."""
    assert sf.run(_typed, m=4, rate=1, name="y", on=True, loops=None, n=None).kind == "ok"
