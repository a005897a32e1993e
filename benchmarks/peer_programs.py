"""Small threaded programs with one known concurrency bug each, and their fixed versions.

The programs are plain ``threading`` / ``queue`` / ``time`` code, written as a library author
would write them, with nothing of any testing tool in them: ``benchmarks/peers.py`` runs every
tool on the same code. Each program is split the way the tools want it:

- ``setup()`` builds the shared state, ``workers`` are the bodies of the threads (each takes
  the state), ``check(state)`` asserts what must hold once they have all ended;
- ``main(program)`` is the whole program as a user would write it: setup, start one
  ``threading.Thread`` per worker, join them, check. schedfuzz (``schedfuzz.threads``) and
  interleave-test explore ``main`` as it is; frontrun takes ``setup``/``workers``/``check``.

Each entry of ``PROGRAMS`` has a buggy and a fixed version. ``needs_preempt_in`` marks the bugs
that are races on plain Python state between two synchronisation operations, which a tool
can see only with scheduling points inside the code (bytecode or line level).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# --------------------------------------------------------------------------------------------
# The library code under test.


class Counter:
    """A hit counter. The buggy version's ``+=`` is a read, an add and a write."""

    def __init__(self, locked: bool) -> None:
        self.n = 0
        self.locked = locked
        self.lock = threading.Lock()

    def incr(self) -> None:
        if self.locked:
            with self.lock:
                self.n += 1
        else:
            self.n += 1


class Account:
    """A bank account whose own methods are correct: each one holds the account's lock."""

    def __init__(self, number: int, balance: int) -> None:
        self.number = number
        self._balance = balance
        self.lock = threading.RLock()

    def balance(self) -> int:
        with self.lock:
            return self._balance

    def deposit(self, amount: int) -> None:
        with self.lock:
            self._balance += amount

    def withdraw(self, amount: int) -> None:
        with self.lock:
            self._balance -= amount


def pay(account: Account, amount: int, atomic: bool) -> bool:
    """Withdraw ``amount`` if the account covers it. The buggy caller checks, then acts."""
    if atomic:
        with account.lock:
            if account.balance() >= amount:
                account.withdraw(amount)
                return True
            return False
    if account.balance() >= amount:
        account.withdraw(amount)
        return True
    return False


def transfer(src: Account, dst: Account, amount: int, ordered: bool) -> None:
    """Move money between two accounts, holding both locks. Taking them in argument order
    deadlocks when two transfers go opposite ways; the fix takes them by account number."""
    first, second = (src, dst)
    if ordered and dst.number < src.number:
        first, second = dst, src
    with first.lock, second.lock:
        src.withdraw(amount)
        dst.deposit(amount)


class BoundedBuffer:
    """A bounded FIFO on one Condition. The buggy version waits under ``if``, not ``while``:
    a consumer woken for an item another consumer took pops an empty list."""

    def __init__(self, capacity: int, loop: bool) -> None:
        self.items: list[int] = []
        self.capacity = capacity
        self.loop = loop
        self.cond = threading.Condition()

    def put(self, item: int) -> None:
        with self.cond:
            while len(self.items) >= self.capacity:
                self.cond.wait()
            self.items.append(item)
            self.cond.notify_all()

    def get(self) -> int:
        with self.cond:
            if self.loop:
                while not self.items:
                    self.cond.wait()
            elif not self.items:
                self.cond.wait()
            item = self.items.pop(0)
            self.cond.notify_all()
            return item


class Gate:
    """A one-shot gate. The buggy ``wait_open`` reads the flag outside the lock, so an
    ``open`` that lands between that read and the wait is a lost wakeup."""

    def __init__(self, careful: bool) -> None:
        self.opened = False
        self.careful = careful
        self.cond = threading.Condition()

    def open(self) -> None:
        if self.careful:
            with self.cond:
                self.opened = True
                self.cond.notify_all()
        else:
            self.opened = True
            with self.cond:
                self.cond.notify_all()

    def wait_open(self) -> None:
        if self.careful:
            with self.cond:
                while not self.opened:
                    self.cond.wait()
            return
        if not self.opened:
            with self.cond:
                self.cond.wait()


class Service:
    """A background ticker. The buggy ``stop`` joins the ticker while holding the lock the
    ticker needs for its next tick: the join never returns."""

    def __init__(self, join_outside: bool) -> None:
        self.ticks = 0
        self.stopping = False
        self.join_outside = join_outside
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._tick, name="ticker")

    def _tick(self) -> None:
        while True:
            with self.lock:
                if self.stopping or self.ticks >= 2:
                    return
                self.ticks += 1

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            if not self.join_outside:
                self.thread.join()
        if self.join_outside:
            self.thread.join()


class Mailbox:
    """Hands values from one thread to another. The buggy version signals with an Event and
    ignores what ``wait(timeout)`` returns: a second ``put`` before the taker clears the event
    is a lost set, and the timeout hides it (no hang, a stale value instead)."""

    def __init__(self, use_condition: bool) -> None:
        self.use_condition = use_condition
        self.ready = threading.Event()
        self.value: int | None = None
        self.values: list[int] = []
        self.cond = threading.Condition()

    def put(self, value: int) -> None:
        if self.use_condition:
            with self.cond:
                self.values.append(value)
                self.cond.notify()
            return
        self.value = value
        self.ready.set()

    def take(self) -> int | None:
        if self.use_condition:
            with self.cond:
                while not self.values:
                    self.cond.wait()
                return self.values.pop(0)
        self.ready.wait(timeout=1.0)
        self.ready.clear()
        return self.value


class WorkerPool:
    """Workers take jobs from a queue and count what they finished. The buggy count is an
    unguarded ``self.done += 1``."""

    def __init__(self, jobs: int, locked: bool) -> None:
        self.jobs: queue.Queue[int | None] = queue.Queue()
        self.done = 0
        self.results: list[int] = []
        self.locked = locked
        self.lock = threading.Lock()
        self.expected = jobs
        for n in range(jobs):
            self.jobs.put(n)

    def work(self) -> None:
        while True:
            try:
                n = self.jobs.get_nowait()
            except queue.Empty:
                return
            self.results.append(n * n)
            if self.locked:
                with self.lock:
                    self.done += 1
            else:
                self.done += 1


# --------------------------------------------------------------------------------------------
# The programs: setup, thread bodies, the check.


@dataclass(frozen=True)
class Program:
    """One program of the benchmark: ``setup``, the thread bodies, the final check."""

    name: str
    bug: str
    fixed: bool
    setup: Callable[[], Any]
    workers: tuple[Callable[[Any], Any], ...]
    check: Callable[[Any], None]
    needs_preempt_in: bool = False


def main(program: Program) -> None:
    """The program as written: set up, one thread per worker, join them all, check."""
    state = program.setup()
    threads = [threading.Thread(target=work, args=(state,), name=f"worker-{i}")
               for i, work in enumerate(program.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    program.check(state)


def _counter(fixed: bool) -> Program:
    def check(c: Counter) -> None:
        assert c.n == 2, f"n is {c.n}"
    return Program("lost_update", "self.n += 1 without a lock", fixed,
                   lambda: Counter(locked=fixed), (Counter.incr, Counter.incr), check,
                   needs_preempt_in=True)


def _bank(fixed: bool) -> Program:
    def spend(acct: Account) -> None:
        pay(acct, 80, atomic=fixed)

    def check(acct: Account) -> None:
        assert acct.balance() >= 0, f"overdrawn: {acct.balance()}"
    return Program("check_then_act", "balance() then withdraw(), each locked, not together",
                   fixed, lambda: Account(1, 100), (spend, spend), check)


def _abba(fixed: bool) -> Program:
    def setup() -> tuple[Account, Account]:
        return Account(1, 100), Account(2, 100)

    def a_to_b(accts: tuple[Account, Account]) -> None:
        transfer(accts[0], accts[1], 10, ordered=fixed)

    def b_to_a(accts: tuple[Account, Account]) -> None:
        transfer(accts[1], accts[0], 10, ordered=fixed)

    def check(accts: tuple[Account, Account]) -> None:
        total = accts[0].balance() + accts[1].balance()
        assert total == 200, f"total is {total}"
    return Program("abba_deadlock", "two locks taken in opposite orders", fixed, setup,
                   (a_to_b, b_to_a), check)


def _bqueue(fixed: bool) -> Program:
    def produce(buf: BoundedBuffer) -> None:
        buf.put(1)
        buf.put(2)

    def consume(buf: BoundedBuffer) -> None:
        buf.get()

    def check(buf: BoundedBuffer) -> None:
        assert buf.items == [], f"left over: {buf.items}"
    return Program("condition_if", "Condition.wait under if instead of while", fixed,
                   lambda: BoundedBuffer(1, loop=fixed), (consume, consume, produce), check)


def _gate(fixed: bool) -> Program:
    def check(g: Gate) -> None:
        assert g.opened
    return Program("missed_notify", "flag set and read without the Condition's lock", fixed,
                   lambda: Gate(careful=fixed), (Gate.wait_open, Gate.open), check)


def _join(fixed: bool) -> Program:
    def run(svc: Service) -> None:
        svc.start()
        svc.stop()

    def check(svc: Service) -> None:
        assert not svc.thread.is_alive()
    return Program("join_deadlock", "Thread.join while holding the lock the thread needs",
                   fixed, lambda: Service(join_outside=fixed), (run,), check)


def _mailbox(fixed: bool) -> Program:
    def setup() -> tuple[Mailbox, list[int | None]]:
        return Mailbox(use_condition=fixed), []

    def sender(state: tuple[Mailbox, list[int | None]]) -> None:
        state[0].put(1)
        state[0].put(2)

    def receiver(state: tuple[Mailbox, list[int | None]]) -> None:
        state[1].append(state[0].take())
        state[1].append(state[0].take())

    def check(state: tuple[Mailbox, list[int | None]]) -> None:
        assert state[1] == [1, 2], f"received {state[1]}"
    return Program("event_timeout", "Event.wait(timeout) hides a lost set", fixed, setup,
                   (receiver, sender), check)


def _pool(fixed: bool) -> Program:
    def check(pool: WorkerPool) -> None:
        assert pool.done == pool.expected, f"done is {pool.done} of {pool.expected}"
    return Program("pool_counter", "worker pool counts jobs with self.done += 1", fixed,
                   lambda: WorkerPool(3, locked=fixed), (WorkerPool.work, WorkerPool.work),
                   check, needs_preempt_in=True)


PROGRAMS: dict[str, Callable[[bool], Program]] = {
    "lost_update": _counter,
    "check_then_act": _bank,
    "abba_deadlock": _abba,
    "condition_if": _bqueue,
    "missed_notify": _gate,
    "join_deadlock": _join,
    "event_timeout": _mailbox,
    "pool_counter": _pool,
}


def program(name: str, fixed: bool) -> Program:
    return PROGRAMS[name](fixed)


def entry(name: str, fixed: bool) -> Callable[[], None]:
    """The zero-argument ``main`` of one program, as a module-level-looking function."""
    prog = program(name, fixed)

    def run() -> None:
        main(prog)

    run.__name__ = run.__qualname__ = f"{name}_{'fixed' if fixed else 'bug'}"
    run.__module__ = __name__
    return run
