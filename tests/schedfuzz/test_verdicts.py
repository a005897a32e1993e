"""Each verdict kind, reached by a small program under a hand-written schedule.

The schedules are scripts of actor names (``ScriptOracle``) or decision lists, so every test is
deterministic and states exactly which interleaving shows the bug.
"""

from __future__ import annotations

import pytest
import schedfuzz as sf
from schedfuzz import Schedule, ScriptOracle


def run(name: str, oracle: sf.Oracle | None = None, **kw: object) -> sf.Outcome:
    return sf.run(name, oracle=oracle, **kw)  # type: ignore[arg-type]


def test_lost_update_is_an_actor_failure() -> None:
    """inc0 reads, inc1 runs to the end, inc0 writes its stale value: one update is lost."""
    outcome = run("demo.lost-update", ScriptOracle(["inc0", "inc0", "inc1"]))
    assert outcome.kind == "failure"
    assert isinstance(outcome.error, AssertionError)
    assert "counter is 1, expected 2" in str(outcome.error)
    assert outcome.result.preemptions == 1
    assert outcome.schedule.decisions[:3] == (0, 0, 1)


def test_lost_update_needs_a_preemption() -> None:
    """Without preemption each increment runs whole and nothing is lost."""
    assert run("demo.lost-update").kind == "ok"


def test_abba_deadlock_names_the_cycle() -> None:
    """one holds A and waits for B; two holds B and waits for A."""
    outcome = run("demo.abba", ScriptOracle(["one", "one", "two"]))
    assert outcome.kind == "deadlock"
    error = outcome.error
    assert isinstance(error, sf.Deadlock)
    assert error.details["cycle"] == [("one", "Lock 'B'", "two"), ("two", "Lock 'A'", "one")]
    assert "one waits for Lock 'B' held by two; two waits for Lock 'A' held by one" in str(error)


def test_condition_notified_before_wait_is_a_missed_wakeup() -> None:
    """The notifier runs first; its notify finds no waiter and is lost."""
    outcome = run("demo.condition-missed-wakeup", ScriptOracle(["notifier"]))
    assert outcome.kind == "missed_wakeup"
    assert isinstance(outcome.error, sf.MissedWakeup)
    assert outcome.error.details["lost_at"] == 2  # the notify step
    assert "before it waited" in str(outcome.error)
    assert "woken now, it would go on" in str(outcome.error)


def test_deadlock_cycle_comes_before_a_condition_that_holds() -> None:
    """A sleeper whose condition holds is a missed wakeup only when no cycle explains the stop:
    the cycle is named, and the sleeper is still listed with its condition."""
    def scenario() -> None:
        flag = sf.Event("flag")
        a, b = sf.Lock("A"), sf.Lock("B")

        def sleeper() -> None:
            flag.wait()

        def one() -> None:
            flag.flag = True  # sets the flag without waking the sleeper
            with a:
                sf.checkpoint("between")
                with b:
                    pass

        def two() -> None:
            with b, a:
                pass

        sf.spawn(sleeper, name="sleeper")
        sf.spawn(one, name="one")
        sf.spawn(two, name="two")

    script = ScriptOracle(["sleeper", "sleeper", "one", "one", "one", "two", "two"])
    outcome = run(scenario, script)  # type: ignore[arg-type]
    assert outcome.kind == "deadlock", outcome.error
    assert isinstance(outcome.error, sf.Deadlock)
    assert [w for w, _, _ in outcome.error.details["cycle"]] == ["one", "two"]
    assert "sleeper: blocked in Event 'flag' since step 1; its condition is TRUE" in str(
        outcome.error)


def test_condition_waiter_first_is_fine() -> None:
    assert run("demo.condition-missed-wakeup").kind == "ok"


def test_event_never_set_is_a_hang_not_a_deadlock() -> None:
    outcome = run("demo.event-hang")
    assert outcome.kind == "hang"
    assert isinstance(outcome.error, sf.Hang)
    assert not isinstance(outcome.error, sf.Deadlock)
    assert "waiter: blocked in Event 'never'" in str(outcome.error)


def test_polite_actors_livelock_is_a_fair_lasso() -> None:
    """Both take their own lock, both fail the other's trylock, both back off: forever."""
    script = ScriptOracle(["alice", "alice", "bob", "bob", "alice", "bob"], repeat_from=4)
    outcome = run("demo.polite-livelock", script)
    assert outcome.kind == "livelock"
    error = outcome.error
    assert isinstance(error, sf.Livelock)
    assert error.proved
    first, end = error.details["lasso"]
    assert (first, end) == (5, 13)  # stem of 5 steps, a cycle of 8: each actor runs 4 steps
    assert outcome.schedule.cycle_start is not None
    cycle = outcome.result.trace.rows[first:end]
    assert {row[0] for row in cycle} == {0, 1}  # fair: both ran in the cycle
    assert "back to step 5" in sf.explain(outcome)


def test_livelock_reproducer_replays_to_the_same_lasso() -> None:
    script = ScriptOracle(["alice", "alice", "bob", "bob", "alice", "bob"], repeat_from=4)
    outcome = run("demo.polite-livelock", script)
    again = sf.run("demo.polite-livelock", schedule=outcome.schedule.encode())
    assert again.kind == "livelock"
    assert again.result.lasso == outcome.result.lasso
    assert again.result.trace.lines() == outcome.result.trace.lines()


def test_retrying_on_a_resource_it_holds_itself_is_a_livelock() -> None:
    outcome = run("demo.self-retry")
    assert outcome.kind == "livelock"
    assert isinstance(outcome.error, sf.Livelock)
    assert outcome.error.proved
    first, end = outcome.result.lasso[:2]  # type: ignore[index]
    rows = outcome.result.trace.rows[first:end]
    assert [label for _, label, _ in rows] == ["try_acquire", "retry"]


def test_long_terminating_loop_is_not_a_livelock() -> None:
    """10,000 iterations revisit the same line, but the loop counter differs each time."""
    outcome = run("demo.bounded-loop", iterations=10_000)
    assert outcome.kind == "ok"
    assert outcome.result.steps == 10_001


def test_spin_wait_on_another_actor_is_not_a_livelock() -> None:
    """The spinner never yields; the fair quantum still lets the setter run."""
    for schedule in ([], [0, 0, 0], [1]):
        outcome = sf.run("demo.spin-wait", schedule=Schedule(schedule))
        assert outcome.kind == "ok", schedule


def test_spin_wait_starved_by_the_oracle_is_not_reported() -> None:
    """An oracle that keeps the spinner running makes an unfair cycle: no livelock verdict."""
    outcome = sf.run("demo.spin-wait", oracle=sf.ReplayOracle([0] * 300),
                     settings=sf.Settings(fair_quantum=10_000, max_steps=2_000))
    assert outcome.kind == "step_bound"  # only the step bound, and the message says so
    assert isinstance(outcome.error, sf.StepBound)
    assert "bound, not a proof" in str(outcome.error)


@pytest.mark.parametrize("name", ["demo.lost-update", "demo.abba", "demo.event-hang"])
def test_default_schedule_of_every_demo_is_deterministic(name: str) -> None:
    a, b = run(name), run(name)
    assert a.result.trace.lines() == b.result.trace.lines()
    assert a.schedule == b.schedule
