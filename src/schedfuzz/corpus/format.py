"""The corpus file format, version 2: what a file holds and how an ``Entry`` becomes its text.

A corpus file records everything a replay needs and everything a person needs to see what it
shows, independent of Hypothesis's example database (whose blobs may be dropped on upgrade)::

    {
      "format": "schedfuzz-corpus",
      "version": 2,
      "scenario": "demo.abba",                      registered name ...
      "ref": "schedfuzz.examples:abba_deadlock",    ... and module:function, the fallback
      "params": {},                                 JSON values; others as {"$repr": "(1, 2)"}
      "verdict": "deadlock",                        the expected verdict kind
      "error": "Deadlock",                          the exception type that carries it
      "proved": null,                               livelock only: a proved lasso (true) or
                                                    an unproved candidate (false)
      "threads": null,                              a plain threaded function run as actors
                                                    (``--threads``): {"preempt_in": [...]}
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
the report name the first step that differs. A step bound can run tens of thousands of steps, so
only the first ``TRACE_KEEP`` lines are stored, with the length and digest of the rest to tell
whether a replay matches beyond them. Extra keys are ignored, so a later minor revision can add
fields without bumping ``version``.

Verdicts and what they claim. ``"livelock"`` with ``"proved": true`` is a lasso on exact states:
the cycle provably repeats forever. ``"proved": false`` is a candidate (a pumped cycle whose data
kept changing): the cycle was seen to repeat, not shown to repeat forever. ``"step_bound"`` says
only that the run reached ``settings.max_steps`` without finishing: a bound, not a proof.

Version 1 had neither ``proved`` nor ``step_bound``. Reading it, a livelock with a cycle is a
proved lasso (the only kind version 1 could store with a cycle), and a livelock without one is
what version 1 called a step-bound livelock: it reads as ``step_bound``.

A file is data, never code. Its ``scenario`` and ``ref`` may only name a scenario the user
registered (see ``trust``), and every file is parsed within these limits, so a hostile or broken
file costs a bounded amount of memory and time and fails as one line naming it:

==================  ============================================================================
``MAX_FILE_BYTES``  16 MiB per file (a 50,000-step run with a full trace is far below it)
``MAX_DEPTH``       16 levels of nested lists and objects (the format itself needs 3)
``MAX_INT_DIGITS``  40 digits in any integer (a decision, a width, a parameter)
``MAX_NUMBER_TEXT`` 100 characters in any other number; NaN and infinities are refused
``MAX_ITEMS``       1,000,000 items in one list or object (decisions, widths, trace lines)
``MAX_WIDTH``       10,000 enabled actors at one choice point
``MAX_STEPS``       10,000,000 for ``settings.max_steps`` and any other integer setting: a replay
                    runs up to that many steps
==================  ============================================================================

This module only builds the text; ``reader`` checks a file field by field and ``store`` writes it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
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
from schedfuzz.verdict import error_name

__all__ = ["FORMAT", "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_INT_DIGITS", "MAX_ITEMS",
           "MAX_NUMBER_TEXT", "MAX_STEPS", "MAX_WIDTH", "READS", "TRACE_KEEP", "VERSION", "Entry",
           "decode_param", "dumps", "trace_digest", "verdict_label"]

FORMAT = "schedfuzz-corpus"
VERSION = 2
READS = (1, 2)  # the versions ``reader.load`` understands
TRACE_KEEP = 2000

# Limits on what a file may hold; the module docstring's table says why each is what it is.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 16
MAX_INT_DIGITS = 40
MAX_NUMBER_TEXT = 100
MAX_ITEMS = 1_000_000
MAX_WIDTH = 10_000
MAX_STEPS = 10_000_000
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
        proved: for a livelock, whether it is a proved lasso (``Livelock.proved``); ``None`` for
            every other verdict.
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
    proved: bool | None = None
    threads: tuple[str, ...] | None = None  # ``preempt_in`` of a plain threaded function

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
                   error_name(error), _first_line(outcome),
                   tuple(outcome.schedule.decisions), outcome.schedule.cycle_start,
                   tuple(result.widths), result.preemptions, result.steps, outcome.settings,
                   tuple(lines[:TRACE_KEEP]), len(lines), trace_digest(lines),
                   _proved(error), threads_of(outcome.info))

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
            "proved": self.proved,
            "threads": None if self.threads is None else {"preempt_in": list(self.threads)},
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


def threads_of(info: ScenarioInfo) -> tuple[str, ...] | None:
    """For a scenario that runs a plain threaded function (``schedfuzz.threads``), the modules
    with line-level points; None for any other scenario."""
    if not getattr(info.fn, "__schedfuzz_threaded__", False):
        return None
    return tuple(getattr(info.fn, "__schedfuzz_preempt_in__", ()))


def verdict_label(kind: str, error: str, proved: bool | None = None) -> str:
    """How a verdict reads in a replay's summary: the kind, the exception type where it is not
    the kind's own, and what a livelock or a step bound does and does not prove."""
    if kind == "step_bound":
        return "step bound (bound, not proof)"
    if kind == "livelock" and proved is False:
        return "livelock candidate (unproved)"
    return kind if not error or error.lower() == kind.replace("_", "") else f"{kind} ({error})"


def _proved(error: BaseException | None) -> bool | None:
    """``Livelock.proved`` of a livelock, ``None`` for any other verdict."""
    if getattr(error, "kind", None) != "livelock":
        return None
    return bool(getattr(error, "proved", True))


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


def _same_types(value: Any, depth: int = 2) -> bool:
    """JSON would turn tuples into lists and int keys into strings: only exact shapes pass. A
    value nested too deep for a reader (``params`` is already two levels down) is a literal."""
    if value is None or isinstance(value, (bool, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int):
        return bool(abs(value) < 10**MAX_INT_DIGITS)
    if depth >= MAX_DEPTH:
        return False
    if type(value) is list:
        return all(_same_types(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(isinstance(k, str) and _same_types(v, depth + 1) for k, v in value.items())
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
