"""The runaway watchdog: stop an actor that never reaches a scheduling point.

An actor stuck in ``while True: pass`` never traps, so the run loop never gets control back. One
daemon thread per process polls the active runs; when a run's step counter has not moved for
``Settings.runaway_seconds`` while an actor is running, it raises ``RunawayInterrupt`` in the run's
thread with ``PyThreadState_SetAsyncExc``. That lands in the running actor's frame (an infinite
pure-Python loop still releases the GIL every switch interval), unwinds the actor, and the runner
turns it into a ``RunawayActor`` verdict naming the actor and the line it was on.

An actor blocked in a call the scheduler does not control (a real ``threading.Lock`` another
actor holds, ``time.sleep``, blocking I/O) runs no bytecode, so the asynchronous exception never
lands and the process would hang for good. If the step counter is still stuck a little later
(another ``runaway_seconds``, at most a second: a Python loop takes the exception within one
switch interval), and the run is in the main thread where Python's own SIGINT handler is
installed, the watchdog withdraws the pending exception and sends the thread a real SIGINT: that
interrupts the blocking call, and the runner, seeing ``runner.stuck``, turns the
``KeyboardInterrupt`` into the same ``RunawayActor`` verdict, located at the blocking call.

Code outside actors is watched the same way. The scenario function, invariants, end checks
(``at_end``), the ``snapshot()`` callback and wait predicates run in the hub, between two steps;
while one runs, the runner names it in ``runner.outside``, and a step counter that stays put
that long with ``outside`` set is the same overrun: the interrupt lands in that callback and the
runner reports a ``RunawayActor`` naming it and its file:line (``endless.runaway_outside``).

The clock restarts whenever the watched run, its step, or what runs in it (the actor, or the
callback outside actors) changes: a run of many short callbacks, or a new run that happens to
stop at the same step as the last one, never adds up to an overrun.

The per-step cost is nil: the watchdog reads the step counter the run loop keeps anyway.
"""

from __future__ import annotations

import ctypes
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schedfuzz._core.runner import Runner

__all__ = ["RunawayInterrupt", "watch"]


class RunawayInterrupt(BaseException):
    """Raised asynchronously inside an actor, or a callback outside actors, that overran the
    wall-clock limit."""


_lock = threading.Lock()
_runs: dict[int, tuple[Runner, int]] = {}  # thread id -> (runner, thread id)
_thread: threading.Thread | None = None


def _running(runner: Runner) -> object | None:
    """What ``runner`` is running right now: an actor, a callback outside actors, or None
    (the scheduler's own code, which is never a runaway)."""
    return runner.active if runner.active is not None else runner.outside


def _poll() -> None:
    # thread id -> (runner, step, what ran, when that was first seen)
    last: dict[int, tuple[Runner, int, object, float]] = {}
    while True:
        time.sleep(0.05)
        now = time.monotonic()
        with _lock:
            runs = list(_runs.items())
        for tid, (runner, _) in runs:
            step = runner.step
            running = _running(runner)
            seen = last.get(tid)
            if (running is None or seen is None or seen[0] is not runner or seen[1] != step
                    or seen[2] is not running):
                last[tid] = (runner, step, running, now)
                continue
            overrun = now - seen[3]
            limit = runner.settings.runaway_seconds
            if overrun >= limit and not runner.runaway:
                runner.runaway = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(tid), ctypes.py_object(RunawayInterrupt)
                )
            elif overrun >= limit + min(limit, 1.0) and runner.runaway and not runner.stuck:
                # A Python loop takes the exception within a switch interval: this one is in C.
                _interrupt_blocking_call(runner, tid)
        current = {tid for tid, _ in runs}
        for tid in list(last):
            if tid not in current:
                del last[tid]


def _interrupt_blocking_call(runner: Runner, tid: int) -> None:
    """The asynchronous exception did not land: the actor is blocked in C. Interrupt it with a
    real SIGINT where Python's handler will raise (the main thread, default handler); elsewhere
    say once on stderr where it is stuck, since nothing else will."""
    runner.stuck = True
    if (tid == threading.main_thread().ident
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), None)  # withdraw it
        signal.pthread_kill(tid, signal.SIGINT)
        return
    frame = sys._current_frames().get(tid)
    where = "?" if frame is None else (f"{frame.f_code.co_filename}:{frame.f_lineno} in "
                                        f"{frame.f_code.co_name}")
    who = (f"actor {runner.active.name}" if runner.active is not None
           else runner.outside_name() if runner.outside is not None else "the run")
    sys.stderr.write(f"schedfuzz: {who} is blocked at {where} in a call the scheduler "
                     "does not control (a real lock, sleep or blocking I/O?) and cannot be "
                     "interrupted from here; the run will not finish\n")


def watch(runner: Runner, on: bool) -> None:
    """Start (``on``) or stop watching ``runner`` in the current thread."""
    global _thread
    tid = threading.get_ident()
    with _lock:
        if on:
            _runs[tid] = (runner, tid)
            if _thread is None:
                _thread = threading.Thread(target=_poll, name="schedfuzz-watchdog", daemon=True)
                _thread.start()
        else:
            _runs.pop(tid, None)
