"""Each patched primitive behaves as the standard library's: the same programs, run on real
threads and as actors, observe the same return values and exceptions.

A program here observes only what every schedule agrees on (a timed-out wait nobody can end,
a misuse, an ordering the primitive guarantees), so both runs must see the same thing.
"""

from __future__ import annotations

import _thread
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import schedfuzz
from schedfuzz.threads import as_scenario

Seen = dict[str, Any]
SHORT = 0.02  # a timeout nobody ends: real threads wait this long, actors take no real time


def _error(fn: Callable[[], Any]) -> str:
    try:
        fn()
    except Exception as exc:  # the observation is the exception's type and message
        return f"{type(exc).__name__}: {exc}"
    return "no error"


def _in_thread(fn: Callable[[], Any], name: str = "other") -> None:
    t = threading.Thread(target=fn, name=name)
    t.start()
    t.join()


def lock(seen: Seen) -> None:
    lk = threading.Lock()
    seen["first"] = lk.acquire()
    seen["again"] = lk.acquire(False)
    seen["locked"] = lk.locked()
    _in_thread(lambda: seen.__setitem__("timed", lk.acquire(timeout=SHORT)))
    _in_thread(lk.release)  # any thread may release a Lock
    seen["after"] = lk.locked()
    seen["unlocked release"] = _error(lk.release)
    seen["bad timeout"] = _error(lambda: lk.acquire(False, 1))
    seen["raw"] = type(_thread.allocate_lock().acquire()).__name__


def rlock(seen: Seen) -> None:
    lk = threading.RLock()
    seen["twice"] = (lk.acquire(), lk.acquire())
    _in_thread(lambda: seen.__setitem__("other release", _error(lk.release)))
    _in_thread(lambda: seen.__setitem__("other try", lk.acquire(blocking=False)))
    lk.release()
    lk.release()
    seen["too many"] = _error(lk.release)


def condition(seen: Seen) -> None:
    cond = threading.Condition()
    seen["unowned wait"] = _error(cond.wait)
    seen["unowned notify"] = _error(cond.notify)
    with cond:
        seen["timed wait"] = cond.wait(SHORT)
        seen["wait_for"] = cond.wait_for(lambda: False, SHORT)
        seen["wait_for true"] = cond.wait_for(lambda: True, SHORT)
    flag: list[int] = []

    def setter() -> None:
        with cond:
            flag.append(1)
            cond.notify_all()

    t = threading.Thread(target=setter)
    with cond:
        t.start()
        seen["notified"] = cond.wait_for(lambda: flag)
    t.join()


def semaphores(seen: Seen) -> None:
    sem = threading.Semaphore(0)
    seen["non-blocking"] = sem.acquire(blocking=False)
    seen["timed"] = sem.acquire(timeout=SHORT)
    sem.release(2)
    seen["after release"] = (sem.acquire(), sem.acquire(False))
    bounded = threading.BoundedSemaphore(1)
    seen["over-release"] = _error(bounded.release)
    seen["negative"] = _error(lambda: threading.Semaphore(-1))


def event(seen: Seen) -> None:
    ev = threading.Event()
    seen["unset wait"] = ev.wait(SHORT)
    _in_thread(ev.set)
    seen["set"] = (ev.is_set(), ev.wait(), ev.wait(0))
    ev.clear()
    seen["cleared"] = ev.is_set()


def barrier(seen: Seen) -> None:
    b = threading.Barrier(2)
    indices: list[int] = []
    t = threading.Thread(target=lambda: indices.append(b.wait()))
    t.start()
    indices.append(b.wait())
    t.join()
    seen["indices"] = sorted(indices)
    seen["timed out"] = _error(lambda: b.wait(SHORT))
    seen["broken"] = (b.broken, _error(b.wait))
    b.reset()
    seen["reset"] = b.broken
    seen["alone"] = threading.Barrier(1).wait()


def queues(seen: Seen) -> None:
    q: queue.Queue[int] = queue.Queue(maxsize=1)
    seen["empty get"] = _error(q.get_nowait)
    q.put(1)
    seen["full put"] = _error(lambda: q.put_nowait(2))
    seen["timed put"] = _error(lambda: q.put(2, timeout=SHORT))
    seen["get"] = q.get()
    seen["timed get"] = _error(lambda: q.get(timeout=SHORT))
    q.task_done()
    seen["extra task_done"] = _error(q.task_done)
    q.join()
    lifo: queue.LifoQueue[int] = queue.LifoQueue()
    prio: queue.PriorityQueue[int] = queue.PriorityQueue()
    for n in (2, 3, 1):
        lifo.put(n)
        prio.put(n)
    seen["lifo"] = [lifo.get() for _ in range(3)]
    seen["prio"] = [prio.get() for _ in range(3)]
    simple: queue.SimpleQueue[int] = queue.SimpleQueue()
    seen["simple timed get"] = _error(lambda: simple.get(timeout=SHORT))
    _in_thread(lambda: simple.put(7))
    seen["simple"] = (simple.get(), simple.empty())


def threads(seen: Seen) -> None:
    names: dict[str, Any] = {}
    local = threading.local()
    local.x = "main"

    def body() -> None:
        names["inside"] = threading.current_thread().name
        names["ident differs"] = threading.get_ident() != main_ident
        names["local"] = getattr(local, "x", "unset")

    main_ident = threading.get_ident()
    t = threading.Thread(target=body, name="worker", daemon=False)
    seen["join before start"] = _error(t.join)
    t.start()
    seen["start twice"] = _error(t.start)
    t.join()
    seen["after join"] = (t.is_alive(), t.name, t.daemon, t.ident is not None)
    seen["join current"] = _error(threading.current_thread().join)
    seen["observed"] = names
    seen["local kept"] = local.x


def timers(seen: Seen) -> None:
    fired: list[str] = []
    cancelled = threading.Timer(60, lambda: fired.append("cancelled"))
    cancelled.start()
    cancelled.cancel()
    cancelled.join()
    soon = threading.Timer(SHORT, lambda: fired.append("soon"))
    soon.start()
    soon.join()
    seen["fired"] = fired


def executor(seen: Seen) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        seen["map"] = list(pool.map(lambda n: n * n, range(4)))
        failing = pool.submit(lambda: 1 // 0)
        seen["exception"] = type(failing.exception()).__name__
        seen["result error"] = _error(failing.result)
    seen["after shutdown"] = _error(lambda: pool.submit(int))


def clock(seen: Seen) -> None:
    before = time.monotonic()
    time.sleep(SHORT)
    seen["moved"] = time.monotonic() - before >= SHORT
    seen["sleep error"] = _error(lambda: time.sleep(-1))


PROGRAMS = [lock, rlock, condition, semaphores, event, barrier, queues, threads, timers,
            executor, clock]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_actors_see_what_real_threads_see(program: Callable[[Seen], None]) -> None:
    real: Seen = {}
    program(real)
    modelled: Seen = {}

    def main() -> None:
        program(modelled)

    main.__qualname__ = f"conformance_{program.__name__}"
    outcome = schedfuzz.run(as_scenario(main))
    assert outcome.error is None, outcome.error
    assert modelled == real
