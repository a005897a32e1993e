"""``schedfuzz.choose``: values the oracle decides, explored, shrunk and replayed like schedules."""

from __future__ import annotations

import pytest
import schedfuzz as sf
from schedfuzz.explore import Budget, explore
from schedfuzz.search import dfs

# Bounded by schedules and shrinking runs, which decide; the seconds are a safety net that never
# binds, so the shrunk schedule does not depend on the machine's speed.
BUDGET = Budget(max_schedules=300, seconds=3600, shrink_seconds=3600, shrink_runs=2000)


def lossy(attempts: int = 2) -> None:
    """A sender tries ``attempts`` times over a link that may lose each message."""
    state = {"got": 0}

    def sender() -> None:
        for _ in range(attempts):
            sf.checkpoint("send")
            if sf.choose([True, False], "delivered?"):
                state["got"] += 1
                return

    def other() -> None:
        sf.checkpoint("idle")

    sf.spawn(sender, name="sender")
    sf.spawn(other, name="other")
    sf.snapshot(lambda: state)

    @sf.at_end
    def delivered() -> None:
        assert state["got"] == 1, "the message was lost every time"


def resend() -> None:
    """Resends until a message gets through: fine for a link that delivers in the end."""
    state = {"got": False}

    def sender() -> None:
        while not sf.choose([True, False], "delivered?"):
            sf.checkpoint("resend")
        state["got"] = True

    sf.spawn(sender, name="sender")
    sf.snapshot(lambda: state)


# Both messages lost; every other choice point answered by the default policy. The choice
# points: start, send, delivered?, send, delivered?, then the other actor's two steps.
LOST_TWICE = (0, 0, 0, 1, 0, 0, 1)


@pytest.mark.parametrize("engine", ["dfs", "random", "pct", "hypothesis"])
def test_every_engine_finds_the_values_that_fail_and_shrinks_to_the_same_schedule(
        engine: str) -> None:
    report = explore(lossy, engine_name=engine, budget=BUDGET)
    assert report.verdict == "failure"
    outcome = report.outcome
    assert outcome is not None
    assert outcome.schedule.decisions == LOST_TWICE
    assert outcome.result.preemptions == 0  # a value is not a preemption
    rows = [(outcome.result.trace.names[a], label, args)
            for a, label, args in outcome.result.trace.rows]
    assert [r for r in rows if r[1] == "delivered?"] == [
        ("sender", "delivered?", {"value": False}), ("sender", "delivered?", {"value": False})]


def test_a_failing_value_replays_from_its_schedule() -> None:
    schedule = sf.Schedule(LOST_TWICE).encode()
    with pytest.raises(AssertionError, match="the message was lost every time"):
        sf.replay(lossy, schedule)
    assert sf.run(lossy).kind == "ok"  # the default policy takes the first value: delivered


@pytest.mark.parametrize("stateful", [True, False])
@pytest.mark.parametrize("attempts", [2, 3])
def test_dfs_tries_every_value_at_no_preemption_cost(stateful: bool, attempts: int) -> None:
    """Found at level 0 with as many losses as attempts, with or without state caching (the
    state where an actor waits for its value is kept apart from the scheduling point before)."""
    report = dfs.search(sf.resolve(lossy), {"attempts": attempts}, sf.Settings(),
                        Budget(max_schedules=1000), stateful=stateful)
    assert report.verdict == "failure"
    assert report.stats["min_preemptions"] == 0
    assert report.outcome is not None
    assert report.outcome.schedule.decisions.count(1) == attempts


def test_dfs_proves_a_scenario_whose_every_value_is_fine() -> None:
    def fine() -> None:
        seen = []

        def pick() -> None:
            seen.append(sf.choose(3, "pick"))

        sf.spawn(pick, name="a")
        sf.spawn(pick, name="b")

        @sf.at_end
        def two() -> None:
            assert len(seen) == 2

    report = explore(fine, engine_name="dfs", budget=Budget(max_schedules=1000))
    assert report.verdict == "ok"
    assert report.complete
    # the 6 interleavings of two actors' two steps (start, pick), and 3 x 3 values in each
    info = sf.resolve(fine)
    every = dfs.search(info, {}, sf.Settings(), Budget(max_schedules=1000), stateful=False)
    assert every.complete
    assert every.schedules == 54
    # the state cache runs fewer: interleavings that reach one state are explored once
    assert report.schedules < 54


@pytest.mark.parametrize("engine", ["dfs", "hypothesis"])
def test_a_cycle_that_needs_the_same_loss_every_round_says_so(engine: str) -> None:
    """A livelock only for a link that may lose every message: the verdict names that."""
    report = explore(resend, engine_name=engine, budget=BUDGET)
    assert report.verdict == "livelock"
    assert report.outcome is not None
    message = str(report.outcome.result.error)
    assert "every round, choose() gives other than its first value (step 3): a livelock if " \
           "nothing obliges it to give the first one in the end" in message


def test_a_script_gives_a_value_by_its_index() -> None:
    # who starts, who sends, who takes the delivered? step, which value; and again
    script = ["sender", "sender", "sender", 1, "sender", "sender", 1]
    outcome = sf.run(lossy, oracle=sf.ScriptOracle(script))
    assert outcome.kind == "failure"
    assert outcome.schedule.decisions == LOST_TWICE
    with pytest.raises(sf.ReplayDiverged, match=r"script has 'other' at choice point 3, which "
                                                r"picks one of 2 values: give the index"):
        sf.run(lossy, oracle=sf.ScriptOracle(["sender", "sender", "sender", "other"]))


def test_choose_returns_an_option_or_an_index() -> None:
    got = []

    def scenario() -> None:
        def actor() -> None:
            got.append((sf.choose(["x", "y"]), sf.choose(4), sf.choose(("only",))))

        sf.spawn(actor, name="a")

    sf.run(scenario)
    sf.run(scenario, oracle=sf.ScriptOracle([1, 3]))
    assert got == [("x", 0, "only"), ("y", 3, "only")]  # one option: no decision taken


@pytest.mark.parametrize(("options", "message"), [
    ([], "choose([]): give a non-empty sequence of options, or their number (a positive int)"),
    (0, "choose(0): give a non-empty sequence of options, or their number (a positive int)"),
    (True, "choose(True): give a non-empty sequence of options, or their number (a positive "
           "int)"),
    ({"a", "b"}, "choose({"),
])
def test_choose_refuses_what_is_not_a_list_of_options(options: object, message: str) -> None:
    def scenario() -> None:
        sf.spawn(lambda: sf.choose(options), name="a")  # type: ignore[call-overload]

    error = sf.run(scenario).result.error
    assert isinstance(error, sf.InvalidArgument)
    assert str(error).startswith(message)


def test_choose_outside_an_actor_says_where_it_belongs() -> None:
    with pytest.raises(sf.NotInActor, match=r"choose\('coin'\) must be called from inside an "
                                            "actor"):
        sf.choose(2, "coin")


def test_the_turn_joining_shrinker_keeps_each_actors_values_when_it_moves_its_steps() -> None:
    """Shrinking reorders steps by actor: each actor's n-th choice gets its n-th value back,
    wherever its steps went, so a failure that needs the values survives the move."""
    from schedfuzz.reduce.turns import GuidedOracle, values_by_actor

    failing = sf.run(lossy, schedule=sf.Schedule(LOST_TWICE)).result
    assert failing.values == [(2, 1), (4, 1)]  # (step, index): both deliveries lost
    values = values_by_actor(failing.trace.rows, failing.values)
    assert values == {0: [1, 1]}  # the sender's
    order = [row[0] for row in failing.trace.rows]
    moved = order[-2:] + order[:-2]  # the other actor's two steps first
    again = sf.run(lossy, oracle=GuidedOracle(moved, values))
    assert again.kind == "failure"
    assert [row[0] for row in again.result.trace.rows] == moved
    assert sf.run(lossy, oracle=GuidedOracle(moved)).kind == "ok"  # the first values: delivered
