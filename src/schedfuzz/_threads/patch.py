"""Put the actor versions of ``threading``, ``_thread``, ``queue`` and ``time`` in place for one
run, and take them away again however the run ends.

What is replaced, and where:

* the factories and functions of ``threading`` and ``_thread`` (``Lock``, ``RLock``,
  ``_allocate_lock``, ``allocate_lock``, ``current_thread``, ``get_ident``, ``local``,
  ``start_new_thread``), the methods ``start``, ``join`` and ``is_alive`` of the real
  ``threading.Thread`` class (so ``Timer`` and classes derived from ``Thread`` before the run
  are covered), ``queue.SimpleQueue`` (the standard library's pure-Python one), and the clocks
  and ``sleep`` of ``time``;
* every other module's own reference to one of those (``from threading import Lock``, or
  ``threading``'s own ``from time import monotonic as _time``), found by identity;
* locks that a module made when it was imported (``LOCK = threading.Lock()`` at module level,
  ``concurrent.futures``' shutdown lock) get a fresh actor lock for the run: a real lock held
  across a scheduling point would stop the one OS thread every actor runs on.

Replacements act as the real thing outside an actor (the hub, other OS threads, code after the
run), so nothing leaks even while they are in place; the scan of modules is cached until
``sys.modules`` changes.
"""

from __future__ import annotations

import _thread
import itertools
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from schedfuzz._core.traps import current_runner
from schedfuzz._threads import locks, preempt, threads
from schedfuzz._threads.world import IDENT_BASE, World

__all__ = ["install"]

_REAL_LOCK_TYPES = (type(_thread.allocate_lock()), type(threading.RLock()))
# Modules whose references are never swapped: the engine itself and the tools around it, which
# run in the hub, where the replacements would act as the real thing anyway.
_SKIP_PREFIXES = ("schedfuzz", "greenlet", "hypothesis", "_pytest", "pytest", "pluggy", "attr",
                  "xdist", "execnet", "coverage", "_hypothesis", "threading", "_thread", "time")
# Standard modules whose import-time locks guard state the user's threads share.
_LOCKS_OF = ("concurrent.futures.thread", "concurrent.futures._base", "queue")


def _start_new_thread(function: Callable[..., Any], args: tuple[Any, ...],
                      kwargs: dict[str, Any] | None = None) -> int:
    """``_thread.start_new_thread`` in an actor: the function runs as a new actor."""
    runner = current_runner()
    actor = runner.spawn(function, tuple(args), dict(kwargs or {}), None)
    return IDENT_BASE + actor.aid


def _replacements() -> dict[int, tuple[Any, Any]]:
    """id(real object) -> (real object, its replacement), for the identity scan."""
    pairs: list[tuple[Any, Any]] = [
        (threading.Lock, locks.allocate_lock),
        (threading.RLock, locks.RLock),
        # ``from _thread import RLock`` (functools does it): the C type itself. Only such
        # references are swapped, not the attribute of ``_thread``, which importlib's module
        # locks use while a run imports.
        (_thread.RLock, locks.RLock),
        (threading.current_thread, threads.current_thread),
        (threading.get_ident, threads.get_ident),
        (threading.local, threads.local),
        (_thread.start_new_thread, _start_new_thread),
    ]
    pairs += [(getattr(time, name), fn) for name, fn in threads.VIRTUAL_TIME.items()]
    return {id(real): (real, new) for real, new in pairs}


_REPLACE = _replacements()
_FIXED: list[tuple[Any, str, Any]] = [
    (threading, "Lock", locks.allocate_lock),
    (threading, "_allocate_lock", locks.allocate_lock),
    (threading, "RLock", locks.RLock),
    (threading, "current_thread", threads.current_thread),
    (threading, "currentThread", threads.current_thread),
    (threading, "get_ident", threads.get_ident),
    (threading, "local", threads.local),
    (_thread, "allocate_lock", locks.allocate_lock),
    (_thread, "get_ident", threads.get_ident),
    (_thread, "start_new_thread", _start_new_thread),
    (threading.Thread, "start", threads.start),
    (threading.Thread, "join", threads.join),
    (threading.Thread, "is_alive", threads.is_alive),
    (threading.Condition, "notify", locks.notify),
    (queue, "SimpleQueue", queue._PySimpleQueue),  # type: ignore[attr-defined]
    *((time, name, fn) for name, fn in threads.VIRTUAL_TIME.items()),
]

def _thread_state(thread: Any) -> object:
    """A thread as state: its name, daemon flag, whether it started and ended, and what it
    runs (not the stream it would print a crash to, nor its hooks: no state of the program)."""
    actor = getattr(thread, "_schedfuzz_actor", None)
    return (thread._name, thread._daemonic, actor is not None,
            bool(getattr(thread, "_schedfuzz_done", False)), thread.__dict__.get("_target"),
            thread.__dict__.get("_args"), thread.__dict__.get("_kwargs"))


# Read by the state fingerprint only; harmless outside a run, so it stays.
threading.Thread.__schedfuzz_state__ = _thread_state  # type: ignore[attr-defined]

_scan_cache: tuple[int, list[tuple[dict[str, Any], str, Any]]] = (-1, [])


def _scan() -> list[tuple[dict[str, Any], str, Any]]:
    """(module dict, name, replacement or None for a real lock) for every reference to swap."""
    global _scan_cache
    size = len(sys.modules)
    if _scan_cache[0] == size:
        return _scan_cache[1]
    found: list[tuple[dict[str, Any], str, Any]] = []
    for name, module in list(sys.modules.items()):
        if module is None or (name.startswith(_SKIP_PREFIXES) and name not in _LOCKS_OF):
            continue
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for key, value in list(namespace.items()):
            pair = _REPLACE.get(id(value))
            if pair is not None and pair[0] is value:
                found.append((namespace, key, pair[1]))
            elif isinstance(value, _REAL_LOCK_TYPES) and _user_or_listed(name, module):
                found.append((namespace, key, None))
    _scan_cache = (size, found)
    return found


def _user_or_listed(name: str, module: Any) -> bool:
    """Swap import-time locks of the user's modules and of the listed standard ones only."""
    if name in _LOCKS_OF:
        return True
    path = getattr(module, "__file__", None) or ""
    return not path.startswith((sys.base_prefix, sys.prefix)) or "site-packages" in path


def install(preempt_in: tuple[str, ...] = ()) -> World:
    """Patch for the current run and register the undoing as the run's cleanup; with
    ``preempt_in``, the functions of those modules get scheduling points (``preempt``)."""
    runner = current_runner()
    world = World(runner)
    runner.threads_world = world  # type: ignore[attr-defined]
    undo: list[tuple[Any, str, Any]] = []
    for owner, name, new in _FIXED:
        undo.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, new)
    _fresh_counters(undo)
    for namespace, key, new in _scan():
        old = namespace[key]
        undo.append((namespace, key, old))
        namespace[key] = new if new is not None else _lock_like(old)
    undo += preempt.instrument(preempt_in)
    runner.background = lambda actor: bool(getattr(world.threads.get(actor.aid), "daemon", False))
    runner.cleanups.append(lambda: _undo(undo))
    return world


def _fresh_counters(undo: list[tuple[Any, str, Any]]) -> None:
    """Thread names count from 1 in every run ("Thread-1", "ThreadPoolExecutor-0_0"), as in
    a fresh process, so names, traces and states are the same in every run. The worker-pool
    logger is quiet for the run: ending a run ends idle workers with GreenletExit, which it
    would report as a crash."""
    undo.append((threading, "_counter", threading._counter))  # type: ignore[attr-defined]
    threading._counter = itertools.count(1).__next__  # type: ignore[attr-defined]
    futures = sys.modules.get("concurrent.futures.thread")
    if futures is not None:
        pool = futures.ThreadPoolExecutor
        undo.append((pool, "_counter", pool.__dict__["_counter"]))
        pool._counter = itertools.count().__next__
        logger = logging.getLogger("concurrent.futures")
        undo.append((logger, "disabled", logger.disabled))
        logger.disabled = True


def _lock_like(real: Any) -> Any:
    return locks.RLock() if "RLock" in type(real).__name__ else locks.Lock()


def _undo(undo: list[tuple[Any, str, Any]]) -> None:
    for owner, name, old in reversed(undo):
        if isinstance(owner, dict):
            owner[name] = old
        else:
            setattr(owner, name, old)
