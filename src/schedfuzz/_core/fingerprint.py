"""State fingerprints and lasso detection: how a livelock is *proved*, not guessed.

A run is a deterministic function of its state and the decisions. If the state at a scheduling
point equals the state at an earlier one, and the decisions between them can be taken again, the
run can go round that cycle forever: a lasso (stem + cycle), TLC's "back to state i". The cycle is
a livelock only if it is

* fair: every actor that was enabled throughout the cycle ran in it (otherwise it is just a
  schedule that starves someone, which a fair scheduler would not produce), and
* without progress: no ``progress()`` mark fired inside it.

What "the state" is: the scenario's own snapshot (``schedfuzz.snapshot``), the scheduler's policy
state (current actor, its consecutive-run count), and for every actor its state, its wait and its
*position*: each suspended frame's code, instruction offset and local variables, so a loop counter
in a local keeps a long terminating loop from looking like a cycle. Values are frozen into
hashable tuples: plain values as themselves, containers by content, objects with
``__schedfuzz_state__`` by what it returns, other objects by their ``__dict__``/slots (cycles in the
object graph are cut by back-references), and functions, modules, classes and code objects by
identity. Identity is only compared within one run, never ordered or saved, so it keeps runs
deterministic.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schedfuzz._core.actor import Actor

__all__ = ["LassoDetector", "actor_position", "freeze"]

_SCALARS = (int, float, str, bytes, bool, type(None), complex)
_BY_IDENTITY = (types.BuiltinFunctionType, types.ModuleType, type, types.CodeType,
                types.FrameType, types.GeneratorType)


def freeze(value: Any, memo: dict[int, int] | None = None, depth: int = 0) -> Any:
    """A hashable, comparable image of ``value`` (see the module docstring)."""
    if isinstance(value, _SCALARS):
        return value
    if memo is None:
        memo = {}
    key = id(value)
    if key in memo:
        return ("@", memo[key])
    if depth > 12:
        return ("deep", key)
    memo[key] = len(memo)
    depth += 1
    state = getattr(value, "__schedfuzz_state__", None)
    if state is not None and not isinstance(value, type):
        return (type(value).__qualname__, freeze(state(), memo, depth))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(freeze(v, memo, depth) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((freeze(k, memo, depth), freeze(v, memo, depth))
                              for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return ("set", frozenset(freeze(v, memo, depth) for v in value))
    if isinstance(value, types.FunctionType):
        # Two closures of the same code over equal values behave the same: compare them so.
        cells = value.__closure__ or ()
        return ("fn", id(value.__code__), tuple(freeze(c, memo, depth) for c in cells),
                freeze(value.__defaults__, memo, depth))
    if isinstance(value, types.MethodType):
        return ("method", id(value.__func__), freeze(value.__self__, memo, depth))
    if isinstance(value, _BY_IDENTITY):
        return ("id", key)
    if isinstance(value, types.CellType):
        try:
            return ("cell", freeze(value.cell_contents, memo, depth))
        except ValueError:
            return ("cell",)
    fields: dict[str, Any] | None = getattr(value, "__dict__", None)
    if fields is None:
        slots = getattr(type(value), "__slots__", None)
        if slots is None:
            return _opaque(value, memo, depth)
        fields = {s: getattr(value, s, None) for s in slots if isinstance(s, str)}
    return (type(value).__qualname__, tuple((k, freeze(v, memo, depth))
                                            for k, v in fields.items() if k != "greenlet"))


def _opaque(value: Any, memo: dict[int, int], depth: int) -> Any:
    """A builtin object with no visible fields (an iterator, say): its pickling recipe shows its
    state (a range iterator's position); failing that, its identity."""
    if type(value).__module__ == "builtins":
        try:
            return ("reduce", freeze(value.__reduce_ex__(2), memo, depth))
        except Exception:
            pass
    return ("id", id(value))


def actor_position(actor: Actor, memo: dict[int, int]) -> Any:
    """The actor's place in its code: every suspended frame's code, offset and locals.

    Frames of schedfuzz's own modules (traps, primitives) are included: which primitive an actor
    is inside is part of where it is.
    """
    frame = actor.greenlet.gr_frame
    out = []
    while frame is not None:
        out.append((id(frame.f_code), frame.f_lasti, freeze(frame.f_locals, memo)))
        frame = frame.f_back
    return tuple(out)


class LassoDetector:
    """Remembers fingerprints from ``start`` on and finds the first fair, progress-free cycle.

    The runner calls ``observe`` at each scheduling point after choosing who runs next.
    """

    def __init__(self, start: int, snapshot: Callable[[], Any] | None) -> None:
        self.start = start
        self.snapshot = snapshot
        self.seen: dict[Any, int] = {}
        self.enabled: list[int] = []  # bit mask of enabled actors, per observed step
        self.ran: list[int] = []  # bit of the actor that ran, per observed step
        self.decision_index: list[int] = []  # decisions taken before the step, per observed step
        self.found: tuple[int, int] | None = None

    def observe(self, step: int, fingerprint: Any, enabled_mask: int, ran_bit: int,
                decisions: int, last_progress: int) -> tuple[int, int] | None:
        """Record the state before ``step`` (``fingerprint`` is None between two samples);
        return ``(first, end)`` steps of a lasso cycle."""
        offset = step - self.start
        if offset != len(self.enabled):  # a gap would make the arrays lie; start afresh
            self.seen.clear()
            self.enabled.clear()
            self.ran.clear()
            self.decision_index.clear()
            self.start = step
            offset = 0
        self.enabled.append(enabled_mask)
        self.ran.append(ran_bit)
        self.decision_index.append(decisions)
        if fingerprint is None:  # a step between two samples: masks only
            return None
        first = self.seen.get(fingerprint)
        if first is None:
            self.seen[fingerprint] = step
            return None
        self.seen[fingerprint] = step
        if last_progress >= first:
            return None
        lo, hi = first - self.start, offset
        throughout = -1
        ran = 0
        for i in range(lo, hi):
            throughout &= self.enabled[i]
            ran |= self.ran[i]
        if throughout & ~ran:
            return None  # someone enabled all along never ran: unfair, not a livelock
        self.found = (first, step)
        return self.found
