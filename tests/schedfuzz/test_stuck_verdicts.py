"""One bug, one verdict: how a stuck run is classified, whatever engine or seed reached it.

A stuck run (live actors, none can run) is a deadlock if the waits form a cycle, else a missed
wakeup if some sleeper would have been released by a wake-up that did not reach it, else a hang.
The tests below run each program under every engine (and several seeds), and where the program
is small enough under *every* schedule, and pin the one verdict kind it must get.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schedfuzz as sf
from schedfuzz import (
    Condition,
    Event,
    Lock,
    ScriptOracle,
    Semaphore,
    WaitQueue,
    checkpoint,
    choose,
    progress,
    spawn,
)
from schedfuzz._core.runner import Runner
from schedfuzz.explore import Budget, explore

ENGINES = [("dfs", 0), ("pct", 0), ("hypothesis", 0)] + [("random", s) for s in range(5)]


def verdicts_of_engines(scenario: Callable[..., Any]) -> dict[str, str]:
    """The verdict kind each engine (and seed) reports, searching at most 300 schedules."""
    out = {}
    for engine, seed in ENGINES:
        report = explore(scenario, engine_name=engine,
                         budget=Budget(max_schedules=300, seed=seed, shrink_seconds=0))
        outcome = report.outcome if report.failed else None
        out[f"{engine}/{seed}"] = "ok" if outcome is None else outcome.kind
    return out


class _Prefix(sf.Oracle):
    """Answers ``prefix`` at the first choice points, then 0; records every width."""

    def __init__(self, prefix: tuple[int, ...]) -> None:
        self.prefix = prefix
        self.widths: list[int] = []

    def choose_actor(self, n: int) -> int:
        k = len(self.widths)
        self.widths.append(n)
        return self.prefix[k] if k < len(self.prefix) else 0

    choose_value = choose_actor


def verdicts_of_every_schedule(scenario: Callable[..., Any], limit: int = 2_000) -> set[str]:
    """The verdict kinds of every schedule of a small program (stateless, exhaustive)."""
    kinds: set[str] = set()
    stack: list[tuple[int, ...]] = [()]
    runs = 0
    while stack:
        prefix = stack.pop()
        oracle = _Prefix(prefix)
        kinds.add(Runner(scenario, {}, oracle, sf.Settings()).run().kind)  # type: ignore[arg-type]
        runs += 1
        assert runs <= limit, "the program has more schedules than this test means to run"
        full = prefix + (0,) * (len(oracle.widths) - len(prefix))
        for i in range(len(prefix), len(oracle.widths)):
            stack.extend((*full[:i], d) for d in range(1, oracle.widths[i]))
    return kinds


def assert_one_verdict(scenario: Callable[..., Any], kind: str, *,
                       every_schedule: bool = True, limit: int = 2_000) -> None:
    found = verdicts_of_engines(scenario)
    assert set(found.values()) == {kind}, found
    if every_schedule:
        assert verdicts_of_every_schedule(scenario, limit) - {"ok"} == {kind}


def _forced_abba() -> None:
    """one holds A and waits for B; two holds B and waits for A: a cycle under every schedule."""
    a, b = Lock("A"), Lock("B")
    has_a, has_b = Event("has_a"), Event("has_b")

    def one() -> None:
        with a:
            has_a.set()
            has_b.wait()
            with b:
                pass

    def two() -> None:
        with b:
            has_b.set()
            has_a.wait()
            with a:
                pass

    spawn(one, name="one")
    spawn(two, name="two")


# -- a harmless lost notify, then a plain hang ------------------------------------------------


def producer_consumer_hang() -> None:
    """The producer makes one item; the consumer takes two. If the producer runs first its notify
    finds nobody (lost), but the consumer takes that item without waiting: the notify was not
    needed. The consumer then waits for a second item nobody makes: a hang, in every schedule."""
    cond = Condition(name="nonempty")
    items: list[int] = []

    def producer() -> None:
        with cond:
            items.append(1)
            cond.notify()

    def consumer() -> None:
        for _ in range(2):
            with cond:
                while not items:
                    cond.wait()
                items.pop()

    spawn(producer, name="producer")
    spawn(consumer, name="consumer")


def test_harmless_lost_notify_then_hang_is_a_hang_for_every_engine_and_seed() -> None:
    assert_one_verdict(producer_consumer_hang, "hang")


@pytest.mark.parametrize("script", [["producer"], ["consumer"]])
def test_harmless_lost_notify_either_order_is_a_hang(script: list[str]) -> None:
    """Producer first (its notify is lost) or consumer first (its notify is received): the
    consumer is stuck at the same place in the same state, and gets the same verdict."""
    outcome = sf.run(producer_consumer_hang, oracle=ScriptOracle(script))
    assert outcome.kind == "hang"
    assert isinstance(outcome.error, sf.Hang)
    assert "consumer: blocked in Condition 'nonempty'" in str(outcome.error)


def test_harmless_lost_notify_with_wait_for_is_a_hang() -> None:
    def scenario() -> None:
        cond = Condition(name="nonempty")
        items: list[int] = []

        def producer() -> None:
            with cond:
                items.append(1)
                cond.notify()

        def consumer() -> None:
            for _ in range(2):
                with cond:
                    cond.wait_for(lambda: bool(items))
                    items.pop()

        spawn(producer, name="producer")
        spawn(consumer, name="consumer")

    assert_one_verdict(scenario, "hang")


def test_hang_with_an_abba_cycle_is_a_deadlock_naming_the_cycle() -> None:
    def scenario() -> None:
        producer_consumer_hang()
        _forced_abba()

    assert_one_verdict(scenario, "deadlock", every_schedule=False)
    outcome = sf.run(scenario)
    assert isinstance(outcome.error, sf.Deadlock)
    assert outcome.error.details["cycle"] == [("one", "Lock 'B'", "two"),
                                              ("two", "Lock 'A'", "one")]


def test_woken_sleeper_that_raises_is_not_released() -> None:
    """``if`` instead of ``while``: woken with no item, the consumer's pop would raise, so the
    lost notify (the item was taken already) would not have released it: a hang."""
    def scenario() -> None:
        cond = Condition(name="nonempty")
        items: list[int] = []

        def producer() -> None:
            with cond:
                items.append(1)
                cond.notify()

        def consumer() -> None:
            for _ in range(2):
                with cond:
                    if not items:
                        cond.wait()
                    items.pop()

        spawn(producer, name="producer")
        spawn(consumer, name="consumer")

    assert_one_verdict(scenario, "hang")


# -- real missed wakeups ----------------------------------------------------------------------


def check_outside_the_lock() -> None:
    """The consumer checks ``ready`` without the lock, then waits; the producer can set it and
    notify in between, and the notify is lost."""
    cond = Condition(name="ready")
    ready = [False]

    def consumer() -> None:
        if not ready[0]:
            with cond:
                cond.wait()

    def producer() -> None:
        with cond:
            ready[0] = True
            cond.notify()

    spawn(consumer, name="consumer")
    spawn(producer, name="producer")


def test_check_outside_the_lock_is_a_missed_wakeup_for_every_engine() -> None:
    assert_one_verdict(check_outside_the_lock, "missed_wakeup")
    outcome = sf.run(check_outside_the_lock, oracle=ScriptOracle(["consumer", "producer"]))
    assert outcome.kind == "missed_wakeup"
    assert isinstance(outcome.error, sf.MissedWakeup)
    assert outcome.error.details["lost_at"] == 3  # the producer's notify
    assert "woken now, it would go on" in str(outcome.error)


def test_notify_before_the_waiter_checked_is_a_missed_wakeup_for_every_engine() -> None:
    def scenario() -> None:
        cond = Condition(name="go")

        def waiter() -> None:
            checkpoint("prepare")
            with cond:
                cond.wait()

        def notifier() -> None:
            with cond:
                cond.notify()

        spawn(waiter, name="waiter")
        spawn(notifier, name="notifier")

    assert_one_verdict(scenario, "missed_wakeup")


def test_missed_wakeup_with_an_abba_cycle_is_a_deadlock_naming_the_cycle() -> None:
    def scenario() -> None:
        check_outside_the_lock()
        _forced_abba()

    assert_one_verdict(scenario, "deadlock", every_schedule=False)
    # The schedule that loses the notify, then runs the lock pair into their cycle.
    script = ["consumer", "producer", "producer", "consumer"]
    outcome = sf.run(scenario, oracle=ScriptOracle(script))
    assert outcome.kind == "deadlock"
    assert isinstance(outcome.error, sf.Deadlock)
    assert "one waits for Lock 'B' held by two; two waits for Lock 'A' held by one" in str(
        outcome.error)
    assert "consumer: blocked in Condition 'ready'" in str(outcome.error)


def test_raw_wait_queue_checked_before_enqueue_is_a_missed_wakeup() -> None:
    """The kernel shape of the bug: test the condition, then enqueue and sleep unconditionally."""
    def scenario() -> None:
        wq = WaitQueue("done")
        done = [False]

        def sleeper() -> None:
            if not done[0]:
                waiter = wq.prepare_to_wait()
                waiter.sleep("done")
                wq.finish_wait(waiter)

        def waker() -> None:
            done[0] = True
            wq.wake_up()

        spawn(sleeper, name="sleeper")
        spawn(waker, name="waker")

    assert_one_verdict(scenario, "missed_wakeup")


def test_woken_sleeper_needing_a_lock_a_stuck_actor_holds_is_not_released() -> None:
    """The notify was lost, but woken the waiter would need the condition's lock, which an actor
    stuck forever holds: delivering the wake-up would not release it. A hang."""
    def scenario() -> None:
        cond = Condition(name="c")
        never = Event("never")

        def waiter() -> None:
            checkpoint("prepare")
            with cond:
                cond.wait()

        def notifier() -> None:
            with cond:
                cond.notify()

        def holder() -> None:
            for _ in range(3):
                checkpoint("later")
            with cond.lock:
                never.wait()

        spawn(waiter, name="waiter")
        spawn(notifier, name="notifier")
        spawn(holder, name="holder")

    outcome = sf.run(scenario, oracle=ScriptOracle(["notifier", "notifier", "notifier",
                                                    "waiter", "waiter", "waiter"]))
    assert outcome.kind == "hang", outcome.error
    assert verdicts_of_engines(scenario) == {f"{e}/{s}": "hang" for e, s in ENGINES}


def test_notify_all_before_the_second_waiter_arrives_is_a_missed_wakeup() -> None:
    """Whether the notify found nobody or woke only the first waiter, the second waiter came too
    late for it, and woken it would go on: the same verdict either way."""
    def scenario() -> None:
        cond = Condition(name="go")

        def waiter() -> None:
            with cond:
                cond.wait()

        def notifier() -> None:
            with cond:
                cond.notify_all()

        spawn(waiter, name="w1")
        spawn(waiter, name="w2")
        spawn(notifier, name="notifier")

    assert_one_verdict(scenario, "missed_wakeup", limit=10_000)
    # w2 waits, the notifier wakes it, w1 waits after: the notify was not lost, only too early.
    outcome = sf.run(scenario, oracle=ScriptOracle(["w2"]))
    assert outcome.kind == "missed_wakeup", outcome.error
    assert isinstance(outcome.error, sf.MissedWakeup)
    assert outcome.error.details["lost_at"] == 5  # notify_all, which woke w2 only
    assert "w1 waits on \"Condition 'go'\" since step 9" in str(outcome.error)
    assert "when it woke only others" in str(outcome.error)


def test_notify_before_producing_is_a_missed_wakeup_whether_the_notify_was_lost_or_not() -> None:
    """The producer notifies, then produces without notifying again. A consumer that was
    waiting is woken too early, finds nothing, sleeps again; one that was not yet waiting loses
    the notify. Both end asleep beside an item, and get one verdict."""
    def scenario() -> None:
        cond = Condition(name="nonempty")
        items: list[int] = []

        def producer() -> None:
            with cond:
                cond.notify()
            with cond:
                items.append(1)

        def consumer() -> None:
            with cond:
                while not items:
                    cond.wait()
                items.pop()

        spawn(consumer, name="consumer")
        spawn(producer, name="producer")

    assert_one_verdict(scenario, "missed_wakeup")


def test_bare_wait_after_a_wake_up_it_came_too_late_for_gets_one_verdict() -> None:
    """A bare ``wait()`` (no predicate loop) goes on whenever woken, so the probe cannot tell
    whether the earlier notify was consumed: it is a missed wakeup, but from every schedule,
    whether that notify was lost (producer first) or received by the first wait."""
    def scenario() -> None:
        cond = Condition(name="nonempty")
        items: list[int] = []

        def producer() -> None:
            with cond:
                items.append(1)
                cond.notify()

        def consumer() -> None:
            with cond:
                if not items:
                    cond.wait()
                items.pop()
            with cond:
                cond.wait()

        spawn(producer, name="producer")
        spawn(consumer, name="consumer")

    assert_one_verdict(scenario, "missed_wakeup")


# -- conditions the scheduler can evaluate ------------------------------------------------------


def test_wait_for_predicate_true_without_notify_is_a_missed_wakeup() -> None:
    def scenario() -> None:
        cond = Condition(name="ready")
        ready = [False]

        def consumer() -> None:
            with cond:
                cond.wait_for(lambda: ready[0])

        def producer() -> None:
            checkpoint("work")
            with cond:
                ready[0] = True  # forgets to notify

        spawn(consumer, name="consumer")
        spawn(producer, name="producer")

    assert_one_verdict(scenario, "missed_wakeup")
    outcome = sf.run(scenario)
    assert "although the condition it waits for holds" in str(outcome.error)


def test_event_flag_set_behind_its_back_is_a_missed_wakeup() -> None:
    def scenario() -> None:
        done = Event("done")

        def waiter() -> None:
            done.wait()

        def setter() -> None:
            checkpoint("work")
            done.flag = True  # not set(): nobody is woken

        spawn(waiter, name="waiter")
        spawn(setter, name="setter")

    assert_one_verdict(scenario, "missed_wakeup")


def test_event_set_then_cleared_before_the_wait_is_a_hang() -> None:
    def scenario() -> None:
        go = Event("go")

        def waiter() -> None:
            checkpoint("prepare")
            go.wait()

        def setter() -> None:
            go.set()
            go.clear()

        spawn(waiter, name="waiter")
        spawn(setter, name="setter")

    assert_one_verdict(scenario, "hang")


def test_semaphore_released_once_acquired_twice_is_a_hang() -> None:
    def scenario() -> None:
        slots = Semaphore(0, name="slots")

        def taker() -> None:
            slots.acquire()
            slots.acquire()

        def giver() -> None:
            slots.release()

        spawn(taker, name="taker")
        spawn(giver, name="giver")

    assert_one_verdict(scenario, "hang")


# -- a queue built on Condition, two consumers ------------------------------------------------


def _bounded_queue(put_notifies_not_empty: bool, gets: int) -> Callable[[], None]:
    def scenario() -> None:
        lock = Lock("q")
        not_empty, not_full = Condition(lock, "not_empty"), Condition(lock, "not_full")
        items: list[int] = []

        def put(x: int) -> None:
            with lock:
                while items:
                    not_full.wait()
                items.append(x)
                (not_empty if put_notifies_not_empty else not_full).notify()

        def get() -> None:
            with lock:
                while not items:
                    not_empty.wait()
                items.pop(0)
                not_full.notify()

        def producer() -> None:
            put(1)
            put(2)

        def consumer() -> None:
            for _ in range(gets):
                get()

        spawn(producer, name="producer")
        spawn(consumer, name="consumer")

    return scenario


def test_queue_whose_put_notifies_the_wrong_condition_is_a_hang() -> None:
    """``put`` notifies ``not_full``: a consumer asleep on ``not_empty`` is never woken while
    an item waits. Nothing was lost on its queue (no notify went there): a hang."""
    assert_one_verdict(_bounded_queue(False, 2), "hang")


def test_correct_queue_with_one_get_too_many_is_a_hang() -> None:
    """Every notify lost on the way was one the consumer did not need."""
    assert_one_verdict(_bounded_queue(True, 3), "hang")


def test_correct_queue_is_ok_under_every_schedule() -> None:
    assert verdicts_of_every_schedule(_bounded_queue(True, 2)) == {"ok"}


def test_two_consumers_one_item_is_a_hang() -> None:
    def scenario() -> None:
        cond = Condition(name="nonempty")
        items: list[int] = []

        def producer() -> None:
            with cond:
                items.append(1)
                cond.notify()

        def consumer() -> None:
            with cond:
                while not items:
                    cond.wait()
                items.pop()

        spawn(consumer, name="c1")
        spawn(consumer, name="c2")
        spawn(producer, name="producer")

    assert_one_verdict(scenario, "hang", every_schedule=False)
    for script in (["producer"], ["c1", "c2", "producer"], ["c1", "producer"]):
        assert sf.run(scenario, oracle=ScriptOracle(script)).kind == "hang", script


# -- the probe leaves no trace -----------------------------------------------------------------


def test_probe_leaves_the_runs_record_untouched() -> None:
    """Woken by the probe, the sleeper marks progress, chooses, annotates and spawns: none of
    it shows in the run's trace, decisions or actors, and a replay gives the same record."""
    def scenario() -> None:
        cond = Condition(name="go")

        def waiter() -> None:
            checkpoint("prepare")
            with cond:
                cond.wait()
            progress("woken")
            choose([1, 2, 3], "pick")
            sf.annotate(after="probe")
            spawn(lambda: None, name="late")

        def notifier() -> None:
            with cond:
                cond.notify()

        spawn(waiter, name="waiter")
        spawn(notifier, name="notifier")

    outcome = sf.run(scenario, oracle=ScriptOracle(["notifier"]))
    assert outcome.kind == "missed_wakeup"
    result = outcome.result
    assert len(result.trace.rows) == result.steps
    assert result.trace.names == ["waiter", "notifier"]
    assert result.trace.notes == []
    assert all(args is None or "after" not in args for _, _, args in result.trace.rows)
    again = sf.run(scenario, schedule=outcome.schedule)
    assert again.kind == "missed_wakeup"
    assert again.result.trace.lines() == result.trace.lines()
    assert again.schedule == outcome.schedule
