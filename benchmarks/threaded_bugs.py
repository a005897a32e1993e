"""The demo bugs written with real ``threading`` threads: what a Python user can do today.

Each function runs one *trial* (start the threads, wait, check) and returns True when the bug
showed. ``hunt`` repeats trials for a time budget under ``sys.setswitchinterval(1e-6)``, the most
preemptive interpreter setting there is, and counts how often the bug appeared. Blocking bugs
are detected by timeouts, since a real deadlock would otherwise hang the benchmark.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

TIMEOUT = 0.02  # seconds a blocked thread waits before the trial counts as stuck


def lost_update() -> bool:
    """Two threads increment a counter with a separate read and write."""
    box = [0]

    def increment() -> None:
        value = box[0]
        box[0] = value + 1

    threads = [threading.Thread(target=increment) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return box[0] != 2


def abba() -> bool:
    """Two threads take two locks in opposite orders; a timed-out acquire is the deadlock."""
    a, b = threading.Lock(), threading.Lock()
    stuck = []

    def take(first: threading.Lock, second: threading.Lock) -> None:
        with first:
            if second.acquire(timeout=TIMEOUT):
                second.release()
            else:
                stuck.append(True)

    threads = [threading.Thread(target=take, args=(a, b)), threading.Thread(target=take,
                                                                            args=(b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return bool(stuck)


def condition_missed_wakeup() -> bool:
    """The notifier may notify before the waiter waits; a timed-out wait is the lost wakeup."""
    cond = threading.Condition()
    missed = []

    def waiter() -> None:
        with cond:
            if not cond.wait(timeout=TIMEOUT):
                missed.append(True)

    def notifier() -> None:
        with cond:
            cond.notify()

    threads = [threading.Thread(target=waiter), threading.Thread(target=notifier)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return bool(missed)


def polite_livelock(limit: int = 200) -> bool:
    """Two polite threads back off when the other lock is taken; ``limit`` rounds of backing
    off in a row by both counts as the livelock showing (real threads never do it forever)."""
    left, right = threading.Lock(), threading.Lock()
    rounds = [0, 0]

    def polite(me: int, mine: threading.Lock, theirs: threading.Lock) -> None:
        while rounds[me] < limit:
            with mine:
                if theirs.acquire(blocking=False):
                    theirs.release()
                    return
            rounds[me] += 1
            time.sleep(0)

    threads = [threading.Thread(target=polite, args=(0, left, right)),
               threading.Thread(target=polite, args=(1, right, left))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return min(rounds) >= limit


TRIALS: dict[str, Callable[[], bool]] = {
    "demo.lost-update": lost_update,
    "demo.abba": abba,
    "demo.condition-missed-wakeup": condition_missed_wakeup,
    "demo.polite-livelock": polite_livelock,
}


def hunt(trial: Callable[[], bool], seconds: float) -> dict[str, Any]:
    """Repeat ``trial`` for ``seconds`` under the most preemptive switch interval."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        trials = found = 0
        first: float | None = None
        first_trial: int | None = None
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            trials += 1
            if trial():
                found += 1
                if first is None:
                    first = time.perf_counter() - start
                    first_trial = trials
    finally:
        sys.setswitchinterval(old)
    return {"trials": trials, "failures": found, "first_failure_trials": first_trial,
            "first_failure_seconds": None if first is None else round(first, 4)}
