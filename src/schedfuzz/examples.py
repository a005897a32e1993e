"""Small concurrent programs with one known bug (or none) each: the fuzzer's own test bench.

Each is a registered scenario (``schedfuzz list`` shows them) whose ``expect`` is the verdict the
fuzzer must reach. They are written against the public API only, as a user would write them.
"""

from __future__ import annotations

from schedfuzz import (
    AtomicInt,
    Condition,
    Event,
    Lock,
    at_end,
    checkpoint,
    progress,
    scenario,
    snapshot,
    spawn,
)
from schedfuzz.atomics import AtomicFlags

__all__ = [
    "abba_deadlock",
    "bounded_loop",
    "condition_missed_wakeup",
    "event_hang",
    "lost_update",
    "polite_livelock",
    "self_retry_livelock",
    "spin_wait",
]


@scenario("demo.lost-update", expect="failure")
def lost_update(n: int = 2) -> None:
    """n actors increment a shared counter with a read and a separate write: updates get lost."""
    counter = AtomicInt(0, "counter")

    def increment() -> None:
        value = counter.load()
        counter.store(value + 1)

    for i in range(n):
        spawn(increment, name=f"inc{i}")

    @at_end
    def all_counted() -> None:
        assert counter.value == n, f"counter is {counter.value}, expected {n}"


@scenario("demo.abba", expect="deadlock")
def abba_deadlock() -> None:
    """Two actors take two locks in opposite orders."""
    a, b = Lock("A"), Lock("B")

    def one() -> None:
        with a, b:
            pass

    def two() -> None:
        with b, a:
            pass

    spawn(one, name="one")
    spawn(two, name="two")


@scenario("demo.condition-missed-wakeup", expect="missed_wakeup")
def condition_missed_wakeup() -> None:
    """The notifier may notify before the waiter waits; the waiter checks no predicate."""
    cond = Condition(name="ready")

    def waiter() -> None:
        checkpoint("prepare")
        with cond:
            cond.wait()

    def notifier() -> None:
        with cond:
            cond.notify()

    spawn(waiter, name="waiter")
    spawn(notifier, name="notifier")


@scenario("demo.event-hang", expect="hang")
def event_hang() -> None:
    """An actor waits for an event that nobody ever sets."""
    started, never = Event("started"), Event("never")

    def waiter() -> None:
        started.set()
        never.wait()

    def other() -> None:
        started.wait()

    spawn(waiter, name="waiter")
    spawn(other, name="other")


@scenario("demo.polite-livelock", expect="livelock")
def polite_livelock() -> None:
    """Two polite actors each take one lock, see the other's taken, back off and retry."""
    left, right = Lock("left"), Lock("right")

    def polite(mine: Lock, theirs: Lock) -> None:
        while True:
            mine.acquire()
            if theirs.try_acquire():
                theirs.release()
                mine.release()
                progress("both locks")
                return
            mine.release()
            checkpoint("back off", yield_=True)

    spawn(polite, left, right, name="alice")
    spawn(polite, right, left, name="bob")
    snapshot(lambda: (left, right))


@scenario("demo.self-retry", expect="livelock")
def self_retry_livelock() -> None:
    """An actor retries a trylock forever on a lock it already holds itself."""
    lock = Lock("resource")

    def retrier() -> None:
        lock.acquire()
        while not lock.try_acquire():  # it holds the lock itself: never succeeds
            checkpoint("retry", yield_=True)
        progress("got it")

    def bystander() -> None:
        checkpoint("look")

    spawn(retrier, name="retrier")
    spawn(bystander, name="bystander")


@scenario("demo.bounded-loop", expect="ok")
def bounded_loop(iterations: int = 10_000) -> None:
    """A long loop that terminates: not a livelock, however long."""
    flags = AtomicFlags(name="flags")

    def looper() -> None:
        for _ in range(iterations):
            flags.test_bit("x")

    spawn(looper, name="looper")


@scenario("demo.spin-wait", expect="ok")
def spin_wait() -> None:
    """An actor spins on a flag that another actor sets: no verdict (with or without yields)."""
    flag = AtomicInt(0, "flag")

    def spinner() -> None:
        while not flag.load():
            pass

    def setter() -> None:
        checkpoint("work")
        flag.store(1)

    spawn(spinner, name="spinner")
    spawn(setter, name="setter")
