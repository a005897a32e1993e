"""Trace: what a run did, step by step, and how it is shown to a person.

The runner appends one row per step, ``(actor id, label, args)``: the operation the actor performed
when it was resumed. Notes (progress marks, verdict remarks) go into a side list keyed by step.
Rendering puts every actor in its own column, as Lincheck does, so an interleaving reads top to
bottom and a preemption is a jump from one column to another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from schedfuzz._core.actor import Actor

__all__ = ["Trace", "format_args"]


def format_args(args: dict[str, Any] | None) -> str:
    if not args:
        return ""
    return "(" + ", ".join(f"{k}={_short(v)}" for k, v in args.items()) + ")"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@attrs.define(eq=False, slots=True)
class Trace:
    """The record of one run.

    Attributes:
        names: actor names by actor id.
        rows: one ``(actor id, label, args)`` per step.
        notes: ``(step, actor id or -1, label, args)`` for events that are not steps.
    """

    names: list[str] = attrs.field(factory=list)
    rows: list[tuple[int, str, dict[str, Any] | None]] = attrs.field(factory=list)
    notes: list[tuple[int, int, str, dict[str, Any] | None]] = attrs.field(factory=list)
    blocked: list[int] = attrs.field(factory=list)  # steps at whose end the actor blocked

    def note(self, step: int, actor: Actor | None, label: str,
             args: dict[str, Any] | None = None) -> None:
        self.notes.append((step, -1 if actor is None else actor.aid, label, args))

    def lines(self) -> list[str]:
        """A plain, stable text form: one line per step and note (used to compare runs)."""
        out = []
        notes = sorted(self.notes, key=lambda n: n[0])
        k = 0
        for step, (aid, label, args) in enumerate(self.rows):
            while k < len(notes) and notes[k][0] <= step:
                n = notes[k]
                who = self.names[n[1]] if n[1] >= 0 else "-"
                out.append(f"  . {who}: {n[2]}{format_args(n[3])}")
                k += 1
            out.append(f"{step:5d} {self.names[aid]}: {label}{format_args(args)}")
        for n in notes[k:]:
            who = self.names[n[1]] if n[1] >= 0 else "-"
            out.append(f"  . {who}: {n[2]}{format_args(n[3])}")
        return out

    def table(self, *, max_rows: int = 80, cycle: tuple[int, int] | None = None,
              width: int = 34) -> str:
        """The per-actor column table.

        Args:
            max_rows: rows to show; the middle of a longer trace is elided (the start and the end
                are where a reader looks).
            cycle: ``(first, end)`` steps of a livelock cycle, marked in the margin.
            width: the width of one column.
        """
        names = self.names
        header = "step  " + "".join(f"{n[:width - 1]:<{width}}" for n in names)
        out = [header.rstrip(), "-" * len(header.rstrip())]
        steps = list(range(len(self.rows)))
        if cycle is not None:
            # The whole cycle is the evidence: show it (up to three screens), plus the end of
            # the stem that leads into it.
            first, end = cycle[0], min(cycle[1], len(self.rows))
            if end - first > 3 * max_rows:
                keep = set(range(first, first + 2 * max_rows)) | set(range(end - max_rows, end))
            else:
                keep = set(range(first, end))
            keep.update(range(max(0, first - max_rows // 4), first))
            steps = sorted(keep)
        elif len(steps) > max_rows:
            head = max_rows // 4
            steps = steps[:head] + steps[len(steps) - (max_rows - head):]
        blocked = set(self.blocked)
        previous = -1
        for step in steps:
            if step != previous + 1:
                out.append(f"  ... {step - previous - 1} steps not shown ...")
            previous = step
            if cycle is not None and step == cycle[0]:
                out.append(f"  ---- cycle: steps {cycle[0]}..{cycle[1] - 1} repeat forever ----")
            aid, label, args = self.rows[step]
            cell = f"{label}{format_args(args)}" + ("  -> blocks" if step in blocked else "")
            mark = ">" if cycle is not None and cycle[0] <= step < cycle[1] else " "
            out.append(f"{step:4d}{mark} " + " " * (width * aid) + cell)
        if cycle is not None:
            out.append(f"  ---- back to step {cycle[0]} ----")
        return "\n".join(out)
