"""Freezing values: how a state becomes a hashable image compared by content, or not at all.

Values are frozen into hashable tuples *by content*, or not at all:

* plain values as themselves; lists, tuples, dicts (with an ``OrderedDict``'s order, a
  ``defaultdict``'s factory), sets, deques (with ``maxlen``), arrays, bytearrays and mapping
  proxies (a 3.13 frame's ``f_locals``) by their items; objects with ``__schedfuzz_state__`` by
  what it returns; other objects by their ``__dict__`` and slots (attrs and dataclass classes
  included); enum members by class and name; iterators of the builtin types and of
  ``itertools`` by their pickling recipe (a position and what is left); generators and
  coroutines by their code, offset, locals and value stack; code objects (and so functions,
  with their closure cells, and bound methods and ``functools.partial``) by where they are
  defined and a digest of what they do; modules, classes and builtin functions by name.
* What cannot be compared by content (a frame, a lock or socket of C code, an object whose C
  base class holds fields Python cannot see) becomes an ``Inexact`` token, which equals only
  itself: a state that holds one equals no other, so it never closes a lasso and a stateful
  search never merges it. The runner lists what it met (``Runner.inexact``) so the user can
  show that state another way (``snapshot()`` or ``__schedfuzz_state__``).

Any depth: cycles in the object graph become back-references (``("@", i)``) to the object's
first appearance, and a structure deeper than ``_CHUNK`` levels (a long linked list) is cut
into pieces frozen one after the other (``("^", k)`` names the k-th piece), so neither freezing
nor hashing the result recurses deeply. Two different values never freeze alike: the result is
a serialisation from which the value could be rebuilt.

A fingerprint's ``repr`` is the same in every process (``Inexact`` aside): a stateful search
that saves its explored states (``engines.dfs_checkpoint``) finds them again in the next process.
"""

from __future__ import annotations

import array
import collections
import enum
import functools
import os
import types
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from schedfuzz._core.codekey import code_key, key_of
from schedfuzz._core.framestack import stack_of
from schedfuzz.errors import SchedfuzzInternalError

__all__ = ["SCALAR_TYPES", "Freezer", "Inexact", "Memo", "describe", "freeze"]

SCALAR_TYPES = frozenset({int, float, str, bytes, bool, type(None), complex})
# Levels of nesting frozen in one piece; deeper values wait for the next piece (see above).
# Each level is a few Python frames, so a piece stays well inside the recursion limit.
_CHUNK = 48
# Pieces one ``freeze`` may cut before it gives up: a structure this deep (some five million
# levels) is not compared, it is marked inexact.
_MAX_PIECES = 100_000


class Inexact:
    """A value the fingerprint cannot compare by content, in its place in a frozen state.

    It equals only itself (identity ``==`` and hash) and every ``freeze`` makes a new one, so a
    state that holds one equals no other state: a lasso cannot close through it and a state
    graph cannot merge it. ``what`` says what it stands for, for the user.
    """

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        # Its identity too: a search that keys states by their repr never merges two of them.
        return f"Inexact({self.what!r}, {id(self):#x})"


class Memo(dict[int, int]):
    """What one fingerprint's freezing shares between calls of ``freeze``.

    As a dict: ``id(obj) -> index`` of the mutable objects met so far (a second meeting is the
    back-reference ``("@", index)``). ``alive`` keeps the objects freezing itself made (a
    ``__schedfuzz_state__`` result, a pickling recipe, a 3.13 ``f_locals`` proxy) alive until
    the fingerprint is done, so no other object takes their id meanwhile. ``deferred`` holds
    the values too deep for the current piece; ``met`` every ``Inexact`` made.
    """

    __slots__ = ("alive", "deferred", "globals", "met")

    def __init__(self) -> None:
        super().__init__()
        self.alive: list[Any] = []
        self.deferred: list[Any] = []
        self.met: list[Inexact] = []
        # id(global_reads(...)), or (id(module dict), name) -> image: the globals of one
        # code, and one global read by several codes, are frozen once per state
        self.globals: dict[Any, Any] = {}


Freezer = Callable[[Any, Memo, int], Any]
# How each type is frozen, decided once per type (_classify): fingerprints run at every sampled
# step of a long run, so the per-object cost is what matters.
_FREEZERS: dict[type, Freezer] = {}


def freeze(value: Any, memo: Memo | None = None) -> Any:
    """A hashable, comparable image of ``value`` (see the module docstring). Pass one ``memo``
    to the calls that freeze the parts of one state, so that an object they share is frozen
    once and referred back to."""
    t = type(value)
    if t in SCALAR_TYPES:
        return value
    if memo is None:
        memo = Memo()
    memo.alive.append(value)  # a caller's temporary: its id is not reused within this state
    pieces = memo.deferred
    start = len(pieces)
    image = _freeze(value, memo, 0)
    if len(pieces) == start:
        return image
    # Too deep for one piece: freeze what was put off, piece by piece, in the order it was met.
    rest = []
    i = start
    while i < len(pieces):
        if i - start >= _MAX_PIECES:
            rest.append(_inexact(f"a structure nested more than {_CHUNK * _MAX_PIECES:,} "
                                 f"levels deep ({_type_name(type(value))})", memo))
            break
        rest.append(_freeze(pieces[i], memo, 0))
        i += 1
    del pieces[start:]
    return ("^", image, tuple(rest))


def _freeze(value: Any, memo: Memo, depth: int) -> Any:
    t = type(value)
    if t in SCALAR_TYPES:
        return value
    if depth > _CHUNK:
        memo.deferred.append(value)
        return ("^", len(memo.deferred) - 1)
    freezer = _FREEZERS.get(t)
    if freezer is None:
        freezer = _classify(t)
    return freezer(value, memo, depth)


def _items(values: Any, memo: Memo, depth: int) -> tuple[Any, ...]:
    depth += 1
    scalars = SCALAR_TYPES
    return tuple([v if type(v) in scalars else _freeze(v, memo, depth) for v in values])


def _inexact(what: str, memo: Memo) -> Inexact:
    token = Inexact(what)
    memo.met.append(token)
    return token


def _type_name(t: type) -> str:
    module = t.__module__
    return t.__qualname__ if module == "builtins" else f"{module}.{t.__qualname__}"


def where_of(code: types.CodeType, line: int | None = None) -> str:
    return (f"'{getattr(code, 'co_qualname', code.co_name)}' at "
            f"{os.path.basename(code.co_filename)}:{line or code.co_firstlineno}")


def describe(value: Any) -> str:
    """What a value the fingerprint cannot compare is, for the user: its type, and for a frame
    or generator where its code is."""
    if isinstance(value, types.FrameType):
        return f"frame of {where_of(value.f_code, value.f_lineno)}"
    code = _code_of(value)
    if code is not None:
        return f"{type(value).__name__} {where_of(code)}"
    return f"`{_type_name(type(value))}`"


def _seen(value: Any, memo: Memo) -> Any:
    key = id(value)
    index = memo.get(key)
    if index is not None:
        return ("@", index)
    memo[key] = len(memo)
    return None


def _tuple(value: Any, memo: Memo, depth: int) -> Any:
    return _items(value, memo, depth)  # immutable: a cycle must pass through something memoised


def _list(value: Any, memo: Memo, depth: int) -> Any:
    return _seen(value, memo) or ("L", _items(value, memo, depth))


def _dict(value: Any, memo: Memo, depth: int) -> Any:
    seen = _seen(value, memo)
    if seen is not None:
        return seen
    return ("D", _items(value.keys(), memo, depth), _items(value.values(), memo, depth))


def _mapping(value: Any, memo: Memo, depth: int) -> Any:
    """A read-only view of a mapping (``types.MappingProxyType``, a 3.13 frame's ``f_locals``):
    frozen as the dict it shows, so the same locals freeze alike on 3.11 and 3.13."""
    memo.alive.append(value)  # often made afresh by each access: keep its id its own
    seen = _seen(value, memo)
    if seen is not None:
        return seen
    keys = list(value.keys())
    return ("D", _items(keys, memo, depth), _items([value[k] for k in keys], memo, depth))


def _set(value: Any, memo: Memo, depth: int) -> Any:
    # Sorted by repr: a set's iteration order follows string hashes, which differ by process.
    return _seen(value, memo) or ("S", tuple(sorted(_items(value, memo, depth), key=repr)))


def _deque(value: Any, memo: Memo, depth: int) -> Any:
    return _seen(value, memo) or ("Q", value.maxlen, _items(value, memo, depth))


def _bytes_like(value: Any, memo: Memo, depth: int) -> Any:
    """A bytearray or array by its bytes (and an array's item type); a memoryview by what it
    shows now."""
    if isinstance(value, array.array):
        return ("array", value.typecode, value.tobytes())
    if isinstance(value, memoryview):
        try:
            return ("memoryview", value.format, value.shape, value.tobytes())
        except ValueError:  # released
            return ("memoryview", "released")
    return ("bytearray", bytes(value))


def _defaultdict(value: Any, memo: Memo, depth: int) -> Any:
    seen = _seen(value, memo)
    if seen is not None:
        return seen
    return ("DD", _freeze(value.default_factory, memo, depth + 1),
            _items(value.keys(), memo, depth), _items(value.values(), memo, depth))


def _enum(value: Any, memo: Memo, depth: int) -> Any:
    t = type(value)
    return ("enum", t.__module__, t.__qualname__, value._name_,
            _freeze(value._value_, memo, depth + 1))


def _code(value: Any, memo: Memo, depth: int) -> Any:
    return ("code", code_key(value))


def _named(value: Any, memo: Memo, depth: int) -> Any:
    """A module or class: by its name (they are not state, and live as long as the run)."""
    return ("named", getattr(value, "__module__", ""), value.__qualname__
            if isinstance(value, type) else value.__name__)


def _builtin(value: Any, memo: Memo, depth: int) -> Any:
    """A builtin function by its module and name (``iter``, in a range iterator's recipe); a
    builtin method by its name and the object it is bound to (``rows.append``)."""
    owner = getattr(value, "__self__", None)
    if owner is None or isinstance(owner, types.ModuleType):
        return ("builtin", getattr(owner, "__name__", ""), value.__qualname__)
    return ("bound", value.__name__, _freeze(owner, memo, depth + 1))


def _function(value: Any, memo: Memo, depth: int) -> Any:
    # Two closures of the same code over equal values behave the same: compare them so.
    # Memoised: a recursive inner function holds itself in a closure cell.
    seen = _seen(value, memo)
    if seen is not None:
        return seen
    cells = value.__closure__ or ()
    code = value.__code__
    # A function held in a variable changes what calling it does through the module globals
    # it reads, too (a counter a helper keeps).
    return ("fn", key_of(code), _items(cells, memo, depth),
            _freeze(value.__defaults__, memo, depth + 1),
            _freeze(value.__kwdefaults__, memo, depth + 1),
            function_globals(value, memo))


def _method(value: Any, memo: Memo, depth: int) -> Any:
    return ("method", _freeze(value.__func__, memo, depth + 1),
            _freeze(value.__self__, memo, depth + 1))


def _partial(value: Any, memo: Memo, depth: int) -> Any:
    seen = _seen(value, memo)
    if seen is not None:
        return seen
    return ("partial", _type_name(type(value)), _items(
        (value.func, value.args, value.keywords, getattr(value, "__dict__", None)), memo, depth))


def _cell(value: Any, memo: Memo, depth: int) -> Any:
    try:
        contents = value.cell_contents
    except ValueError:
        return ("cell",)
    return _freeze(contents, memo, depth + 1)


def _code_of(value: Any) -> types.CodeType | None:
    """The code of a generator, coroutine or async generator (else None)."""
    for attr in ("gi_code", "cr_code", "ag_code"):
        code = getattr(value, attr, None)
        if isinstance(code, types.CodeType):
            return code
    return None


def _frame_of(value: Any) -> types.FrameType | None:
    for attr in ("gi_frame", "cr_frame", "ag_frame"):
        frame = getattr(value, attr, None)
        if frame is not None:
            return frame  # type: ignore[no-any-return]
    return None


def _generator(value: Any, memo: Memo, depth: int) -> Any:
    """A generator or coroutine: its code, and where its frame is with what values (a finished
    one has no frame: it is done)."""
    seen = _seen(value, memo)
    if seen is not None:
        return seen
    code = _code_of(value)
    if code is None:
        return _inexact(describe(value), memo)
    frame = _frame_of(value)
    if frame is None:
        return ("gen", key_of(code), "done")
    stack = stack_of(frame)
    if stack is None:
        running = getattr(value, "gi_running", False) or getattr(value, "cr_running", False) \
            or getattr(value, "ag_running", False)
        if not running:  # suspended, but its stack cannot be read here
            return _inexact(describe(value), memo)
        stack = ()  # running: in an actor's frames, whose own position shows where it is
    depth += 1
    return ("gen", key_of(code), frame.f_lasti, _freeze(frame.f_locals, memo, depth),
            _items(stack, memo, depth))


def _unknown(value: Any, memo: Memo, depth: int) -> Any:
    return _inexact(describe(value), memo)


def _recipe(value: Any, memo: Memo, depth: int) -> Any:
    """A builtin object with no visible fields (an iterator, say): its pickling recipe shows its
    state (a range iterator's position and the sequence it walks). An object that cannot be
    pickled keeps its state where Python cannot see it."""
    try:
        recipe = value.__reduce_ex__(2)
    except Exception:
        return _inexact(describe(value), memo)
    memo.alive.append(recipe)
    return ("reduce", _freeze(recipe, memo, depth + 1))


def _quiet_recipe(value: Any, memo: Memo, depth: int) -> Any:
    """An ``itertools`` object by its pickling recipe, which 3.12 and 3.13 still give but warn
    about (3.14 removes it: then it is inexact)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return _recipe(value, memo, depth)


def _exception(value: Any, memo: Memo, depth: int) -> Any:
    seen = _seen(value, memo)
    if seen is not None:
        return seen
    return ("exc", _type_name(type(value)), _items(
        (value.args, getattr(value, "__dict__", None)), memo, depth))


def _content_of(base: type) -> Freezer:
    """How the part of an object that lives in its builtin base (``list`` for a ``list``
    subclass) is frozen, without the base's memoisation (the object is memoised already)."""
    if base in (tuple, list, set, frozenset):
        iterate = base.__iter__  # type: ignore[attr-defined]
        if base in (set, frozenset):
            return lambda v, memo, depth: tuple(sorted(_items(iterate(v), memo, depth), key=repr))
        return lambda v, memo, depth: _items(iterate(v), memo, depth)
    if issubclass(base, dict):
        return lambda v, memo, depth: (_items(dict.keys(v), memo, depth),
                                       _items(dict.values(v), memo, depth))
    if base is collections.deque:
        return lambda v, memo, depth: (v.maxlen, _items(collections.deque.__iter__(v), memo,
                                                        depth))
    if base is BaseException:
        return lambda v, memo, depth: _freeze(v.args, memo, depth + 1)
    if base is object:
        return lambda v, memo, depth: ()
    # int, float, complex, str, bytes: the value's own text, whatever the subclass overrides
    text = base.__repr__
    return lambda v, memo, depth: text(v)


# Builtin types whose value a subclass's instances carry, as far as their content is concerned.
_CONTENT_BASES = (tuple, list, dict, set, frozenset, collections.deque, BaseException, int,
                  float, complex, str, bytes, object)


def _layout(t: type) -> tuple[type, tuple[str, ...]] | None:
    """The builtin base whose content instances of ``t`` carry, and the names of their slots;
    None if some base class is C code that keeps fields Python cannot see.

    Down the chain of layout bases (``__base__``), each class must add no more memory than its
    declared slots and its ``__dict__`` and ``__weakref__`` need: a class written in Python
    does, a C class with hidden fields (``_socket.socket``, ``_thread.RLock``) does not.
    """
    slots: list[str] = []
    c = t
    while c not in _CONTENT_BASES:
        base = c.__base__
        if base is None:
            return None
        own = c.__dict__.get("__slots__", ())
        names = [own] if isinstance(own, str) else list(own)
        allowed = 8 * (len([n for n in names if n not in ("__dict__", "__weakref__")])
                       + ("__dict__" in c.__dict__) + ("__weakref__" in c.__dict__))
        if c.__basicsize__ - base.__basicsize__ > allowed:
            return None
        for n in names:
            if n not in ("__dict__", "__weakref__") and n not in slots:
                # A private slot is stored under its mangled name.
                slots.append(f"_{c.__name__.lstrip('_')}{n}"
                             if n.startswith("__") and not n.endswith("__") else n)
        c = base
    return c, tuple(slots)


def _object_freezer(t: type) -> Freezer:
    """Instances of a class written in Python: their ``__dict__``, their slots, and what they
    hold in a builtin base class; a class with hidden C fields makes them inexact."""
    layout = _layout(t)
    if layout is None:
        # Hidden fields, but a class that pickles itself (datetime, Decimal, random.Random)
        # shows them in its recipe; one that cannot be pickled (a lock, a socket) is inexact.
        return _recipe
    base, slots = layout
    name = t.__qualname__
    content = _content_of(base)
    has_dict = bool(t.__dictoffset__)
    missing = ("unset",)

    def freezer(value: Any, memo: Memo, depth: int) -> Any:
        seen = _seen(value, memo)
        if seen is not None:
            return seen
        fields = vars(value) if has_dict else {}
        values = [getattr(value, s, missing) for s in slots] if slots else ()
        return (name, content(value, memo, depth), tuple(fields),
                _items(fields.values(), memo, depth), _items(values, memo, depth))
    return freezer


def _stated(t: type) -> Freezer:
    name = t.__qualname__

    def freezer(value: Any, memo: Memo, depth: int) -> Any:
        seen = _seen(value, memo)
        if seen is not None:
            return seen
        state = value.__schedfuzz_state__()
        memo.alive.append(state)
        return (name, _freeze(state, memo, depth + 1))
    return freezer


_EXACT: dict[type, Freezer] = {
    tuple: _tuple, list: _list, dict: _dict, set: _set, frozenset: _set,
    collections.OrderedDict: lambda v, memo, depth: _seen(v, memo) or ("OD", _content_of(dict)(
        v, memo, depth)),
    collections.defaultdict: _defaultdict, collections.deque: _deque,
    bytearray: _bytes_like, array.array: _bytes_like, memoryview: _bytes_like,
    types.MappingProxyType: _mapping, functools.partial: _partial,
    types.FunctionType: _function, types.MethodType: _method, types.CellType: _cell,
    types.CodeType: _code, types.ModuleType: _named,
    types.BuiltinFunctionType: _builtin, types.MethodWrapperType: _builtin,
    types.GeneratorType: _generator, types.CoroutineType: _generator,
    types.AsyncGeneratorType: _generator, types.FrameType: _unknown,
}


def _classify(t: type) -> Freezer:
    """Pick (and remember) how values of type ``t`` are frozen."""
    freezer: Freezer | None = _EXACT.get(t)
    if freezer is not None:
        pass
    elif getattr(t, "__schedfuzz_state__", None) is not None and not issubclass(t, type):
        freezer = _stated(t)
    elif issubclass(t, type):
        freezer = _named
    elif isinstance(t, enum.EnumMeta):
        freezer = _enum
    elif issubclass(t, BaseException):
        freezer = _exception if t.__module__ == "builtins" else _object_freezer(t)
    elif t.__module__ == "itertools":
        freezer = _quiet_recipe
    elif issubclass(t, Mapping) and t.__module__ == "builtins" and t is not dict:
        freezer = _mapping  # 3.13's FrameLocalsProxy
    elif t.__module__ == "builtins":
        freezer = _recipe  # iterators, range, slice, zip, ...: no fields but a recipe
    elif issubclass(t, functools.partial):
        freezer = _partial
    else:
        freezer = _object_freezer(t)
    _FREEZERS[t] = freezer
    return freezer


def _globals_unknown(fn: types.FunctionType, memo: Memo) -> Any:
    msg = "schedfuzz._core.moduleglobals did not install function_globals"
    raise SchedfuzzInternalError(msg)


# The image of the module globals a function's code reads. ``moduleglobals`` freezes those
# values with this module, so it cannot be imported here: it installs itself when it loads
# (``schedfuzz._core`` loads it first thing).
function_globals: Callable[[types.FunctionType, Memo], Any] = _globals_unknown
