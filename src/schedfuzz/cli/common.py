"""What every command shares: the bad-input exception, ``-p NAME=VALUE`` parameters, JSON output."""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["BadInput", "check_save_dir", "dump", "parse_params"]


class BadInput(Exception):
    """Bad input from the command line: ``main`` prints it on one line and exits 2.

    The parser raises it instead of exiting, and so do the commands for input that only they can
    judge (a malformed parameter, an engine that is not installed).
    """


def parse_params(items: Sequence[str] | None) -> dict[str, Any]:
    """``["n=2", "variant=buggy"]`` -> ``{"n": 2, "variant": "buggy"}``.

    VALUE is read as a Python literal and kept as a plain string when it is not one.
    """
    params: dict[str, Any] = {}
    for item in items or ():
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier():
            msg = f"-p {item!r}: expected NAME=VALUE with NAME a Python identifier"
            raise BadInput(msg)
        if name in params:
            msg = f"-p {name}: parameter given twice"
            raise BadInput(msg)
        try:
            params[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            params[name] = text
    return params


def dump(obj: Any) -> str:
    """One line of JSON for ``--json``; a value JSON cannot hold is written as its ``repr``."""
    return json.dumps(obj, default=repr, ensure_ascii=False)


def check_save_dir(path: str | None) -> None:
    """Refuse a ``--save DIR`` that cannot be written before the search, not after it: a
    failure found in an hour's search must not be lost to a typo. DIR may not exist yet (it is
    created when a reproducer is saved); its nearest existing ancestor must be a writable folder.
    """
    if path is None:
        return
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        msg = f"--save {path}: not a directory"
        raise BadInput(msg)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        msg = f"--save {path}: {existing} is not a writable directory"
        raise BadInput(msg)


def scenario_of(args: Any) -> Any:
    """The scenario the command line names: ``SCENARIO`` resolved, or with ``--threads`` the
    plain threaded function it names run as ``MainThread`` (``schedfuzz.threads``), with
    scheduling points in the modules of ``--preempt-in``."""
    from schedfuzz.scenario import resolve

    preempt_in = tuple(m.strip() for m in (args.preempt_in or "").split(",") if m.strip())
    if preempt_in and not args.threads:
        msg = "--preempt-in goes with --threads (points in the code that plain threads run)"
        raise BadInput(msg)
    if not args.threads:
        return resolve(args.scenario)
    from schedfuzz._threads.adapt import as_scenario

    info = resolve(args.scenario)
    plain = getattr(info.fn, "__wrapped__", info.fn) if getattr(
        info.fn, "__schedfuzz_threaded__", False) else info.fn
    return as_scenario(plain, preempt_in=preempt_in, settings=info.settings)
