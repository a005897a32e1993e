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
*position*: each suspended frame's code, instruction offset, local variables and value stack
(``framestack.py``), so a loop counter in a local, or a ``for`` loop's iterator, keeps a long
terminating loop from looking like a cycle. Values are frozen into
hashable tuples: plain values as themselves, containers by content, objects with
``__schedfuzz_state__`` by what it returns, other objects by their ``__dict__``/slots (cycles in the
object graph are cut by back-references), code objects (and so functions) by where they are
defined and a digest of what they do, modules, classes and builtin functions by name, and what
is left (frames, generators) by identity.

Apart from those identities, a fingerprint's ``repr`` is the same in every process: a stateful
search that saves its explored states (``engines.dfs_checkpoint``) finds them again in the next
process. Identity is only compared within one run, never ordered, so it keeps runs deterministic.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from schedfuzz._core.framestack import stack_of

if TYPE_CHECKING:
    from schedfuzz._core.actor import Actor

__all__ = ["LassoDetector", "actor_outline", "actor_position", "code_key", "freeze", "outline_of",
           "position_only"]

_SCALAR_TYPES = frozenset({int, float, str, bytes, bool, type(None), complex})
_BY_IDENTITY = (types.FrameType, types.GeneratorType)
_MAX_DEPTH = 12

Freezer = Callable[[Any, dict[int, int], int], Any]
# How each type is frozen, decided once per type (_classify): fingerprints run at every sampled
# step of a long run, so the per-object cost is what matters.
_FREEZERS: dict[type, Freezer] = {}


def freeze(value: Any, memo: dict[int, int] | None = None, depth: int = 0) -> Any:
    """A hashable, comparable image of ``value`` (see the module docstring)."""
    t = type(value)
    if t in _SCALAR_TYPES:
        return value
    if memo is None:
        memo = {}
    freezer = _FREEZERS.get(t)
    if freezer is None:
        freezer = _classify(t)
    return freezer(value, memo, depth)


def _items(values: Any, memo: dict[int, int], depth: int) -> tuple[Any, ...]:
    if depth > _MAX_DEPTH:
        return ("deep",)
    depth += 1
    scalars = _SCALAR_TYPES
    return tuple([v if type(v) in scalars else freeze(v, memo, depth) for v in values])


def _tuple(value: Any, memo: dict[int, int], depth: int) -> Any:
    return _items(value, memo, depth)  # immutable: a cycle must pass through something memoised


def _seen(value: Any, memo: dict[int, int]) -> Any:
    key = id(value)
    index = memo.get(key)
    if index is not None:
        return ("@", index)
    memo[key] = len(memo)
    return None


def _list(value: Any, memo: dict[int, int], depth: int) -> Any:
    return _seen(value, memo) or ("L", _items(value, memo, depth))


def _dict(value: Any, memo: dict[int, int], depth: int) -> Any:
    seen = _seen(value, memo)
    if seen is not None:
        return seen
    return ("D", _items(value.keys(), memo, depth), _items(value.values(), memo, depth))


def _set(value: Any, memo: dict[int, int], depth: int) -> Any:
    # Sorted by repr: a set's iteration order follows string hashes, which differ by process.
    return _seen(value, memo) or ("S", tuple(sorted(_items(value, memo, depth), key=repr)))


# id(code) -> (code, its key): the code object is kept so that a reused id is noticed.
_CODE_KEYS: dict[int, tuple[types.CodeType, str]] = {}


def code_key(code: types.CodeType) -> str:
    """Where ``code`` is defined (file, line, qualified name) and a digest of what it does
    (bytecode, names, constants): the same in every process, and shared only by code objects
    that behave alike, such as two identical lambdas on one line of one module (their frames
    with equal locals do the same). One string, because a string caches its hash and a
    fingerprint is hashed at every state."""
    entry = _CODE_KEYS.get(id(code))
    if entry is not None and entry[0] is code:
        return entry[1]
    shape = hashlib.blake2b(code.co_code, digest_size=6)
    for names in (code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars):
        shape.update(repr(names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            text = code_key(const)
        elif isinstance(const, frozenset):  # iterated in string-hash order: sort it
            text = repr(sorted(map(repr, const)))
        else:
            text = repr(const)
        shape.update(text.encode() + b"\0")
    qualname = getattr(code, "co_qualname", code.co_name)
    key = f"{code.co_filename}:{code.co_firstlineno}:{qualname}:{shape.hexdigest()}"
    _CODE_KEYS[id(code)] = (code, key)
    return key


def _code(value: Any, memo: dict[int, int], depth: int) -> Any:
    return ("code", code_key(value))


def _named(value: Any, memo: dict[int, int], depth: int) -> Any:
    """A module or class: by its name (they are not state, and live as long as the run)."""
    return ("named", getattr(value, "__module__", ""), value.__qualname__
            if isinstance(value, type) else value.__name__)


def _builtin(value: Any, memo: dict[int, int], depth: int) -> Any:
    """A builtin function by its module and name (``iter``, in a range iterator's recipe); a
    builtin method by its name and the object it is bound to (``rows.append``)."""
    owner = getattr(value, "__self__", None)
    if owner is None or isinstance(owner, types.ModuleType):
        return ("builtin", getattr(owner, "__name__", ""), value.__qualname__)
    return ("bound", value.__name__, freeze(owner, memo, depth + 1))


def _function(value: Any, memo: dict[int, int], depth: int) -> Any:
    # Two closures of the same code over equal values behave the same: compare them so.
    cells = value.__closure__ or ()
    return ("fn", code_key(value.__code__), _items(cells, memo, depth),
            freeze(value.__defaults__, memo, depth + 1))


def _method(value: Any, memo: dict[int, int], depth: int) -> Any:
    return ("method", freeze(value.__func__, memo, depth + 1),
            freeze(value.__self__, memo, depth + 1))


def _cell(value: Any, memo: dict[int, int], depth: int) -> Any:
    try:
        contents = value.cell_contents
    except ValueError:
        return ("cell",)
    return freeze(contents, memo, depth + 1)


def _identity(value: Any, memo: dict[int, int], depth: int) -> Any:
    return ("id", id(value))


def _opaque(value: Any, memo: dict[int, int], depth: int) -> Any:
    """A builtin object with no visible fields (an iterator, say): its pickling recipe shows its
    state (a range iterator's position); failing that, its identity."""
    try:
        return ("reduce", freeze(value.__reduce_ex__(2), memo, depth + 1))
    except Exception:
        return ("id", id(value))


def _classify(t: type) -> Freezer:
    """Pick (and remember) how values of type ``t`` are frozen."""
    freezer: Freezer
    name = t.__qualname__
    if getattr(t, "__schedfuzz_state__", None) is not None and not issubclass(t, type):
        def freezer(value: Any, memo: dict[int, int], depth: int) -> Any:
            seen = _seen(value, memo)
            if seen is not None:
                return seen
            if depth > _MAX_DEPTH:
                return ("deep", name)
            return (name, freeze(value.__schedfuzz_state__(), memo, depth + 1))
    elif issubclass(t, tuple):
        freezer = _tuple
    elif issubclass(t, list):
        freezer = _list
    elif issubclass(t, dict):
        freezer = _dict
    elif issubclass(t, (set, frozenset)):
        freezer = _set
    elif issubclass(t, types.FunctionType):
        freezer = _function
    elif issubclass(t, types.MethodType):
        freezer = _method
    elif issubclass(t, types.CellType):
        freezer = _cell
    elif issubclass(t, types.CodeType):
        freezer = _code
    elif issubclass(t, (type, types.ModuleType)):
        freezer = _named
    elif issubclass(t, types.BuiltinFunctionType):
        freezer = _builtin
    elif issubclass(t, _BY_IDENTITY):
        freezer = _identity
    elif getattr(t, "__dictoffset__", 0) or "__dict__" in dir(t):
        def freezer(value: Any, memo: dict[int, int], depth: int) -> Any:
            seen = _seen(value, memo)
            if seen is not None:
                return seen
            fields = vars(value)
            return (name, tuple(fields), _items(fields.values(), memo, depth))
    elif hasattr(t, "__slots__"):
        slots = tuple(s for c in t.__mro__ for s in getattr(c, "__slots__", ())
                      if isinstance(s, str) and s != "__weakref__")

        def freezer(value: Any, memo: dict[int, int], depth: int) -> Any:
            seen = _seen(value, memo)
            if seen is not None:
                return seen
            return (name, _items([getattr(value, s, None) for s in slots], memo, depth))
    elif t.__module__ == "builtins":
        freezer = _opaque
    else:
        freezer = _identity
    _FREEZERS[t] = freezer
    return freezer


# ids of code objects whose frames' locals never decide what an actor does next (see
# ``position_only``); membership only, never iterated, so ids keep runs deterministic.
_POSITION_ONLY: set[int] = set()


def position_only(code: types.CodeType) -> None:
    """Leave the locals of ``code``'s frames out of actor positions (keep code and offset).

    For frames whose locals only feed the trace (``checkpoint``'s label and arguments) or
    repeat what a frame above already holds (the actor body's function and arguments, which
    are that function's locals): freezing them at every fingerprint costs more than the rest
    of the actor's frames together.
    """
    _POSITION_ONLY.add(id(code))


def actor_position(actor: Actor, memo: dict[int, int]) -> Any:
    """The actor's place in its code: every suspended frame's code, offset and locals.

    Frames of schedfuzz's own modules (traps, primitives) are included: which primitive an actor
    is inside is part of where it is.
    """
    frame = actor.greenlet.gr_frame
    out: list[tuple[Any, ...]] = []
    position_only_codes = _POSITION_ONLY
    keys = _CODE_KEYS
    innermost = True  # running, as CPython sees it: its stack height is not recorded
    while frame is not None:
        code = frame.f_code
        entry = keys.get(id(code))  # code_key(code), inlined: this runs for every frame
        key = entry[1] if entry is not None and entry[0] is code else code_key(code)
        if id(code) in position_only_codes:
            out.append((key, frame.f_lasti))
        else:
            stack = None if innermost else stack_of(frame)
            if stack:  # a loop's iterator, a with block's exit, half an expression
                out.append((key, frame.f_lasti, freeze(frame.f_locals, memo),
                            freeze(stack, memo)))
            else:
                out.append((key, frame.f_lasti, freeze(frame.f_locals, memo)))
        innermost = False
        frame = frame.f_back
    return tuple(out)


def actor_outline(actor: Actor) -> tuple[tuple[str, int], ...]:
    """The actor's position without the frames' values: each frame's code and offset.

    With the snapshot and the policy state it makes a state's *outline* (``outline_of``), a
    fraction of the fingerprint's cost (no locals to freeze): two states with different
    outlines differ, so a stateful search that finds no kept state with this outline knows the
    state is new without computing its fingerprint.
    """
    frame = actor.greenlet.gr_frame
    out = []
    keys = _CODE_KEYS
    while frame is not None:
        code = frame.f_code
        entry = keys.get(id(code))
        out.append((entry[1] if entry is not None and entry[0] is code else code_key(code),
                    frame.f_lasti))
        frame = frame.f_back
    return tuple(out)


def outline_of(fingerprint: Any) -> Any:
    """The outline of the state with this runner fingerprint (``Runner._fingerprint``): equal
    to ``Runner._outline()`` for that state."""
    current, consecutive, snap, actors = fingerprint
    return (current, consecutive, snap,
            tuple((*a[:4], tuple(f[:2] for f in a[4])) for a in actors))


class LassoDetector:
    """Remembers fingerprints from ``start`` on and finds the first fair, progress-free cycle.

    The runner calls ``observe`` at each scheduling point after choosing who runs next.
    """

    def __init__(self, start: int, snapshot: Callable[[], Any] | None) -> None:
        self.start = start
        self.snapshot = snapshot
        self.seen: dict[Any, tuple[int, int]] = {}  # fingerprint -> (first, last) visit
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
        visits = self.seen.get(fingerprint)
        if visits is None:
            self.seen[fingerprint] = (step, step)
            return None
        first_visit, last_visit = visits
        self.seen[fingerprint] = (first_visit, step)
        # The shortest candidate cycle is since the last visit; if that one is unfair, the one
        # since the first visit may still be fair (a figure-eight through this state).
        for first in dict.fromkeys((last_visit, first_visit)):
            if self._fair_and_idle(first, offset, last_progress):
                self.found = (first, step)
                return self.found
        return None

    def _fair_and_idle(self, first: int, offset: int, last_progress: int) -> bool:
        if last_progress >= first:
            return False
        throughout = -1
        ran = 0
        for i in range(first - self.start, offset):
            throughout &= self.enabled[i]
            ran |= self.ran[i]
        # Someone enabled all along who never ran: an unfair schedule, not a livelock.
        return not throughout & ~ran
