"""Corpus: saved reproducers, one small JSON file each, that replay exactly.

A corpus file records everything a replay needs and everything a person needs to see what it
shows, independent of Hypothesis's example database (whose blobs may be dropped on upgrade)::

    {
      "format": "schedfuzz-corpus",
      "version": 1,
      "scenario": "demo.abba",                      registered name ...
      "ref": "schedfuzz.examples:abba_deadlock",    ... and module:function, the fallback
      "params": {},                                 JSON values; others as {"$repr": "(1, 2)"}
      "verdict": "deadlock",                        the expected verdict kind
      "error": "Deadlock",                          the exception type that carries it
      "message": "Deadlock: all 2 live actors ...", first line, for people
      "decisions": [1, 0, 1, 0, 0],                 the oracle's answer at each choice point
      "cycle_start": null,                          a livelock's cycle: decisions[i:] repeat
      "widths": [2, 2, 2, 2, 2],                    enabled actors at each choice point (also
                                                    past the last decision: those answer 0)
      "preemptions": 1,
      "steps": 6,
      "settings": {"max_steps": 50000, ...},        the bounds the run used
      "created_by": "schedfuzz 0.1.0",              informational
      "trace_lines": 6,                             the length of Trace.lines() ...
      "trace_sha256": "9f2c...",                    ... and its digest
      "trace": ["    0 two: start", ...]            Trace.lines(): at most the first 2000
    }

Replay feeds ``decisions`` to a ``ReplayOracle`` that checks ``widths``: a program that changed
under the file shows up as ``ReplayDiverged`` naming the choice point, and the recorded trace lets
the report name the first step that differs. A step-bound livelock can run tens of thousands of
steps, so only the first ``TRACE_KEEP`` lines are stored, with the length and digest of the rest
to tell whether a replay matches beyond them. Extra keys are ignored, so a later minor revision can
add fields without bumping ``version``.

Files are written atomically (a temporary file in the same folder, then ``os.replace``), under a
stable name ``<scenario>-<verdict>-<hash>.json``: saving the same reproducer twice writes one file.
``load`` raises ``CorpusError`` with one line naming the file and the field; iterating a folder
reports a bad file and goes on with the others.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

import attrs

from schedfuzz.errors import CorpusError, InvalidArgument, SchedfuzzError
from schedfuzz.execute import Outcome
from schedfuzz.scenario import VERDICTS, ScenarioInfo, resolve
from schedfuzz.settings import Settings

__all__ = ["FORMAT", "TRACE_KEEP", "VERSION", "Entry", "entries", "iter_files", "load", "save",
           "trace_digest"]

FORMAT = "schedfuzz-corpus"
VERSION = 1
TRACE_KEEP = 2000
# Keys whose list value is written on one line: they are long and nobody reads them element-wise.
_ONE_LINE = frozenset({"decisions", "widths"})
_REPR = "$repr"


@attrs.frozen
class Entry:
    """One loaded corpus file: a scenario, its parameters, a schedule and what it gave.

    Attributes:
        path: the file it came from (``None`` for an entry built in memory).
        info: the resolved scenario.
        params: the scenario's parameters.
        verdict: the expected verdict kind (``"deadlock"``, ``"failure"``, ``"ok"``, ...).
        error: the exception type name that carried the verdict (``""`` for ``ok``).
        message: first line of the recorded verdict message.
        decisions / cycle_start / widths: the schedule and its shape (see the module docstring).
        preemptions / steps: as recorded.
        settings: the bounds the recorded run used.
        trace: the recorded ``Trace.lines()``, at most its first ``TRACE_KEEP`` lines.
        trace_lines / trace_sha256: length and ``trace_digest`` of the whole recorded trace.
    """

    path: Path | None
    info: ScenarioInfo
    params: dict[str, Any]
    verdict: str
    error: str
    message: str
    decisions: tuple[int, ...]
    cycle_start: int | None
    widths: tuple[int, ...]
    preemptions: int
    steps: int
    settings: Settings
    trace: tuple[str, ...]
    trace_lines: int
    trace_sha256: str

    @property
    def where(self) -> str:
        return str(self.path) if self.path is not None else "<memory>"

    @classmethod
    def from_outcome(cls, outcome: Outcome, path: Path | None = None) -> Entry:
        """The entry that records ``outcome`` (what ``save`` writes)."""
        result = outcome.result
        error = result.error
        lines = result.trace.lines()
        return cls(path, outcome.info, dict(outcome.params), result.kind,
                   "" if error is None else type(error).__name__, _first_line(outcome),
                   tuple(outcome.schedule.decisions), outcome.schedule.cycle_start,
                   tuple(result.widths), result.preemptions, result.steps, outcome.settings,
                   tuple(lines[:TRACE_KEEP]), len(lines), trace_digest(lines))

    def to_json(self) -> dict[str, Any]:
        """The file's content, keys in the documented order."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "scenario": self.info.name,
            "ref": self.info.ref,
            "params": {k: _encode_param(self.info.name, k, v) for k, v in self.params.items()},
            "verdict": self.verdict,
            "error": self.error,
            "message": self.message,
            "decisions": list(self.decisions),
            "cycle_start": self.cycle_start,
            "widths": list(self.widths),
            "preemptions": self.preemptions,
            "steps": self.steps,
            "settings": attrs.asdict(self.settings),
            "created_by": f"schedfuzz {_version()}",
            "trace_lines": self.trace_lines,
            "trace_sha256": self.trace_sha256,
            "trace": list(self.trace),
        }

    def file_name(self) -> str:
        """``<scenario>-<verdict>-<hash>.json``; the hash covers scenario, params and schedule."""
        key = json.dumps([self.info.name, self.to_json()["params"], list(self.decisions),
                          self.cycle_start], sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", self.info.name).strip("._") or "scenario"
        return f"{stem}-{self.verdict}-{digest}.json"


def trace_digest(lines: Iterable[str]) -> str:
    """SHA-256 of trace lines, to compare traces longer than what a file keeps."""
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8", "surrogatepass") + b"\n")
    return h.hexdigest()


def _first_line(outcome: Outcome) -> str:
    error = outcome.result.error
    if error is None:
        return "ok"
    text = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
    return (str(text).strip().splitlines() or [""])[0]


def _version() -> str:
    try:
        return metadata.version("schedfuzz")
    except metadata.PackageNotFoundError:
        return "unknown"


# -- parameters: JSON where it round-trips exactly, a Python literal where it does not ------------

def _encode_param(scenario: str, name: str, value: Any) -> Any:
    try:
        if json.loads(json.dumps(value)) == value and _same_types(value):
            return value
    except (TypeError, ValueError):
        pass
    text = repr(value)
    try:
        ok = ast.literal_eval(text) == value
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        ok = False
    if not ok:
        msg = (f"parameter {name}={text:.60} of scenario {scenario!r} cannot be saved: it is "
               "neither JSON nor a Python literal")
        raise InvalidArgument(msg)
    return {_REPR: text}


def _same_types(value: Any) -> bool:
    """JSON would turn tuples into lists and int keys into strings: only exact shapes pass."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if type(value) is list:
        return all(_same_types(v) for v in value)
    if type(value) is dict:
        return all(isinstance(k, str) and _same_types(v) for k, v in value.items())
    return False


def _decode_param(where: str, name: str, value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {_REPR}:
        try:
            return ast.literal_eval(value[_REPR])
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            _fail(where, f"params.{name}", f"{value[_REPR]!r:.60} is not a Python literal")
    return value


# -- writing ----------------------------------------------------------------------------------

def dumps(entry: Entry) -> str:
    """The file text: indented, with the decision and width lists on one line each."""
    parts = []
    for key, value in entry.to_json().items():
        if key in _ONE_LINE:
            text = json.dumps(value, separators=(", ", ": "))
        else:
            text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def save(outcome: Outcome, directory: str | os.PathLike[str], *, name: str | None = None) -> Path:
    """Write ``outcome`` as a corpus file in ``directory`` (created if missing), atomically.

    The content goes to a temporary file in the same folder, is flushed to disk, then renamed over
    the target, so a reader never sees half a file and a crash leaves the old file intact.

    Args:
        outcome: the run to record (usually a shrunk failure).
        directory: the corpus folder.
        name: the file name; default ``<scenario>-<verdict>-<hash of the schedule>.json``.

    Returns:
        The path written.

    Raises:
        InvalidArgument: a parameter that neither JSON nor a Python literal can hold.
    """
    entry = Entry.from_outcome(outcome)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (name or entry.file_name())
    _write_atomic(target, dumps(entry))
    return target


def _write_atomic(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# -- reading ----------------------------------------------------------------------------------

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


def _parse(data: dict[str, Any], path: Path, where: str) -> Entry:
    name = _get(data, where, "scenario", str, "a scenario name")
    ref = data.get("ref")
    if ref is not None and not isinstance(ref, str):
        _fail(where, "ref", f"expected 'module:function', got {ref!r:.60}")
    info = _resolve(where, name, ref)
    raw = _get(data, where, "params", dict, "an object of parameters")
    params = {k: _decode_param(where, k, v) for k, v in raw.items()}
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


# -- many files ---------------------------------------------------------------------------------

def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The corpus files named by ``paths``: files as given, folders searched for ``*.json``
    (sorted, hidden files such as unfinished temporary writes skipped)."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*.json")
                              if f.is_file() and not f.name.startswith("."))
        else:
            yield p


def entries(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[Path, Entry | CorpusError]]:
    """Load every file under ``paths``; a bad file yields its ``CorpusError`` and the rest go on."""
    for p in iter_files(paths):
        try:
            yield p, load(p)
        except CorpusError as exc:
            yield p, exc
        except SchedfuzzError as exc:  # defensive: any other usage error still names the file
            yield p, CorpusError(f"{p}: {' '.join(str(exc).split())}")


# Replaying lives in its own module (it needs the run machinery, not the file format).
from schedfuzz._replaycheck import Replayed, replay_all, replay_entry, trace_diff  # noqa: E402

__all__ += ["Replayed", "replay_all", "replay_entry", "trace_diff"]
