"""Reading one corpus file: every field checked, every problem reported in one line.

A corpus file may be old, edited by hand, written by a program that has since changed, or
written by someone else entirely, so ``load`` trusts nothing. It parses the bytes within the
format's size limits (``bounded``), checks the format marker and version, then each field's type
and range, then that the schedule fits its own widths; only then does it look the scenario up, by
the rules of ``trust``, which never run code the user did not register. The first problem found
raises ``CorpusError`` with a message shaped ``<file>: field '<name>': <problem>`` (or
``<file>: <problem>`` when the file as a whole is at fault), folded onto one line whatever the
underlying exception printed, so a command line or a test report can show it as is.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import attrs

from schedfuzz.corpus.bounded import Refused, parse
from schedfuzz.corpus.format import (
    FORMAT,
    MAX_FILE_BYTES,
    MAX_STEPS,
    MAX_WIDTH,
    READS,
    Entry,
    decode_param,
    trace_digest,
)
from schedfuzz.corpus.trust import MODULE_NAME, Untrusted, find_scenario
from schedfuzz.errors import CorpusError, InvalidArgument
from schedfuzz.scenario import VERDICTS
from schedfuzz.settings import Settings

__all__ = ["load"]


def load(path: str | os.PathLike[str], *, allow_import: Iterable[str] = ()) -> Entry:
    """Read and check one corpus file.

    Args:
        path: the file.
        allow_import: modules a ``ref`` may import when they are not imported yet (a package
            allows its submodules); see ``corpus.trust`` for what a file may name.

    Raises:
        CorpusError: one line naming the file and the field at fault: unreadable, too large, not
            JSON, not a corpus file, an unknown format version, a missing, mistyped or
            out-of-range field, a scenario that is not registered, an unknown parameter, a
            schedule that does not fit its own widths.
    """
    p = Path(path)
    where = str(p)
    try:
        if not stat.S_ISREG(p.stat().st_mode):  # a FIFO would block the read forever
            return _fail(where, None, "not a regular file")
        with p.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return _fail(where, None, f"cannot read: {exc.strerror or exc}")
    try:
        document = parse(data)
    except Refused as exc:
        return _fail(where, exc.field, exc.problem)
    if not isinstance(document, dict):
        return _fail(where, None, f"expected a JSON object, got {_json_type(document)}")
    if document.get("format") != FORMAT:
        _fail(where, "format", f"expected {FORMAT!r}, got {document.get('format')!r:.40}; "
              "not a schedfuzz corpus file")
    version = document.get("version")
    if type(version) is not int or version not in READS:
        _fail(where, "version", f"unknown format version {version!r:.20}; this schedfuzz reads "
              f"versions {', '.join(map(str, READS))}")
    return _parse(document, p, where, version, tuple(allow_import))


def _fail(where: str, field: str | None, problem: str) -> NoReturn:
    problem = " ".join(problem.split())  # one line, whatever the cause's message looked like
    msg = f"{where}: field {field!r}: {problem}" if field else f"{where}: {problem}"
    raise CorpusError(msg)


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _get(data: dict[str, Any], where: str, key: str, kind: type | tuple[type, ...],
         what: str) -> Any:
    if key not in data:
        _fail(where, key, "missing")
    value = data[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        _fail(where, key, f"expected {what}, got {value!r:.60}")
    if not isinstance(value, kind):
        _fail(where, key, f"expected {what}, got {value!r:.60}")
    return value


def _count(data: dict[str, Any], where: str, key: str) -> int:
    value = _get(data, where, key, int, "an integer")
    if not 0 <= value <= MAX_STEPS:
        _fail(where, key, f"{value} is outside 0..{MAX_STEPS:,}")
    return int(value)


def _ints(data: dict[str, Any], where: str, key: str, low: int, high: int) -> tuple[int, ...]:
    value = _get(data, where, key, list, f"a list of integers >= {low}")
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            _fail(where, key, f"item {i} is {v!r:.40}; expected an integer >= {low}")
        if v > high:
            _fail(where, key, f"item {i} is {v}; the limit is {high:,}")
    return tuple(value)


def _parse(data: dict[str, Any], path: Path, where: str, version: int,
           allow_import: tuple[str, ...]) -> Entry:
    """Every field but the scenario first, so a broken file never gets as far as a lookup."""
    name = _get(data, where, "scenario", str, "a scenario name")
    ref = data.get("ref")
    if ref is not None and not isinstance(ref, str):
        _fail(where, "ref", f"expected 'module:function', got {ref!r:.60}")
    raw = _get(data, where, "params", dict, "an object of parameters")
    params: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            params[key] = decode_param(value)
        except ValueError as exc:
            _fail(where, f"params.{key}", str(exc))
    verdict = _get(data, where, "verdict", str, "a verdict name")
    if verdict not in VERDICTS:
        _fail(where, "verdict", f"{verdict!r:.40} is not a verdict; use one of "
              f"{', '.join(VERDICTS)}")
    error = _get(data, where, "error", str, "an exception type name")
    decisions = _ints(data, where, "decisions", 0, MAX_WIDTH - 1)
    widths = _ints(data, where, "widths", 2, MAX_WIDTH)
    if len(widths) < len(decisions):
        _fail(where, "widths", f"{len(widths)} widths for {len(decisions)} decisions")
    for i, (d, n) in enumerate(zip(decisions, widths)):
        if d >= n:
            _fail(where, "decisions", f"item {i} is {d} but only {n} actors were enabled there")
    cycle = data.get("cycle_start")
    if cycle is not None and (isinstance(cycle, bool) or not isinstance(cycle, int)
                              or not 0 <= cycle <= len(decisions)):
        _fail(where, "cycle_start", f"expected null or an integer in 0..{len(decisions)}, "
              f"got {cycle!r:.20}")
    verdict, error, proved = _claim(data, where, version, verdict, error, cycle)
    fields = {
        # Informational: any value will do, shown folded onto one line.
        "message": " ".join(str(data.get("message") or "").split())[:500],
        "decisions": decisions, "cycle_start": cycle, "widths": widths,
        "preemptions": _count(data, where, "preemptions"), "steps": _count(data, where, "steps"),
        "settings": _settings(data, where), **_trace(data, where),
    }
    threads = _threads(data, where)
    info = _scenario(where, name, ref, allow_import, threads)
    try:
        info.check_params(params)
    except InvalidArgument as exc:
        _fail(where, "params", str(exc))
    return Entry(path, info, params, verdict, error, proved=proved, threads=threads, **fields)


def _claim(data: dict[str, Any], where: str, version: int, verdict: str, error: str,
           cycle: int | None) -> tuple[str, str, bool | None]:
    """Verdict, exception type and ``proved``, reading version 1 as the format docstring says."""
    if version == 1:
        if verdict != "livelock":
            return verdict, error, None
        if cycle is None:  # version 1's "Livelock (bound, not a proof)"
            return "step_bound", "StepBound", None
        return verdict, error, True
    proved = data.get("proved")
    if verdict == "livelock":
        if not isinstance(proved, bool):
            _fail(where, "proved", f"a livelock says whether it is proved: expected true or "
                  f"false, got {proved!r:.20}")
        return verdict, error, proved
    if proved is not None:
        _fail(where, "proved", f"only a livelock is proved or not; expected null for a "
              f"{verdict} verdict, got {proved!r:.20}")
    return verdict, error, None


def _threads(data: dict[str, Any], where: str) -> tuple[str, ...] | None:
    """The ``threads`` field: null, or {"preempt_in": [module names]}."""
    value = data.get("threads")
    if value is None:
        return None
    modules = value.get("preempt_in") if isinstance(value, dict) else None
    if not isinstance(modules, list) or not all(
            isinstance(m, str) and MODULE_NAME.fullmatch(m) for m in modules):
        _fail(where, "threads", f"expected null or {{\"preempt_in\": [module names]}}, got "
              f"{value!r:.60}")
    return tuple(modules)


def _scenario(where: str, name: str, ref: str | None, allow_import: tuple[str, ...],
              threads: tuple[str, ...] | None) -> Any:
    try:
        return find_scenario(name, ref, allow_import, threads)
    except Untrusted as exc:
        return _fail(where, exc.field, exc.problem)


def _settings(data: dict[str, Any], where: str) -> Settings:
    """The recorded bounds: each field of the type of its default, integers within
    ``MAX_STEPS`` (a replay runs up to ``max_steps`` steps), numbers finite."""
    raw = _get(data, where, "settings", dict, "an object of Settings fields")
    fields = {f.name: f for f in attrs.fields(Settings)}
    for key, value in raw.items():
        if key not in fields:
            _fail(where, f"settings.{key}", f"Settings has no field {key!r:.40}")
        default = fields[key].default
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool) and value <= MAX_STEPS
        elif isinstance(default, float):
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and math.isfinite(value) and value <= MAX_STEPS)
        else:
            ok = True  # a field of another kind: Settings' own validators judge it
        if not ok:
            _fail(where, f"settings.{key}", f"expected {_kind(default)} like the default "
                  f"{default!r}, got {value!r:.40}")
    try:
        return Settings(**raw)
    except (InvalidArgument, TypeError, ValueError) as exc:
        return _fail(where, "settings", str(exc))


def _kind(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return f"an integer up to {MAX_STEPS:,}"
    return f"a finite number up to {MAX_STEPS:,}"


def _trace(data: dict[str, Any], where: str) -> dict[str, Any]:
    """The stored trace; a file without length and digest (written by hand) holds all of it."""
    value = _get(data, where, "trace", list, "a list of trace lines")
    for i, line in enumerate(value):
        if not isinstance(line, str):
            _fail(where, "trace", f"item {i} is {line!r:.40}; expected a string")
    if "trace_lines" not in data and "trace_sha256" not in data:
        return {"trace": tuple(value), "trace_lines": len(value),
                "trace_sha256": trace_digest(value)}
    total = _get(data, where, "trace_lines", int, "an integer")
    if total < len(value):
        _fail(where, "trace_lines", f"{total} is less than the {len(value)} stored lines")
    digest = _get(data, where, "trace_sha256", str, "a SHA-256 hex digest")
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        _fail(where, "trace_sha256", f"expected a SHA-256 hex digest, got {digest!r:.70}")
    return {"trace": tuple(value), "trace_lines": total, "trace_sha256": digest}
