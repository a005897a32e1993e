"""The oracle seam: a run tells its oracle when it starts, asks actors and values apart, and
shows it a read-only view of the run; anything else given as an oracle is refused in one line."""

from __future__ import annotations

import pytest
import schedfuzz as sf
from schedfuzz._core.runner import Runner
from schedfuzz.errors import InvalidArgument


def _picker() -> None:
    def chooser() -> None:
        sf.checkpoint()
        sf.choose(["a", "b", "c"], label="pick")

    def other() -> None:
        sf.checkpoint()

    sf.spawn(chooser, name="chooser")
    sf.spawn(other, name="other")


class Recording(sf.Oracle):
    """Answers the last actor and the last value, and records what it was asked and saw."""

    def __init__(self) -> None:
        self.runs = 0
        self.asked: list[tuple[str, int, int]] = []

    def new_run(self, run: sf.RunView) -> None:
        super().new_run(run)
        self.runs += 1

    def choose_actor(self, n: int) -> int:
        assert self.run is not None
        order = self.run.choice_order()
        assert sorted(a.aid for a in order) == [a.aid for a in self.run.runnable]
        if self.run.keep:
            assert order[0] is self.run.current
        self.asked.append(("actor", n, self.run.step))
        return n - 1

    def choose_value(self, n: int) -> int:
        assert self.run is not None
        self.asked.append(("value", n, self.run.step))
        return n - 1


def test_actor_and_value_questions_reach_their_own_methods_in_order() -> None:
    oracle = Recording()
    result = Runner(_picker, {}, oracle, sf.Settings()).run()
    kinds = [kind for kind, _, _ in oracle.asked]
    assert "value" in kinds
    assert "actor" in kinds
    assert [n for kind, n, _ in oracle.asked if kind == "value"] == [3]
    # One list of decisions holds both kinds, in the order they were asked.
    assert result.decisions == [n - 1 for _, n, _ in oracle.asked]
    assert result.values == [(step, 2) for kind, _, step in oracle.asked if kind == "value"]


def test_new_run_is_told_once_per_run_and_a_reused_oracle_starts_again() -> None:
    oracle = Recording()
    first = Runner(_picker, {}, oracle, sf.Settings()).run()
    oracle.asked.clear()
    second = Runner(_picker, {}, oracle, sf.Settings()).run()
    assert oracle.runs == 2
    assert first.decisions == second.decisions
    assert oracle.run is None  # end_run let the finished run go


def test_a_schedule_oracle_replays_its_plan_from_the_start_in_every_run() -> None:
    from schedfuzz.plans import Deviation, ScheduleOracle, SchedulePlan

    oracle = ScheduleOracle(SchedulePlan((Deviation(0, 1),)))
    runs = [Runner(_picker, {}, oracle, sf.Settings()).run() for _ in range(2)]
    assert runs[0].decisions == runs[1].decisions
    assert runs[0].decisions[0] == 1
    assert oracle.exhausted


def test_an_object_that_is_not_an_oracle_is_refused_in_one_line() -> None:
    class OldStyle:
        exhausted = False

        def choose(self, n: int) -> int:
            return 0

    with pytest.raises(InvalidArgument, match=r"subclass schedfuzz\.Oracle") as info:
        Runner(_picker, {}, OldStyle(), sf.Settings())  # type: ignore[arg-type]
    assert "choose_actor(n) and choose_value(n)" in str(info.value)
    assert "\n" not in str(info.value)


def test_an_oracle_that_answers_actors_only_fails_loudly_at_a_value_question() -> None:
    class ActorsOnly(sf.Oracle):
        def choose_actor(self, n: int) -> int:
            return 0

    with pytest.raises(NotImplementedError, match=r"ActorsOnly does not define choose_value\(n\)"):
        Runner(_picker, {}, ActorsOnly(), sf.Settings()).run()
