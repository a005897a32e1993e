"""Unmodified threading code under the scheduler: bugs found at the fewest preemptions, fixed
versions proved within a bound, every verdict, virtual time, and nothing left patched."""

from __future__ import annotations

import _thread
import threading
import time

import pytest
import schedfuzz
from schedfuzz.explore import Budget, explore
from schedfuzz.threads import as_scenario, fuzz_threads, model, threaded
from threading_code import bank, bqueue, pool

POOL = ("threading_code.pool",)


def _dfs(fn, preempt_in=(), bound=2, **params):
    return explore(as_scenario(fn, preempt_in=preempt_in), engine_name="dfs",
                   budget=Budget(max_preemptions=bound, max_schedules=20_000), **params)


@pytest.mark.parametrize(("buggy", "preempt_in"), [
    (bank.test_check_then_act, ()),
    (bqueue.test_if_wait, ()),
    (pool.test_unlocked_count, POOL),
])
def test_each_bug_is_found_at_one_preemption_by_every_engine(buggy, preempt_in) -> None:
    report = _dfs(buggy, preempt_in)
    assert report.verdict == "failure"
    assert report.outcome.result.preemptions == 1  # dfs: proved the fewest
    for engine in ("random", "hypothesis"):
        sampled = explore(as_scenario(buggy, preempt_in=preempt_in), engine_name=engine,
                          budget=Budget(max_schedules=300, seed=1))
        assert sampled.verdict == "failure", engine
        assert sampled.outcome.result.preemptions == 1, engine


@pytest.mark.parametrize(("fixed", "preempt_in"), [
    (bank.test_withdraw_answers, ()),
    (bqueue.test_while_wait, ()),
    (pool.test_locked_count, POOL),
])
def test_each_fixed_version_is_proved_within_two_preemptions(fixed, preempt_in) -> None:
    report = model(fixed, max_preemptions=2, preempt_in=preempt_in)
    assert report.stats["verified_preemptions"] == 2
    assert report.proof == "bounded"
    assert not report.inexact  # threads, locks and conditions are all exact state


def test_the_counter_race_needs_the_line_level_points() -> None:
    assert _dfs(pool.test_unlocked_count).verdict == "ok"  # atomic between threading calls
    report = _dfs(pool.test_unlocked_count, POOL)
    rows = [label for _, label, _ in report.outcome.result.trace.rows]
    assert "pool.py:18" in rows  # the trace names the line of the unguarded count


def test_a_bug_fails_an_ordinary_pytest_test_through_fuzz_threads() -> None:
    test = fuzz_threads(bank.test_check_then_act)
    with pytest.raises(AssertionError, match="spent \\[80, 80\\]"):
        test()


def test_model_raises_the_failure_with_its_trace() -> None:
    with pytest.raises(AssertionError) as info:
        model(bank.test_check_then_act)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "teller-0" in notes
    assert "teller-1" in notes
    assert "replay:" in notes


@threaded
def _abba() -> None:
    a, b = threading.Lock(), threading.Lock()

    def one() -> None:
        with a, b:
            pass

    def two() -> None:
        with b, a:
            pass

    threads = [threading.Thread(target=one, name="one"), threading.Thread(target=two, name="two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_deadlock_names_threads_and_where_the_locks_were_made() -> None:
    report = _dfs(_abba)
    assert report.verdict == "deadlock"
    message = str(report.outcome.error)
    assert "one waits for Lock test_threads.py:" in message
    assert "held by two" in message
    assert "_abba" in message  # the lock is named by the function that made it


@threaded
def _join_never_ends() -> None:
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, name="waiter")
    worker.start()
    worker.join()


def test_joining_a_thread_that_never_ends_is_a_hang() -> None:
    report = _dfs(_join_never_ends)
    assert report.verdict == "hang"
    assert "join waiter" in str(report.outcome.error)


@threaded
def _lost_notify() -> None:
    cond = threading.Condition()
    ready = []

    def consumer() -> None:
        with cond:
            cond.wait_for(lambda: ready)

    def producer() -> None:
        ready.append(1)  # the bug: set without the lock, and no notify
        with cond:
            pass

    threads = [threading.Thread(target=consumer, name="consumer"),
               threading.Thread(target=producer, name="producer")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_a_wait_for_whose_predicate_holds_forever_is_a_missed_wakeup() -> None:
    report = _dfs(_lost_notify)
    assert report.verdict == "missed_wakeup"
    assert "consumer" in str(report.outcome.error)


@threaded
def _thread_raises() -> None:
    def boom() -> None:
        raise KeyError("in the worker")

    t = threading.Thread(target=boom, name="worker")
    t.start()
    t.join()


def test_an_exception_in_a_thread_fails_the_run_with_its_own_traceback() -> None:
    outcome = schedfuzz.run(_thread_raises)
    assert isinstance(outcome.error, KeyError)
    assert outcome.result.actor == "worker"


@threaded
def _timed_wait() -> None:
    event = threading.Event()
    results = []
    t = threading.Thread(target=lambda: results.append(event.wait(timeout=5.0)), name="w")
    t.start()
    time.sleep(1.0)
    event.set()
    t.join()
    assert results == [True], results


def test_a_timeout_is_an_explored_choice_on_virtual_time() -> None:
    # The default schedule: the event is set long before the 5 s timeout.
    assert schedfuzz.run(_timed_wait).kind == "ok"
    # Timers fire in deadline order, so the 5 s timeout cannot beat the 1 s sleep; but if the
    # waiter runs before the main thread even starts sleeping (one preemption: a slow
    # machine), the oracle may fire its timeout first, and dfs explores that.
    assert _dfs(_timed_wait, bound=0).verdict == "ok"
    report = _dfs(_timed_wait, bound=1)
    assert report.verdict == "failure"
    assert "[False]" in str(report.outcome.error)
    fired = [args for _, label, args in report.outcome.result.trace.rows
             if label.endswith("(timeout?)")]
    assert fired[-1] == {"value": True}


@threaded
def _long_sleeps() -> None:
    seen = []

    def sleeper() -> None:
        before = time.monotonic()
        time.sleep(3600)
        seen.append(time.monotonic() - before)

    t = threading.Thread(target=sleeper)
    t.start()
    t.join()
    assert len(seen) == 1, seen
    assert 3600 <= seen[0] < 3600.001, seen


def test_sleeps_take_no_real_time_and_the_clock_reads_virtual_time() -> None:
    started = time.perf_counter()
    outcome = schedfuzz.run(_long_sleeps)
    assert outcome.kind == "ok"
    assert time.perf_counter() - started < 600  # an hour of virtual sleep


@threaded
def _only_timed_waits() -> None:
    a, b = threading.Lock(), threading.Lock()
    got = []

    def one() -> None:
        with a:
            if b.acquire(timeout=0.5):
                b.release()
                got.append(True)

    def two() -> None:
        with b:
            time.sleep(2)
            if a.acquire(timeout=0.5):  # the other order: a deadlock, but for the timeouts
                a.release()

    ts = [threading.Thread(target=one), threading.Thread(target=two)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def test_waits_with_timeouts_never_deadlock() -> None:
    assert _dfs(_only_timed_waits).verdict == "ok"


def test_nothing_stays_patched_after_a_run() -> None:
    before = (threading.Lock, threading.RLock, threading.Thread.start, threading.Thread.join,
              time.sleep, time.monotonic, _thread.allocate_lock, threading.current_thread)
    schedfuzz.run(_abba)  # ends in a deadlock: the patches go all the same
    schedfuzz.run(_long_sleeps)
    after = (threading.Lock, threading.RLock, threading.Thread.start, threading.Thread.join,
             time.sleep, time.monotonic, _thread.allocate_lock, threading.current_thread)
    assert before == after
    # and real threads still work here
    box = []
    t = threading.Thread(target=lambda: box.append(threading.current_thread().name), name="real")
    t.start()
    t.join()
    assert box == ["real"]


def test_the_same_schedule_gives_the_same_trace_in_every_run() -> None:
    info = as_scenario(bqueue.test_while_wait)
    first = explore(info, engine_name="random", budget=Budget(max_schedules=20, seed=3))
    again = explore(info, engine_name="random", budget=Budget(max_schedules=20, seed=3))
    assert first.schedules == again.schedules == 20
    one = schedfuzz.run(info, oracle=schedfuzz.RandomOracle(7))
    two = schedfuzz.run(info, oracle=schedfuzz.RandomOracle(7))
    assert one.result.trace.rows == two.result.trace.rows
    assert one.result.trace.names == two.result.trace.names


@threaded
def _notify_before_wait() -> None:
    cond = threading.Condition()
    state = {"ready": False}

    def waiter() -> None:
        ready = state["ready"]  # the bug: checked outside the lock
        if not ready:
            with cond:
                cond.wait()

    def setter() -> None:
        with cond:
            state["ready"] = True
            cond.notify()

    threads = [threading.Thread(target=waiter, name="waiter"),
               threading.Thread(target=setter, name="setter")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@threaded
def _second_item_never_comes() -> None:
    cond = threading.Condition()
    items = []

    def consumer() -> None:
        for _ in range(2):
            with cond:
                while not items:
                    cond.wait()
                items.pop()

    def producer() -> None:
        with cond:
            items.append(1)
            cond.notify()

    threads = [threading.Thread(target=consumer, name="consumer"),
               threading.Thread(target=producer, name="producer")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_a_notify_lost_before_a_plain_wait_is_a_missed_wakeup() -> None:
    report = _dfs(_notify_before_wait)
    assert report.verdict == "missed_wakeup"
    assert "waiter" in str(report.outcome.error)
    for engine in ("random", "hypothesis"):
        sampled = explore(as_scenario(_notify_before_wait), engine_name=engine,
                          budget=Budget(max_schedules=300, seed=2))
        assert sampled.verdict == "missed_wakeup", engine


def test_a_harmless_lost_notify_then_a_plain_hang_is_a_hang_from_every_engine() -> None:
    for engine in ("dfs", "random", "pct", "hypothesis"):
        report = explore(as_scenario(_second_item_never_comes), engine_name=engine,
                         budget=Budget(max_schedules=200, seed=1, max_preemptions=2)
                         if engine == "dfs" else Budget(max_schedules=200, seed=1))
        assert report.verdict == "hang", engine
