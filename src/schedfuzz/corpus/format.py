"""The corpus file format, version 1: what a file holds and how an ``Entry`` becomes its text.

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

This module only builds the text; ``reader`` checks a file field by field and ``store`` writes it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs

from schedfuzz.errors import InvalidArgument
from schedfuzz.execute import Outcome
from schedfuzz.scenario import ScenarioInfo
from schedfuzz.settings import Settings

__all__ = ["FORMAT", "TRACE_KEEP", "VERSION", "Entry", "decode_param", "dumps", "trace_digest"]

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


def decode_param(value: Any) -> Any:
    """A parameter as read from a file: ``{"$repr": text}`` back to its value, others as they are.

    Raises:
        ValueError: the ``$repr`` text is not a Python literal; the message says so in a phrase
            the reader puts after the file and field names.
    """
    if isinstance(value, dict) and set(value) == {_REPR}:
        try:
            return ast.literal_eval(value[_REPR])
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            msg = f"{value[_REPR]!r:.60} is not a Python literal"
            raise ValueError(msg) from None
    return value
