"""``threading.Thread`` as an actor, ``threading.local``, thread identity and virtual time.

A ``Thread`` started in an explored run becomes an actor named after the thread; ``join``
waits for that actor (a join nobody can end is a hang, two threads joining each other a
deadlock); an exception that escapes ``run()`` fails the run with the thread's own traceback,
where a real thread would print it and die unnoticed. The functions here replace the methods of
the real ``threading.Thread`` class while a run is patched (``schedfuzz._threads.patch``), so
subclasses defined before the run (``class Worker(threading.Thread)``) are actors too.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from schedfuzz._core.actor import ActorState
from schedfuzz._core.traps import LOCAL, checkpoint, current_actor, current_runner, running_actor
from schedfuzz._threads.locks import block_on
from schedfuzz._threads.world import IDENT_BASE, MONOTONIC_START, WALL_START, world

if TYPE_CHECKING:
    from schedfuzz._core.actor import Actor

__all__ = ["ActorThread", "current_thread", "get_ident", "is_alive", "join", "local", "start"]

_threading = sys.modules["threading"]
REAL = {name: getattr(_threading.Thread, name) for name in ("start", "join", "is_alive")}


class ActorThread:
    """What ``threading.current_thread()`` returns in an actor no ``Thread`` started: the
    ``MainThread`` that runs the user's function, or a ``_thread.start_new_thread`` thread."""

    def __init__(self, actor: Actor, daemon: bool = False) -> None:
        self._schedfuzz_actor = actor
        self.name = self._name = actor.name
        self.ident = self.native_id = IDENT_BASE + actor.aid
        self.daemon = daemon
        self._initialized = True

    def is_alive(self) -> bool:
        return not _done(self)

    def join(self, timeout: float | None = None) -> None:
        join(self, timeout)

    def getName(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<ActorThread({self.name}, started {self.ident})>"


def start(self: Any) -> None:
    """``Thread.start``: spawn the actor that runs ``self.run()``."""
    w = world()
    if w is None:
        REAL["start"](self)
        return
    if not getattr(self, "_initialized", False):
        msg = "thread.__init__() not called"
        raise RuntimeError(msg)
    if getattr(self, "_schedfuzz_actor", None) is not None or self._started._flag:
        msg = "threads can only be started once"
        raise RuntimeError(msg)
    checkpoint("start", thread=self._name)
    actor = current_runner().spawn(_bootstrap, (self,), {}, self._name)
    self._schedfuzz_actor = actor
    self._ident = IDENT_BASE + actor.aid
    if hasattr(self, "_native_id"):
        self._native_id = self._ident
    w.threads[actor.aid] = self
    self._started._flag = True  # what the real start() waits for; no step of its own


def _bootstrap(thread: Any) -> None:
    """The bottom frame of a thread's actor: run it; a ``SystemExit`` ends it quietly, as it
    ends a real thread, and any other exception fails the run."""
    try:
        thread.run()
    except SystemExit:
        pass
    finally:
        thread._schedfuzz_done = True


def _done(thread: Any) -> bool:
    actor = thread._schedfuzz_actor
    return actor.state is ActorState.DONE or getattr(thread, "_schedfuzz_done", False)


def join(self: Any, timeout: float | None = None) -> None:
    """``Thread.join``: wait until the thread's actor has finished (or ``timeout`` passes)."""
    w = world()
    if w is None or (getattr(self, "_schedfuzz_actor", None) is None
                     and getattr(self, "_started", None) is not None and self._started.is_set()):
        REAL["join"](self, timeout)  # a real thread, started outside the run
        return
    if not getattr(self, "_initialized", False):
        msg = "Thread.__init__() not called"
        raise RuntimeError(msg)
    if getattr(self, "_schedfuzz_actor", None) is None:
        msg = "cannot join thread before it is started"
        raise RuntimeError(msg)
    if self._schedfuzz_actor is current_actor():
        msg = "cannot join current thread"
        raise RuntimeError(msg)
    checkpoint("join", thread=self._name)
    if timeout is not None:
        w.sleep_until(lambda: _done(self), max(timeout, 0.0), f"join {self._name}",
                      on=_Joined(self))
        return
    while not _done(self):
        block_on(lambda: _done(self), f"join {self._name}", _Joined(self))


class _Joined:
    """A thread as the resource a joiner waits for: held by the thread's own actor."""

    def __init__(self, thread: Any) -> None:
        self.thread = thread

    def __schedfuzz_holders__(self) -> list[Any]:
        actor = self.thread._schedfuzz_actor
        return [] if actor.state is ActorState.DONE else [actor]

    def __schedfuzz_name__(self) -> str:
        return f"the end of thread {self.thread._name!r}"

    def __schedfuzz_state__(self) -> object:
        return ()


def is_alive(self: Any) -> bool:
    """``Thread.is_alive``: started and not yet finished."""
    if world() is None and getattr(self, "_schedfuzz_actor", None) is None:
        return bool(REAL["is_alive"](self))
    return getattr(self, "_schedfuzz_actor", None) is not None and not _done(self)


def current_thread() -> Any:
    """``threading.current_thread()`` seen from an actor: its thread object."""
    w = world()
    if w is None:
        return _REAL_CURRENT_THREAD()
    actor = current_actor()
    thread = w.threads.get(actor.aid)
    if thread is None:
        thread = w.threads[actor.aid] = ActorThread(actor)
    return thread


def get_ident() -> int:
    """``threading.get_ident()`` seen from an actor: a small number, the same in every run."""
    if world() is None:
        return int(_REAL_GET_IDENT())
    return IDENT_BASE + current_actor().aid


_REAL_CURRENT_THREAD = _threading.current_thread
_REAL_GET_IDENT = _threading.get_ident


class local:
    """``threading.local``: attributes of one object, one set per actor (thread). A
    subclass's ``__init__`` runs again, with the same arguments, in each other thread that
    touches the object, as with the real one."""

    def __new__(cls, *args: Any, **kwargs: Any) -> local:
        if (args or kwargs) and cls.__init__ is object.__init__:
            msg = "Initialization arguments are not supported"
            raise TypeError(msg)
        self = object.__new__(cls)
        object.__setattr__(self, "_schedfuzz_dicts", {_key(): {}})
        object.__setattr__(self, "_schedfuzz_init", (args, kwargs))
        return self

    def _schedfuzz_dict(self) -> dict[str, Any]:
        dicts = object.__getattribute__(self, "_schedfuzz_dicts")
        key = _key()
        d = dicts.get(key)
        if d is None:
            d = dicts[key] = {}
            args, kwargs = object.__getattribute__(self, "_schedfuzz_init")
            type(self).__init__(self, *args, **kwargs)
        return d  # type: ignore[no-any-return]

    def __getattribute__(self, name: str) -> Any:
        if name.startswith(("__", "_schedfuzz")):
            return object.__getattribute__(self, name)
        d = local._schedfuzz_dict(self)
        if name in d:
            return d[name]
        return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        local._schedfuzz_dict(self)[name] = value

    def __delattr__(self, name: str) -> None:
        d = local._schedfuzz_dict(self)
        if name not in d:
            raise AttributeError(name)
        del d[name]

    def __schedfuzz_state__(self) -> object:
        dicts = object.__getattribute__(self, "_schedfuzz_dicts")
        return tuple(sorted(dicts.items()))


def _key() -> int:
    return current_actor().aid if world() is not None else -1


# -- virtual time ---------------------------------------------------------------------------

_REAL_TIME = {name: getattr(time, name) for name in (
    "sleep", "monotonic", "monotonic_ns", "time", "time_ns", "perf_counter", "perf_counter_ns")}


def sleep(seconds: float) -> None:
    """``time.sleep`` in an actor: a scheduling point, then the virtual clock moves on."""
    w = world()
    if w is None:
        _REAL_TIME["sleep"](seconds)
        return
    if seconds < 0:
        msg = "sleep length must be non-negative"
        raise ValueError(msg)
    checkpoint("sleep", seconds=seconds, yield_=True)
    w.sleep_until(lambda: False, seconds, "sleep")


def monotonic() -> float:
    w = world()
    return float(_REAL_TIME["monotonic"]()) if w is None else w.now


def perf_counter() -> float:
    w = world()
    return float(_REAL_TIME["perf_counter"]()) if w is None else w.now


def wall_time() -> float:
    w = world()
    return float(_REAL_TIME["time"]()) if w is None else WALL_START + (w.now - MONOTONIC_START)


def monotonic_ns() -> int:
    w = world()
    return int(_REAL_TIME["monotonic_ns"]()) if w is None else int(w.now * 1e9)


def perf_counter_ns() -> int:
    w = world()
    return int(_REAL_TIME["perf_counter_ns"]()) if w is None else int(w.now * 1e9)


def wall_time_ns() -> int:
    w = world()
    return int(_REAL_TIME["time_ns"]()) if w is None else int(wall_time() * 1e9)


VIRTUAL_TIME = {"sleep": sleep, "monotonic": monotonic, "monotonic_ns": monotonic_ns,
                "time": wall_time, "time_ns": wall_time_ns, "perf_counter": perf_counter,
                "perf_counter_ns": perf_counter_ns}


def in_actor() -> bool:
    """True in an actor of a threaded run of this thread (for the patch's own checks)."""
    runner = LOCAL.runner
    return runner is not None and running_actor() is not None
