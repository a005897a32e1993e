"""Replaying a corpus entry and saying exactly how the replay differs from the recording.

A replay can end three ways:

* *reproduced*: the same verdict carried by the same exception type (for a livelock, proved or
  unproved as recorded: a candidate that became a proof, or the reverse, is worth re-recording).
  If the trace also matches line for line the replay is *exact*; a differing trace with the same
  verdict means the program changed in a way that kept the bug (a renamed label, an extra
  checkpoint), worth a look but not a failure unless asked for (``strict``);
* *differs*: another verdict, or the schedule no longer fits the program (*diverged*: at some
  choice point the recorded number of enabled actors is not the current one);
* *error*: the scenario could not run at all (its setup raised).

Divergence is found by the same check as ``ReplayOracle``; the replay then goes on under the
default policy rather than stopping, so the report can show the whole new trace next to the
recorded one and name the first step where they part.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from schedfuzz._core.oracle import ReplayOracle
from schedfuzz.corpus.format import trace_digest, verdict_label
from schedfuzz.corpus.store import entries
from schedfuzz.errors import CorpusError, ReplayDiverged
from schedfuzz.execute import Outcome, explain, run
from schedfuzz.verdict import FailureKey

if TYPE_CHECKING:
    import os

    from schedfuzz.corpus.format import Entry

__all__ = ["Replayed", "replay_all", "replay_entry", "trace_diff"]

_STEP = re.compile(r"^\s*(\d+) ")
_MAX_DIFF_LINES = 40


class _Lenient(ReplayOracle):
    """A ``ReplayOracle`` that, at the first divergence, notes it and follows the default policy."""

    diverged: str | None = None

    def choose_actor(self, n: int) -> int:
        if self.diverged is not None:
            return 0
        try:
            return super().choose_actor(n)
        except ReplayDiverged as exc:
            self.diverged = str(exc)
            self.exhausted = True
            return 0

    choose_value = choose_actor


@attrs.frozen
class Replayed:
    """The result of replaying one corpus entry.

    Attributes:
        entry: what was replayed.
        outcome: the replayed run (``None`` when the scenario could not run).
        verdict: the replayed verdict kind.
        error: the exception type name that carried it (``""`` for ok).
        proved: for a livelock, whether the replay proved it (``Livelock.proved``).
        diverged: the divergence message, if the schedule no longer fits the program.
        problem: one line saying why the scenario could not run, if it could not.
        diff: the trace diff against the recording (empty when equal).
    """

    entry: Entry
    outcome: Outcome | None
    verdict: str
    error: str
    diverged: str | None = None
    problem: str | None = None
    diff: tuple[str, ...] = ()
    proved: bool | None = None

    @property
    def reproduced(self) -> bool:
        """Same verdict, same exception type, as proved as recorded, and the schedule still
        fits the program."""
        e = self.entry
        return (self.diverged is None and self.problem is None
                and FailureKey(self.verdict, self.error, self.proved)
                == FailureKey(e.verdict, e.error, e.proved))

    @property
    def exact(self) -> bool:
        """Reproduced, and the trace matches the recording line for line."""
        return self.reproduced and not self.diff

    def passed(self, *, strict: bool = False) -> bool:
        return self.exact if strict else self.reproduced

    def summary(self) -> str:
        """One line: what was expected and what happened."""
        e = self.entry
        expected = verdict_label(e.verdict, e.error, e.proved)
        if self.problem is not None:
            return f"{e.where}: cannot replay {e.info.name}: {self.problem}"
        if self.diverged is not None:
            return f"{e.where}: expected {expected}, but the {self.diverged}"
        if not self.reproduced:
            got = verdict_label(self.verdict, self.error, self.proved)
            return f"{e.where}: expected {expected}, got {got}"
        steps = self.outcome.result.steps if self.outcome is not None else e.steps
        extra = "" if not self.diff else "; the trace differs from the recording"
        return f"{e.where}: reproduced {expected} in {steps} steps{extra}"

    def report(self, *, explanation: bool = True) -> str:
        """The summary, the trace diff (if any) and the replayed run's explanation."""
        lines = [self.summary()]
        if self.entry.message and not self.reproduced:
            lines.append(f"  recorded: {self.entry.message}")
        if self.diff:
            lines.extend("  " + line for line in self.diff)
        if explanation and self.outcome is not None:
            lines.append("")
            lines.append(explain(self.outcome))
        return "\n".join(lines)


def trace_diff(recorded: Iterable[str], replayed: Iterable[str]) -> tuple[str, ...]:
    """A unified diff of two ``Trace.lines()`` lists, headed by the first step that differs.

    Returns an empty tuple when the traces are equal; the diff is cut after a few dozen lines
    (the first difference is what explains the rest).
    """
    old, new = list(recorded), list(replayed)
    if old == new:
        return ()
    first = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    where = f"trace line {first}"
    for line in (old[first:first + 1] + new[first:first + 1]
                 + old[first + 1:first + 3] + new[first + 1:first + 3]):
        m = _STEP.match(line)
        if m:
            where = f"step {m.group(1)}"
            break
    body = list(difflib.unified_diff(old, new, "recorded", "replayed", n=2, lineterm=""))
    if len(body) > _MAX_DIFF_LINES:
        body = [*body[:_MAX_DIFF_LINES], f"... {len(body) - _MAX_DIFF_LINES} more diff lines"]
    return (f"trace differs from the recording first at {where}:", *body)


def replay_entry(entry: Entry) -> Replayed:
    """Replay ``entry`` under its recorded settings and compare it with the recording.

    Never raises for a verdict, a divergence or a scenario that fails to set up: they are all in
    the returned ``Replayed``.
    """
    decisions = list(entry.decisions)
    if entry.cycle_start is None:
        # A schedule may stop before the run's last choice point (the rest follows the default
        # policy); spelling those defaults out lets the recorded widths check them too.
        decisions += [0] * (len(entry.widths) - len(decisions))
    oracle = _Lenient(decisions, entry.widths, entry.cycle_start)
    try:
        outcome = run(entry.info, oracle=oracle, settings=entry.settings, **entry.params)
    except Exception as exc:  # the scenario's setup raised, or the replay cannot even start
        problem = " ".join(f"{type(exc).__name__}: {exc}".split())
        return Replayed(entry, None, "error", type(exc).__name__, problem=problem)
    key = FailureKey.of(outcome)
    return Replayed(entry, outcome, key.kind, key.error, diverged=oracle.diverged,
                    diff=_compare(entry, outcome.result.trace.lines()), proved=key.proved)


def _compare(entry: Entry, lines: list[str]) -> tuple[str, ...]:
    """The diff against the recording; past the stored lines, length and digest decide."""
    kept = len(entry.trace)
    if kept == entry.trace_lines:
        return trace_diff(entry.trace, lines)
    diff = trace_diff(entry.trace, lines[:kept])
    if diff or (len(lines) == entry.trace_lines and trace_digest(lines) == entry.trace_sha256):
        return diff
    return (f"trace differs from the recording after its first {kept} lines, which are all the "
            f"file keeps (recorded {entry.trace_lines} lines, replayed {len(lines)})",)


def replay_all(paths: Iterable[str | os.PathLike[str]], *, allow_import: Iterable[str] = ()
               ) -> Iterator[tuple[Path, Replayed | CorpusError]]:
    """Load and replay every corpus file under ``paths``; a bad file yields its ``CorpusError``
    and the others still run. ``allow_import``: the modules a ``ref`` may import."""
    for path, loaded in entries(paths, allow_import=allow_import):
        yield path, loaded if isinstance(loaded, CorpusError) else replay_entry(loaded)
