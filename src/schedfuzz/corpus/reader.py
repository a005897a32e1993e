"""Reading one corpus file: every field checked, every problem reported in one line.

A corpus file may be old, edited by hand, or written by a program that has since changed, so
``load`` trusts nothing: it checks the format marker and version first, then each field's type
and range, then that the schedule fits its own widths. The first problem found raises
``CorpusError`` with a message shaped ``<file>: field '<name>': <problem>`` (or
``<file>: <problem>`` when the file as a whole is at fault), folded onto one line whatever the
underlying exception printed, so a command line or a test report can show it as is.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, NoReturn

import attrs

from schedfuzz.corpus.format import FORMAT, VERSION, Entry, decode_param, trace_digest
from schedfuzz.errors import CorpusError, InvalidArgument
from schedfuzz.scenario import VERDICTS, ScenarioInfo, resolve
from schedfuzz.settings import Settings

__all__ = ["load"]


def load(path: str | os.PathLike[str]) -> Entry:
    """Read and check one corpus file.

    Raises:
        CorpusError: one line naming the file and the field at fault: unreadable, not JSON, not a
            corpus file, an unknown format version, a missing or mistyped field, an unknown
            scenario or parameter, a schedule that does not fit its own widths.
    """
    p = Path(path)
    where = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return _fail(where, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        return _fail(where, None, f"cannot read: {exc.strerror or exc}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return _fail(where, None, f"not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})")
    if not isinstance(data, dict):
        return _fail(where, None, f"expected a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        _fail(where, "format", f"expected {FORMAT!r}, got {data.get('format')!r:.40}; "
              "not a schedfuzz corpus file")
    version = data.get("version")
    if version != VERSION:
        _fail(where, "version", f"unknown format version {version!r:.20}; this schedfuzz reads "
              f"version {VERSION}")
    return _parse(data, p, where)


def _fail(where: str, field: str | None, problem: str) -> NoReturn:
    problem = " ".join(problem.split())  # one line, whatever the cause's message looked like
    msg = f"{where}: field {field!r}: {problem}" if field else f"{where}: {problem}"
    raise CorpusError(msg)


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


def _ints(data: dict[str, Any], where: str, key: str, low: int) -> tuple[int, ...]:
    value = _get(data, where, key, list, f"a list of integers >= {low}")
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            _fail(where, key, f"item {i} is {v!r:.40}; expected an integer >= {low}")
    return tuple(value)


def _parse(data: dict[str, Any], path: Path, where: str) -> Entry:
    name = _get(data, where, "scenario", str, "a scenario name")
    ref = data.get("ref")
    if ref is not None and not isinstance(ref, str):
        _fail(where, "ref", f"expected 'module:function', got {ref!r:.60}")
    info = _resolve(where, name, ref)
    raw = _get(data, where, "params", dict, "an object of parameters")
    params: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            params[key] = decode_param(value)
        except ValueError as exc:
            _fail(where, f"params.{key}", str(exc))
    try:
        info.check_params(params)
    except InvalidArgument as exc:
        _fail(where, "params", str(exc))
    verdict = _get(data, where, "verdict", str, "a verdict name")
    if verdict not in VERDICTS:
        _fail(where, "verdict", f"{verdict!r} is not a verdict; use one of {', '.join(VERDICTS)}")
    decisions = _ints(data, where, "decisions", 0)
    widths = _ints(data, where, "widths", 2)
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
    return Entry(
        path, info, params, verdict,
        error=_get(data, where, "error", str, "an exception type name"),
        message=str(data.get("message") or ""),  # informational: any value will do
        decisions=decisions, cycle_start=cycle, widths=widths,
        preemptions=_get(data, where, "preemptions", int, "an integer"),
        steps=_get(data, where, "steps", int, "an integer"),
        settings=_settings(data, where),
        **_trace(data, where),
    )


def _resolve(where: str, name: str, ref: str | None) -> ScenarioInfo:
    """The registered name first (names are stable), then ``module:function``."""
    errors = []
    for candidate in (name, ref):
        if candidate is None:
            continue
        try:
            return resolve(candidate)
        except InvalidArgument as exc:
            errors.append(str(exc))
        except Exception as exc:  # importing the scenario's module failed in its own code
            errors.append(f"importing {candidate!r} raised {type(exc).__name__}: {exc}")
    return _fail(where, "scenario", "; ".join(errors))


def _settings(data: dict[str, Any], where: str) -> Settings:
    raw = _get(data, where, "settings", dict, "an object of Settings fields")
    known = {f.name for f in attrs.fields(Settings)}
    for key in raw:
        if key not in known:
            _fail(where, f"settings.{key}", f"Settings has no field {key!r}")
    try:
        return Settings(**raw)
    except (InvalidArgument, TypeError, ValueError) as exc:
        return _fail(where, "settings", str(exc))


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
