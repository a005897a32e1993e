"""Each modelled primitive: its semantics under forced schedules, and its misuse errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schedfuzz as sf
from schedfuzz import AtomicFlags, AtomicInt, ScriptOracle, Settings, checkpoint, spawn


def scenario_of(*actors: tuple[str, Callable[[], object]]) -> Callable[[], None]:
    def scenario() -> None:
        for name, fn in actors:
            spawn(fn, name=name)

    return scenario


def test_lock_excludes_and_wakes_a_waiter() -> None:
    lock = sf.Lock("L")
    inside: list[str] = []

    def worker(tag: str) -> Callable[[], None]:
        def body() -> None:
            with lock:
                inside.append(f"{tag} in")
                checkpoint("critical")
                inside.append(f"{tag} out")
        return body

    # a takes the lock; b tries and blocks; a finishes and wakes b.
    outcome = sf.run(scenario_of(("a", worker("a")), ("b", worker("b"))),
                     oracle=ScriptOracle(["a", "a", "b", "b"]))
    assert outcome.kind == "ok"
    assert inside == ["a in", "a out", "b in", "b out"]
    labels = [label for _, label, _ in outcome.result.trace.rows]
    assert "acquire (woken)" in labels


def test_release_by_non_owner_is_misuse_naming_both() -> None:
    lock = sf.Lock("L")

    def owner() -> None:
        lock.acquire()
        checkpoint("hold")

    def thief() -> None:
        lock.release()

    outcome = sf.run(scenario_of(("owner", owner), ("thief", thief)),
                     oracle=ScriptOracle(["owner", "owner", "thief"]))
    assert outcome.kind == "failure"
    assert isinstance(outcome.error, sf.PrimitiveMisuse)
    assert str(outcome.error) == "thief releases Lock 'L' held by owner"


def test_lock_is_not_reentrant() -> None:
    lock = sf.Lock("L")

    def twice() -> None:
        lock.acquire()
        lock.acquire()

    outcome = sf.run(scenario_of(("twice", twice)))
    assert isinstance(outcome.error, sf.PrimitiveMisuse)
    assert "already holds" in str(outcome.error)


def test_condition_without_lock_is_misuse() -> None:
    cond = sf.Condition(name="c")
    outcome = sf.run(scenario_of(("n", cond.notify)))
    assert isinstance(outcome.error, sf.PrimitiveMisuse)
    assert "without holding its lock" in str(outcome.error)


def test_condition_wait_for_sees_the_notify() -> None:
    cond = sf.Condition(name="c")
    items: list[int] = []

    def consumer() -> None:
        with cond:
            cond.wait_for(lambda: bool(items))
            items.pop()

    def producer() -> None:
        with cond:
            items.append(1)
            cond.notify()

    for script in (["consumer"], ["producer"], ["consumer", "producer"]):
        outcome = sf.run(scenario_of(("consumer", consumer), ("producer", producer)),
                         oracle=ScriptOracle(script))
        assert outcome.kind == "ok", script
        assert items == []


def test_condition_predicate_true_but_never_notified_is_a_missed_wakeup() -> None:
    cond = sf.Condition(name="c")
    items: list[int] = []

    def consumer() -> None:
        with cond:
            cond.wait_for(lambda: bool(items))

    def producer() -> None:
        with cond:
            items.append(1)  # forgets to notify

    outcome = sf.run(scenario_of(("consumer", consumer), ("producer", producer)))
    assert outcome.kind == "missed_wakeup"
    assert "although the condition it waits for holds" in str(outcome.error)


def test_spurious_wakeups_are_oracle_choices_when_enabled() -> None:
    cond = sf.Condition(name="c")
    woke: list[str] = []

    def waiter() -> None:
        with cond:
            cond.wait()  # a bare wait: correct code would loop on a predicate
            woke.append("woke")

    def bystander() -> None:
        for _ in range(3):
            checkpoint("idle")

    scenario = scenario_of(("waiter", waiter), ("bystander", bystander))
    # Without spurious wake-ups, the waiter sleeps forever: nobody notifies.
    assert sf.run(scenario).kind == "hang"
    woke.clear()
    outcome = sf.run(scenario, oracle=ScriptOracle(["waiter", "waiter", "waiter", "waiter"]),
                     settings=Settings(spurious_wakeups=True))
    assert woke == ["woke"]
    assert any(note[2] == "spurious wake-up" for note in outcome.result.trace.notes)


def test_event_set_wakes_all_waiters() -> None:
    event = sf.Event("go")
    woke: list[str] = []

    def waiter(tag: str) -> Callable[[], None]:
        def body() -> None:
            event.wait()
            woke.append(tag)
        return body

    outcome = sf.run(scenario_of(("w1", waiter("w1")), ("w2", waiter("w2")),
                                 ("setter", event.set)))
    assert outcome.kind == "ok"
    assert sorted(woke) == ["w1", "w2"]


def test_semaphore_counts() -> None:
    sem = sf.Semaphore(1, name="s")
    inside = AtomicInt(0, "inside")
    peak: list[int] = []

    def worker() -> None:
        with sem:
            peak.append(inside.add(1))
            checkpoint("work")
            inside.sub(1)

    for script in (["a", "b", "a", "b", "a", "b"], ["b", "a", "b", "a"]):
        peak.clear()
        sf.run(scenario_of(("a", worker), ("b", worker)), oracle=ScriptOracle(script))
        assert max(peak) == 1


def test_semaphore_rejects_negative_start() -> None:
    with pytest.raises(sf.PrimitiveMisuse, match="non-negative"):
        sf.Semaphore(-1, name="s")


def test_waitqueue_wake_between_enqueue_and_sleep_is_not_lost() -> None:
    """Enqueue, check, sleep: a wake-up between the check and the sleep sets the token."""
    wq = sf.WaitQueue("wq")
    flag = {"set": False}

    def sleeper() -> None:
        w = wq.prepare_to_wait()
        if not flag["set"]:
            checkpoint("about to sleep")
            w.sleep("wq", cond=lambda: flag["set"])
        wq.finish_wait(w)

    def waker() -> None:
        flag["set"] = True
        wq.wake_up()

    outcome = sf.run(scenario_of(("sleeper", sleeper), ("waker", waker)),
                     oracle=ScriptOracle(["sleeper", "sleeper", "waker"]))
    assert outcome.kind == "ok"


def test_waitqueue_check_before_enqueue_loses_the_wakeup() -> None:
    """The broken order: check the condition, *then* enqueue. The wake-up falls in between."""
    wq = sf.WaitQueue("wq")
    flag = {"set": False}

    def sleeper() -> None:
        checkpoint("check")
        if not flag["set"]:
            w = wq.prepare_to_wait()
            w.sleep("wq")

    def waker() -> None:
        checkpoint("set flag")
        flag["set"] = True
        wq.wake_up()

    outcome = sf.run(scenario_of(("sleeper", sleeper), ("waker", waker)),
                     oracle=ScriptOracle(["sleeper", "sleeper", "waker"]))
    assert outcome.kind == "missed_wakeup"
    assert "before it waited" in str(outcome.error)


def test_waitqueue_wakes_one_exclusive_waiter_and_all_shared_ones() -> None:
    wq = sf.WaitQueue("wq")
    woke: list[str] = []
    go = {"flag": False}

    def waiter(tag: str, exclusive: bool) -> Callable[[], None]:
        def body() -> None:
            wq.wait_event(lambda: go["flag"], exclusive=exclusive)
            woke.append(tag)
        return body

    def waker() -> None:
        go["flag"] = True
        wq.wake_up(nr_exclusive=1)

    scenario = scenario_of(("s1", waiter("s1", False)), ("x1", waiter("x1", True)),
                           ("x2", waiter("x2", True)), ("waker", waker))
    outcome = sf.run(scenario)
    # x2 is never woken: it sleeps although its condition holds (the wake was one-exclusive).
    assert outcome.kind == "missed_wakeup"
    assert sorted(woke) == ["s1", "x1"]


def test_killable_sleep_is_interrupted_by_a_signal() -> None:
    wq = sf.WaitQueue("wq")
    result: list[bool] = []
    handles = {}

    def sleeper() -> None:
        result.append(wq.wait_event(lambda: False, killable=True))
        result.append(sf.signal_pending())

    def killer() -> None:
        sf.signal(handles["sleeper"])

    def scenario() -> None:
        handles["sleeper"] = spawn(sleeper, name="sleeper")
        spawn(killer, name="killer")

    assert sf.run(scenario).kind == "ok"
    assert result == [False, True]


def test_atomics_are_one_step_each() -> None:
    n = AtomicInt(5, "n")
    flags = AtomicFlags({"a"}, "f")
    seen: list[object] = []

    def body() -> None:
        seen.append(n.cmpxchg(5, 7))
        seen.append(n.add_unless(1, 7))
        seen.append(n.dec_and_test())
        seen.append(flags.test_and_set_bit("b"))
        seen.append(flags.test_and_clear_bit("a"))
        seen.append(flags.load())

    outcome = sf.run(scenario_of(("x", body)))
    assert seen == [5, False, False, False, True, frozenset({"b"})]
    assert [label for _, label, _ in outcome.result.trace.rows] == [
        "start", "cmpxchg", "add_unless", "dec_and_test", "test_and_set_bit",
        "test_and_clear_bit", "load"]
