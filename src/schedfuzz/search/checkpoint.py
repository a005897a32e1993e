"""Saving and resuming a long ``dfs`` search: the checkpoint file.

A proof of a few preemptions on a real protocol can take hours, longer than a CI job or a laptop
lid allows (loom has ``LOOM_CHECKPOINT_FILE`` for this, TLC ``-recover``). With
``Budget.checkpoint`` (``schedfuzz explore --engine dfs --checkpoint FILE``) the search writes its
whole state to the file every ``Budget.checkpoint_every`` seconds and when its budget runs out,
and a search started with the file present goes on from there: the levels done, the subtrees
still to run and, when stateful, every state and edge seen. Runs are deterministic and the search
is saved only between two runs, so a resumed search takes exactly the runs the uninterrupted one
would have, and ends with the same states, runs and verdict. A Ctrl-C or SIGTERM makes the
search save after the run in progress and stop (``stop_signals``); a second one, or a crash,
loses only the runs since the last save.

With several workers (``dfs_workers``) each saves its share of the first run's subtrees to its
own file, ``FILE.1-of-N`` to ``FILE.N-of-N``, and a search saved by N workers resumes only with
N (``check_workers``).

The file is written atomically (a temporary file in the same folder, then a rename), so a crash
while saving leaves the previous checkpoint whole. When the search finishes (a proof, a failure,
the whole space) the file is removed: it only ever holds an unfinished search.

A checkpoint also records a digest of the source files of the scenario's package and of
schedfuzz: resumed on changed code, the saved states would belong to another program, and the
proof would be of neither, so such a file is refused.

Each save is logged (logger ``schedfuzz.dfs``, level INFO) with how far the search has got: a
long proof in a CI log shows its progress at every save. Nothing is printed unless logging is
set up; ``schedfuzz explore --checkpoint`` sets it up when stderr is not a terminal (a terminal
shows the ticker instead), and worker processes then log their own saves the same way.

The format is ``marshal`` of plain values (lists, tuples, ints, and the state graph's array
columns as bytes) after a header that names the scenario, its parameters, the settings and the
search options; loading one runs no code from the file, unlike pickle. marshal's encoding is tied
to the Python version, which the header records as well.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import marshal
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn

import attrs

from schedfuzz._core.atomic import write_atomic
from schedfuzz.errors import InvalidArgument
from schedfuzz.search.state import SearchState

if TYPE_CHECKING:
    from schedfuzz.search.dfs import DfsSearch

__all__ = ["check_workers", "log_saves_to_stderr", "logs_saves", "remove", "restore", "save",
           "stop_signals", "worker_path"]

LOG = logging.getLogger("schedfuzz.dfs")

FORMAT = "schedfuzz-dfs-checkpoint"
# 2: subtrees as a way tree and (node, answer) columns; outline tags; forced counts
# 3: each branching point's step, width and step digest, to tell a nondeterministic scenario
# 4: the uncomparable values met (``inexact``), and states kept without a key for them
VERSION = 4


def _sources(module_name: str) -> list[Path]:
    """The source files of the top-level package of ``module_name`` (or of the module)."""
    top = sys.modules.get(module_name.partition(".")[0])
    if top is None:
        return []
    folders = getattr(top, "__path__", None)
    if folders:
        return sorted(f for folder in folders for f in Path(folder).rglob("*.py"))
    file = getattr(top, "__file__", None)
    return [Path(file)] if file else []


def code_digest(search: DfsSearch) -> str:
    """A digest of the code the saved states come from: the scenario's package and schedfuzz.
    A search resumed on changed code would mix two programs' states into one proof."""
    digest = hashlib.blake2b(digest_size=12)
    for module in (search.info.fn.__module__, __name__):
        for path in _sources(module):
            digest.update(path.name.encode() + b"\0")
            try:
                digest.update(path.read_bytes())
            except OSError:
                digest.update(b"unreadable")
    return digest.hexdigest()


def _header(search: DfsSearch) -> dict[str, Any]:
    """What a checkpoint must match to be resumed by ``search``."""
    return {
        "code": code_digest(search),
        "format": FORMAT,
        "version": VERSION,
        "python": list(sys.version_info[:2]),
        "scenario": search.info.name,
        "params": repr(sorted(search.params.items())),
        "settings": repr(attrs.asdict(search.settings)),
        "max_preemptions": search.max_preemptions,
        "by_deviation": search.by_deviation,
        "partition": None if search.partition is None else list(search.partition),
    }


def save(search: DfsSearch, path: str, seconds: float) -> None:
    """Write ``search`` (between two runs) to ``path`` atomically; ``seconds``: its time so far."""
    body = search.state.dump()
    body["seconds"] = seconds
    header = _header(search)

    def write(f: BinaryIO) -> None:
        marshal.dump(header, f)
        marshal.dump(body, f)

    try:
        write_atomic(path, write)
    except OSError as exc:
        msg = f"checkpoint {path}: cannot write it ({exc.strerror or exc}); the last save is kept"
        raise InvalidArgument(msg) from None
    state = search.state
    LOG.info("saved %s: level %d, %s runs, %s states kept, %s subtrees left on this level and "
             "%s on the next, %.0fs", path, state.level, f"{state.runs:,}", f"{len(state.graph):,}",
             f"{len(state.stack):,}", f"{len(state.next_level):,}", seconds)


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record comes (a test may have swapped it)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(f"schedfuzz: {self.format(record)}\n")
        sys.stderr.flush()


@contextlib.contextmanager
def log_saves_to_stderr() -> Iterator[None]:
    """While inside, print each save's log line to stderr (``schedfuzz: saved FILE: ...``)."""
    handler = _Stderr()
    level = LOG.level
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    try:
        yield
    finally:
        LOG.removeHandler(handler)
        LOG.setLevel(level)


def logs_saves() -> bool:
    """Whether saves are printed here (so worker processes should print theirs too)."""
    return LOG.isEnabledFor(logging.INFO) and LOG.hasHandlers()


def restore(search: DfsSearch, path: str) -> float | None:
    """Load the checkpoint at ``path`` into a fresh ``search``; returns the seconds the search
    had taken before, or None if there is no such file. A file that is not a checkpoint of this
    search raises ``InvalidArgument`` naming the file and what differs."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        msg = f"checkpoint {path}: the folder {folder} does not exist"
        raise InvalidArgument(msg)
    if os.path.isdir(path):
        msg = f"checkpoint {path}: is a folder; name a file"
        raise InvalidArgument(msg)
    try:
        with open(path, "rb") as f:
            header = marshal.load(f)
            ours = isinstance(header, dict) and header.get("format") == FORMAT
            body = marshal.load(f) if ours else None
    except FileNotFoundError:
        return None
    except (EOFError, ValueError, TypeError) as exc:
        _refuse(path, f"unreadable ({exc or type(exc).__name__})")
    except OSError as exc:
        _refuse(path, exc.strerror or str(exc))
    if not ours:
        _refuse(path, "not a schedfuzz dfs checkpoint")
    for key, value in _header(search).items():
        if header.get(key) == value:
            continue
        if key == "code":
            _refuse(path, f"the code of {search.info.fn.__module__.partition('.')[0]} or of "
                          "schedfuzz has changed since it was saved, so its states may not be "
                          "this program's")
        _refuse(path, f"it was written for {key} {header.get(key)!r}, and this search has "
                      f"{value!r}")
    try:
        return _load(search, body)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError) as exc:
        _refuse(path, f"damaged ({type(exc).__name__}: {exc})")


def _load(search: DfsSearch, body: dict[str, Any]) -> float:
    search.state = SearchState.load(body)
    return float(body["seconds"])


def _refuse(path: str, why: str) -> NoReturn:
    msg = f"checkpoint {path}: {why}; remove it to start the search afresh"
    raise InvalidArgument(msg)


def worker_path(path: str, worker: int, workers: int) -> str:
    """The file of one worker's share when ``workers`` processes search (``dfs_workers``)."""
    return f"{path}.{worker + 1}-of-{workers}"


def check_workers(path: str, workers: int) -> None:
    """Refuse to resume a search saved by another number of processes: each file holds one
    worker's share of the first run's subtrees, which another division would not match."""
    folder, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(folder):
        return  # ``restore`` says so
    saved_by = {1} if os.path.isfile(path) else set()
    prefix = name + "."
    for entry in os.listdir(folder):
        count = entry[len(prefix):].partition("-of-")[2]
        if entry.startswith(prefix) and count.isdigit():
            saved_by.add(int(count))
    others = sorted(saved_by - {workers})
    if others:
        who = "one process" if others[0] == 1 else f"{others[0]} workers"
        msg = (f"checkpoint {path}: saved by {who}; resume it with --workers {others[0]}, "
               "or remove it to start the search afresh")
        raise InvalidArgument(msg)


def remove(path: str) -> None:
    """Remove the checkpoint of a search that finished (missing is fine)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


@contextlib.contextmanager
def stop_signals(ask: Callable[[str], None]) -> Iterator[None]:
    """While a checkpointed search runs, SIGINT (Ctrl-C) and SIGTERM (what a CI job's timeout or
    a shutdown sends) call ``ask`` with the signal's name, so that the search saves and stops
    after the run in progress instead of losing every run since the last save. A second signal
    interrupts at once. Outside the main thread (where Python takes no signals) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    asked: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        if asked:
            for sig, handler in before.items():
                signal.signal(sig, handler)
            raise KeyboardInterrupt
        asked.append(signum)
        ask(signal.Signals(signum).name)

    for sig in before:
        signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
