"""Worker processes for the engines that split a search (``random``, ``pct``, ``dfs``).

A worker is a fresh process (forkserver where the platform has it, else spawn), so it finds the
scenario again by its registered name or ``module:function`` reference, and it sends back one
picklable result through a queue. The parent waits for every result, and a worker that dies
before sending one (it could not import the main module, say) ends the wait with one line
instead of a hang.
"""

from __future__ import annotations

import multiprocessing
import queue
from typing import Any, NoReturn

from schedfuzz import errors
from schedfuzz.errors import InvalidArgument, ReplayDiverged, SchedfuzzInternalError
from schedfuzz.scenario import ScenarioInfo, resolve

__all__ = ["context", "find_again", "gather", "importable", "raise_failure"]

# What a worker may end on that is the user's to fix, not a bug of schedfuzz: raised again in
# the parent as itself, one line as in one process.
_THEIRS = (InvalidArgument, ReplayDiverged)


def find_again(name: str, ref: str) -> ScenarioInfo:
    """The scenario a worker process was given, by name (or reference for ``module:fn``).

    A name registered by a module the parent imported itself (``schedfuzz explore mod:fn`` of a
    decorated function) is unknown to a fresh process until it imports the module: the
    reference does that.
    """
    if ":" in name:
        return resolve(ref)
    try:
        return resolve(name)
    except InvalidArgument:
        if ":" not in ref or ref.startswith("__main__:"):
            raise
        return resolve(ref)


def importable(info: ScenarioInfo) -> bool:
    """Whether a fresh process finds the same scenario function by name or reference."""
    try:
        again = find_again(info.name, info.ref)
    except InvalidArgument:
        return False
    return again.fn is info.fn


def context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def gather(procs: list[Any], results: Any, what: str) -> list[Any]:
    """Wait for ``(worker index, result)`` from every process in ``procs``; the results in
    worker order. ``what`` names the workers in an error ("worker process", "dfs worker")."""
    out: list[Any] = [None] * len(procs)
    done = [False] * len(procs)
    pending = len(procs)
    while pending:
        try:
            worker, result = results.get(timeout=0.2)
        except queue.Empty:
            dead = [w for w, p in enumerate(procs) if not done[w] and p.exitcode is not None]
            if dead and results.empty():
                for proc in procs:
                    proc.kill()
                msg = (f"{what} {dead[0]} exited with code {procs[dead[0]].exitcode} before "
                       "reporting (it could not start: is the main module importable?)")
                raise SchedfuzzInternalError(msg) from None
            continue
        out[worker] = result
        done[worker] = True
        pending -= 1
    for proc in procs:
        proc.join()
    return out


def raise_failure(failure: str, what: str) -> NoReturn:
    """Raise in the parent the exception a worker ended on, sent as ``"Type: message"``: a
    wrong input or a nondeterministic scenario as itself, anything else as an internal error
    naming the worker (``what``)."""
    kind, _, message = failure.partition(": ")
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, _THEIRS):
        raise cls(message)
    msg = f"{what} failed: {failure}"
    raise SchedfuzzInternalError(msg)
