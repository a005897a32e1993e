"""The runaway watchdog: stop an actor that never reaches a scheduling point.

An actor stuck in ``while True: pass`` never traps, so the run loop never gets control back. One
daemon thread per process polls the active runs; when a run's step counter has not moved for
``Settings.runaway_seconds`` while an actor is running, it raises ``RunawayInterrupt`` in the run's
thread with ``PyThreadState_SetAsyncExc``. That lands in the running actor's frame (an infinite
pure-Python loop still releases the GIL every switch interval), unwinds the actor, and the runner
turns it into a ``RunawayActor`` verdict naming the actor and the line it was on.

The per-step cost is nil: the watchdog reads the step counter the run loop keeps anyway.
"""

from __future__ import annotations

import ctypes
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schedfuzz._core.runner import Runner

__all__ = ["RunawayInterrupt", "watch"]


class RunawayInterrupt(BaseException):
    """Raised asynchronously inside an actor that overran the wall-clock limit."""


_lock = threading.Lock()
_runs: dict[int, tuple[Runner, int]] = {}  # thread id -> (runner, thread id)
_thread: threading.Thread | None = None


def _poll() -> None:
    last: dict[int, tuple[int, float]] = {}
    while True:
        time.sleep(0.05)
        now = time.monotonic()
        with _lock:
            runs = list(_runs.items())
        for tid, (runner, _) in runs:
            step = runner.step
            seen = last.get(tid)
            if seen is None or seen[0] != step or runner.active is None:
                last[tid] = (step, now)
                continue
            if now - seen[1] >= runner.settings.runaway_seconds and not runner.runaway:
                runner.runaway = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(tid), ctypes.py_object(RunawayInterrupt)
                )
        for tid in list(last):
            if tid not in dict(runs):
                del last[tid]


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
