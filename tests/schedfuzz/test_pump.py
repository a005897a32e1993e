"""Livelocks whose data grows: the pumping step after a search (``schedfuzz.livelock.pump``).

A polite back-off whose actors count their rounds never repeats a state, so no lasso proves it,
and no engine's schedule sustains it: every search ends "ok". After the search, the engines
replay their longest runs, find a fair, progress-free cycle of the control state, pump its
decisions to ``max_steps`` and report a livelock candidate naming the values that change.
Every search here is bounded by schedules (and pumping by runs), never by seconds; the
scenarios carry a small ``max_steps`` so that each pumped run is short.
"""

from __future__ import annotations

import inspect
import re
import sys
from typing import Any

import pytest
import schedfuzz as sf
from schedfuzz import Livelock, Lock, Settings, checkpoint, corpus, progress, scenario, spawn
from schedfuzz.cli import main
from schedfuzz.explore import Budget, Report, explore
from schedfuzz.livelock import pump, reads

SMALL = Settings(max_steps=2000)
ENGINES = ["hypothesis", "random"]


def polite(mine: Lock, theirs: Lock, count: Any, until: int | None = None) -> None:
    """Take my lock, try theirs, back off and retry; ``count()`` after every failed round."""
    rounds = 0
    while until is None or rounds < until:
        mine.acquire()
        if theirs.try_acquire():
            theirs.release()
            mine.release()
            progress("both locks")
            return
        mine.release()
        rounds += 1
        count()
        checkpoint("back off", yield_=True)


@scenario("test.pump.polite-rounds", expect="livelock", settings=SMALL)
def polite_rounds() -> None:
    """Two polite actors, each counting its rounds in a local variable."""
    left, right = Lock("left"), Lock("right")

    def actor(mine: Lock, theirs: Lock) -> None:
        rounds = 0
        while True:
            mine.acquire()
            if theirs.try_acquire():
                theirs.release()
                mine.release()
                return
            mine.release()
            rounds += 1
            checkpoint("back off", yield_=True)

    spawn(actor, left, right, name="alice")
    spawn(actor, right, left, name="bob")


class Stats:
    def __init__(self) -> None:
        self.attempts = 0


@scenario("test.pump.polite-attempts", expect="livelock", settings=SMALL)
def polite_attempts() -> None:
    """Two polite actors counting their attempts in a shared object's attribute."""
    left, right = Lock("left"), Lock("right")
    stats = Stats()

    def actor(mine: Lock, theirs: Lock) -> None:
        while True:
            mine.acquire()
            if theirs.try_acquire():
                theirs.release()
                mine.release()
                return
            mine.release()
            stats.attempts += 1
            checkpoint("back off", yield_=True)

    spawn(actor, left, right, name="alice")
    spawn(actor, right, left, name="bob")


@scenario("test.pump.polite-checked", expect="livelock", settings=SMALL)
def polite_checked() -> None:
    """The attempts are only written by the actors, but an invariant reads them."""
    left, right = Lock("left"), Lock("right")
    stats = Stats()

    def bump() -> None:
        stats.attempts += 1

    spawn(polite, left, right, bump, name="alice")
    spawn(polite, right, left, bump, name="bob")

    @sf.invariant
    def bounded() -> None:
        assert stats.attempts < 10**9


@scenario("test.pump.polite-reads", expect="livelock", settings=SMALL)
def polite_reads() -> None:
    """The round counter is the loop's bound, far beyond max_steps: read every round."""
    left, right = Lock("left"), Lock("right")
    spawn(polite, left, right, lambda: None, 10**9, name="alice")
    spawn(polite, right, left, lambda: None, 10**9, name="bob")


@scenario("test.pump.polite-gives-up", expect="ok", settings=SMALL)
def polite_gives_up() -> None:
    """Each actor gives up after 50 rounds: every schedule ends well within max_steps."""
    left, right = Lock("left"), Lock("right")
    spawn(polite, left, right, lambda: None, 50, name="alice")
    spawn(polite, right, left, lambda: None, 50, name="bob")


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def add(self, k: int) -> None:
        checkpoint("add")
        self.n += k


@scenario("test.pump.long-loop", expect="step_bound", settings=SMALL)
def long_loop() -> None:
    """One actor counts to 100,000: a loop whose bound lies beyond max_steps."""
    c = Counter()

    def looper() -> None:
        for _ in range(100_000):
            c.add(1)

    spawn(looper, name="looper")


@scenario("test.pump.long-loops", expect="step_bound", settings=SMALL)
def long_loops() -> None:
    """Two actors count to 100,000 each: the default policy alone outruns max_steps."""
    c = Counter()

    def looper() -> None:
        for _ in range(100_000):
            c.add(1)

    spawn(looper, name="a")
    spawn(looper, name="b")


@scenario("test.pump.shared-bound", expect="ok", settings=SMALL)
def shared_bound() -> None:
    """Two actors add to a counter until it reaches 300: its bound is read every round."""
    c = Counter()

    def looper() -> None:
        while c.n < 300:
            c.add(1)

    spawn(looper, name="a")
    spawn(looper, name="b")


def search(name: str, engine: str, schedules: int = 300) -> Report:
    budget = Budget(max_schedules=schedules, seed=0, shrink_runs=50)
    return explore(name, engine_name=engine, budget=budget)


def pumped(report: Report) -> Livelock:
    assert report.verdict == "livelock", report.note
    assert report.outcome is not None
    error = report.outcome.error
    assert isinstance(error, Livelock)
    assert error.proved is False
    assert error.details["pumped"] is True
    assert report.outcome.schedule.cycle_start is not None  # stem + a cycle that repeats
    assert report.livelock_proved is False
    assert report.to_json()["verdict"] == "livelock"
    return error


def counted(message: str, where: str) -> None:
    """``message`` shows ``where`` growing by as much every round: "rounds (...): 4, 5, 6, 7,
    ..." (by 2 where a round of the cycle holds two back-offs)."""
    found = re.search(re.escape(where) + r": (\d+), (\d+), (\d+), (\d+), \.\.\.", message)
    assert found is not None, message
    values = [int(v) for v in found.groups()]
    step = values[1] - values[0]
    assert step > 0
    assert values == list(range(values[0], values[0] + 4 * step, step))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("name", "where"), [
    ("test.pump.polite-rounds", "rounds (alice, in actor)"),
    ("test.pump.polite-attempts", "stats.attempts (alice, in actor)"),
])
def test_a_polite_back_off_whose_counter_grows_is_a_pumped_livelock(
        engine: str, name: str, where: str) -> None:
    """The default and the random engine both report it, name the counter and its values,
    and since the counter is only written, say the lasso holds modulo it (yet not proved)."""
    error = pumped(search(name, engine))
    counted(error.message, where)
    if sys.version_info >= (3, 12) or sys.gettrace() is None:  # no line tracer under another
        assert error.message.startswith("Livelock (proved modulo write-only values)")
        assert error.details["write_only"] is True


@pytest.mark.parametrize("engine", ENGINES)
def test_a_counter_the_cycle_reads_makes_an_unproved_candidate(engine: str) -> None:
    """``while rounds < 10**9`` reads the counter every round: a livelock candidate, and the
    message says where the cycle reads it."""
    error = pumped(search("test.pump.polite-reads", engine))
    assert error.message.startswith("Livelock candidate (unproved)")
    counted(error.message, "rounds (alice, in polite)")
    assert "the cycle reads rounds (alice, in polite) at test_pump.py:" in error.message
    assert error.details["write_only"] is False


def test_a_value_an_invariant_reads_makes_an_unproved_candidate() -> None:
    """Invariants run inside the cycle too: the attempts they check are read."""
    error = pumped(search("test.pump.polite-checked", "random"))
    assert error.message.startswith("Livelock candidate (unproved)")
    lines, first = inspect.getsourcelines(polite_checked)
    check = first + next(i for i, line in enumerate(lines) if "assert stats.attempts" in line)
    assert re.search(rf"the cycle reads \S*\.attempts \(alice, in polite\) at "
                     rf"test_pump\.py:{check}\b", error.message), error.message


@pytest.mark.parametrize("engine", ENGINES)
def test_the_pumped_reproducer_replays_to_the_same_verdict(
        engine: str, capsys: pytest.CaptureFixture[str]) -> None:
    report = search("test.pump.polite-rounds", engine)
    error = pumped(report)
    assert report.outcome is not None
    schedule = report.outcome.schedule
    again = sf.run("test.pump.polite-rounds", schedule=schedule)
    assert again.kind == "livelock"
    assert isinstance(again.error, Livelock)
    assert again.error.message == error.message
    assert again.schedule == schedule
    assert main(["replay-one", "test.pump.polite-rounds", "--schedule", schedule.encode()]) == 1
    out = capsys.readouterr().out
    assert error.message.split(":")[0] in out
    assert "---- back to step" in out


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["test.pump.polite-gives-up", "test.pump.shared-bound"])
def test_a_loop_that_ends_within_max_steps_is_never_reported(engine: str, name: str) -> None:
    """Pumped or not, a back-off that gives up after 50 rounds, or two actors counting to a
    shared bound, end: no verdict, though their cycles were pumped."""
    report = search(name, engine)
    assert report.verdict == "ok", report.note
    assert report.stats.get("pump_runs", 0) > 0  # there were cycles to pump, and they ended


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["test.pump.long-loop", "test.pump.long-loops"])
def test_a_long_loop_is_a_step_bound_not_a_livelock(engine: str, name: str) -> None:
    """``for _ in range(100_000)`` needs no scheduling decision: the default policy runs it
    into max_steps, a StepBound. A walk's switches inside it make cycles that pump to
    max_steps as well, but the loop does not need them: nothing becomes a livelock."""
    report = search(name, engine, schedules=20)
    assert report.verdict == "step_bound"
    assert report.outcome is not None
    assert not isinstance(report.outcome.error, Livelock)


def test_a_cycle_that_needs_no_decision_is_not_pumped() -> None:
    """A schedule whose cycle is all default answers is the default policy's own loop."""
    info = sf.resolve("test.pump.shared-bound")
    assert pump.settle(info, {}, SMALL, sf.Schedule((0, 0, 0), 1), None) is None


def test_a_pump_that_leaves_the_cycle_is_not_reported() -> None:
    """A cycle taken from a window of a run that ends (the back-off that gives up) comes back
    for 50 rounds, then the actors return: no verdict, the run's own ending stands."""
    report = search("test.pump.polite-rounds", "random")
    assert report.outcome is not None
    schedule = report.outcome.schedule
    outcome = sf.run("test.pump.polite-gives-up", schedule=schedule)
    assert outcome.kind == "ok"


def read_by(source: str, names: set[str], tmp_path: Any) -> dict[str | None, str]:
    """What ``reads.readers`` finds when every line of ``source`` executed."""
    path = tmp_path / "program.py"
    path.write_text(source)
    lines = {(str(path), n) for n in range(1, source.count("\n") + 2)}
    return reads.readers(lines, names)


@pytest.mark.parametrize("source", [
    "rounds += 1\n",
    "rounds = rounds + 1\n",
    "stats.attempts += 1\n",
    "log.append(item)\n",
    "while True:\n    rounds += 1\n",
    "if ready:\n    pass\nelse:\n    rounds += 2\n",
])
def test_writing_a_value_is_not_reading_it(source: str, tmp_path: Any) -> None:
    assert read_by(source, {"rounds", "attempts", "log"}, tmp_path) == {}


@pytest.mark.parametrize(("source", "name"), [
    ("if rounds > 3:\n    pass\n", "rounds"),
    ("while rounds < limit:\n    pass\n", "rounds"),
    ("for _ in range(stats.attempts):\n    pass\n", "attempts"),
    ("report(rounds)\n", "rounds"),
    ("rounds = other + rounds\n", "rounds"),
    ("log.append(len(log))\n", "log"),
    ("x = table['rounds']\n", "rounds"),
])
def test_loading_a_value_reads_it(source: str, name: str, tmp_path: Any) -> None:
    assert read_by(source, {name}, tmp_path) == {name: "program.py:1"}


@pytest.mark.parametrize("source", ["x = getattr(stats, field)\n", "print(vars(stats))\n",
                                    "x = stats.__dict__\n"])
def test_a_dynamic_load_could_read_anything(source: str, tmp_path: Any) -> None:
    assert None in read_by(source, {"attempts"}, tmp_path)


def test_a_line_without_source_could_read_anything() -> None:
    assert None in reads.readers({("<generated>", 1)}, {"rounds"})


def test_a_saved_pumped_livelock_replays_from_the_corpus(tmp_path: Any) -> None:
    """The corpus file keeps stem + cycle; its replay pumps the cycle again and reproduces
    the verdict, unproved as recorded, trace line for line."""
    report = search("test.pump.polite-reads", "random")
    assert report.outcome is not None
    entry = corpus.load(corpus.save(report.outcome, tmp_path))
    assert entry.cycle_start is not None
    replayed = corpus.replay_entry(entry)
    assert replayed.verdict == "livelock"
    assert replayed.proved is False
    assert replayed.passed(strict=True), replayed.summary()


def test_a_step_bound_whose_cycle_pumps_becomes_the_livelock() -> None:
    """With max_steps=300 a cycling schedule keeps the back-off going to the bound: the search
    finds a StepBound, and pumping that run's cycle turns it into the livelock it is."""
    report = explore("test.pump.polite-rounds", engine_name="hypothesis",
                     budget=Budget(max_schedules=300, seed=0), settings=Settings(max_steps=300))
    pumped(report)
    assert "pumping the cycle of that step bound" in report.note


def test_no_pumping_with_livelock_detection_off() -> None:
    """``Settings(detect_livelock=False)`` leaves only the step bound, pumped or not."""
    report = explore("test.pump.polite-rounds", engine_name="random",
                     budget=Budget(max_schedules=300, seed=0),
                     settings=Settings(max_steps=2000, detect_livelock=False))
    assert report.verdict == "ok"
    assert "pump_runs" not in report.stats
