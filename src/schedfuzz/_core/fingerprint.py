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
terminating loop from looking like a cycle; and the module globals the frame's code reads or
writes, directly or through the functions and classes it names, and those a function held in a
variable reads (``global_reads``). Most globals are functions, classes, modules and constants
that never change: each is *pinned* to the object it held when first read and left out of the
state while it still holds it (``_ModulePins``), so a frame's globals cost a few identity checks.
Modules and classes are compared by name: state kept in a class attribute or in another
module's attribute is not seen (keep it in an object, or show it with ``snapshot()``).

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
import dis
import enum
import functools
import hashlib
import itertools
import operator
import os
import sysconfig
import types
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from schedfuzz._core.framestack import stack_of

if TYPE_CHECKING:
    from schedfuzz._core.actor import Actor

__all__ = ["Inexact", "LassoDetector", "Memo", "actor_outline", "actor_position", "code_key",
           "describe", "freeze", "global_reads", "outline_of", "position_only"]

_SCALAR_TYPES = frozenset({int, float, str, bytes, bool, type(None), complex})
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
    if t in _SCALAR_TYPES:
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
    if t in _SCALAR_TYPES:
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
    scalars = _SCALAR_TYPES
    return tuple([v if type(v) in scalars else _freeze(v, memo, depth) for v in values])


def _inexact(what: str, memo: Memo) -> Inexact:
    token = Inexact(what)
    memo.met.append(token)
    return token


def _type_name(t: type) -> str:
    module = t.__module__
    return t.__qualname__ if module == "builtins" else f"{module}.{t.__qualname__}"


def _where(code: types.CodeType, line: int | None = None) -> str:
    return (f"'{getattr(code, 'co_qualname', code.co_name)}' at "
            f"{os.path.basename(code.co_filename)}:{line or code.co_firstlineno}")


def describe(value: Any) -> str:
    """What a value the fingerprint cannot compare is, for the user: its type, and for a frame
    or generator where its code is."""
    if isinstance(value, types.FrameType):
        return f"frame of {_where(value.f_code, value.f_lineno)}"
    code = _code_of(value)
    if code is not None:
        return f"{type(value).__name__} {_where(code)}"
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


def _key_of(code: types.CodeType) -> str:
    entry = _CODE_KEYS.get(id(code))  # code_key(code), inlined: this runs for every frame
    return entry[1] if entry is not None and entry[0] is code else code_key(code)


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
    reads = global_reads(code, value.__globals__)
    return ("fn", _key_of(code), _items(cells, memo, depth),
            _freeze(value.__defaults__, memo, depth + 1),
            _freeze(value.__kwdefaults__, memo, depth + 1),
            _globals_image(reads, memo) if reads else ())


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
        return ("gen", _key_of(code), "done")
    stack = stack_of(frame)
    if stack is None:
        running = getattr(value, "gi_running", False) or getattr(value, "cr_running", False) \
            or getattr(value, "ag_running", False)
        if not running:  # suspended, but its stack cannot be read here
            return _inexact(describe(value), memo)
        stack = ()  # running: in an actor's frames, whose own position shows where it is
    depth += 1
    return ("gen", _key_of(code), frame.f_lasti, _freeze(frame.f_locals, memo, depth),
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


# -- module globals -----------------------------------------------------------------------------

# Code whose globals are not the scenario's state: schedfuzz's own modules (their examples
# aside) and the standard library.
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_EXAMPLES = os.path.join(_PACKAGE, "examples.py")
_STDLIB = tuple({os.path.abspath(sysconfig.get_paths()[k]) + os.sep
                 for k in ("stdlib", "platstdlib")})
_GLOBAL_OPS = frozenset({"LOAD_GLOBAL", "STORE_GLOBAL", "DELETE_GLOBAL", "LOAD_NAME",
                         "STORE_NAME", "DELETE_NAME"})


def _watched(code: types.CodeType) -> bool:
    """Whether the globals ``code`` touches may be the scenario's state."""
    path = code.co_filename
    if path.startswith("<frozen ") or (path.startswith(_PACKAGE) and path != _EXAMPLES):
        return False
    return not (path.startswith(_STDLIB) and "-packages" not in path)


# id(code) -> (code, the global names it and the code nested in it touch, sorted)
_NAMES: dict[int, tuple[types.CodeType, tuple[str, ...]]] = {}


def _global_names(code: types.CodeType) -> tuple[str, ...]:
    entry = _NAMES.get(id(code))
    if entry is not None and entry[0] is code:
        return entry[1]
    names: set[str] = set()
    todo = [code]
    while todo:
        c = todo.pop()
        names.update(i.argval for i in dis.get_instructions(c) if i.opname in _GLOBAL_OPS)
        todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    found = tuple(sorted(names))
    _NAMES[id(code)] = (code, found)
    return found


# (id(code), id(globals)) -> (code, globals, [(globals, names), ...]): the globals a frame of
# ``code`` may read, directly or through the functions its globals name, found once.
_READS: dict[tuple[int, int], tuple[Any, Any, tuple[tuple[dict[str, Any], tuple[str, ...]], ...]]] \
    = {}


def global_reads(code: types.CodeType,
                 f_globals: dict[str, Any]) -> tuple[tuple[dict[str, Any], tuple[str, ...]], ...]:
    """The module globals a frame of ``code`` run in ``f_globals`` may read or write: for each
    module dict, the names, in a fixed order. Names bound to functions lead to those functions'
    own globals (a counter kept by a helper the actor calls), transitively; the set is found
    once per code object and module, from what the names were bound to the first time."""
    key = (id(code), id(f_globals))
    entry = _READS.get(key)
    if entry is not None and entry[0] is code and entry[1] is f_globals:
        return entry[2]
    groups: dict[int, tuple[dict[str, Any], set[str]]] = {}
    order: list[int] = []
    todo: list[tuple[types.CodeType, dict[str, Any]]] = [(code, f_globals)]
    done: set[tuple[int, int]] = set()
    while todo:
        c, g = todo.pop()
        if (id(c), id(g)) in done or not _watched(c):
            continue
        done.add((id(c), id(g)))
        group = groups.get(id(g))
        if group is None:
            group = groups[id(g)] = (g, set())
            order.append(id(g))
        for name in _global_names(c):
            group[1].add(name)
            todo += [(f.__code__, f.__globals__) for f in _functions_in(g.get(name))]
    reads = tuple((groups[i][0], tuple(sorted(groups[i][1]))) for i in order if groups[i][1])
    _READS[key] = (code, f_globals, reads)
    return reads


def _functions_in(value: Any) -> list[types.FunctionType]:
    """The Python functions a global names: itself, those in a table (a dict, list or tuple
    of them), or a class's methods (static, class and property ones included)."""
    if isinstance(value, types.FunctionType):
        return [value]
    if type(value) in (dict, list, tuple):
        items = [*value, *value.values()] if type(value) is dict else value
        return [f for f in items if isinstance(f, types.FunctionType)]
    if not isinstance(value, type) or isinstance(value, enum.EnumMeta):
        return []
    found = []
    for attr in vars(value).values():
        for f in (attr, getattr(attr, "__func__", None), getattr(attr, "fget", None),
                  getattr(attr, "fset", None)):
            if isinstance(f, types.FunctionType):
                found.append(f)
    return found


_UNBOUND = ("unbound",)
_PINNABLE = (types.ModuleType, types.BuiltinFunctionType, type)


def _pinnable(value: Any, depth: int = 0) -> bool:
    """Whether a global's value is one that is rarely rebound and never changes in place (a
    number or string, a module, a class, a builtin, an enum member, a tuple of such, a
    function without closure whose defaults are such): most globals a frame reads are."""
    t = type(value)
    if t in _SCALAR_TYPES or value is _UNBOUND or isinstance(value, _PINNABLE) \
            or isinstance(t, enum.EnumMeta):
        return True
    if depth > 3:
        return False
    if t is tuple:
        return all(_pinnable(v, depth + 1) for v in value)
    return (t is types.FunctionType and value.__closure__ is None
            and _pinnable(value.__defaults__ or (), depth + 1)
            and _pinnable(tuple((value.__kwdefaults__ or {}).values()), depth + 1))


def _moved(now: list[Any], pins: list[Any]) -> list[int]:
    """Where ``now`` is not at its pin: not the same object, nor (a number or string) an
    equal value of the same type (1 == True, but they are not the same state)."""
    return [i for i, (v, pin) in enumerate(zip(now, pins))
            if not (v is pin or (type(v) is type(pin) and type(v) in _SCALAR_TYPES
                                 and v == pin))]


_TABLE_SIZE = 256


def _table(value: Any) -> bool:
    """A dict or list of pinnable values (a module's table of names or handlers)."""
    t = type(value)
    if t is dict:
        return (len(value) <= _TABLE_SIZE and all(map(_pinnable, value))
                and all(map(_pinnable, value.values())))
    return t is list and len(value) <= _TABLE_SIZE and all(map(_pinnable, value))


def _table_items(value: Any) -> list[Any]:
    return [*value, *value.values()] if type(value) is dict else list(value)


class _ModulePins:
    """The pins of one module's globals: each name bound, when first read, to a value
    ``_pinnable`` accepts, or to a table of such (``_table``, pinned with what it held then),
    is pinned to it for good. A module whose pinned names all hold their pins (``clean``,
    checked once per state in C-speed passes) lets every frame leave them out of its image;
    the pins never change, so "left out" always means "bound to the pin"."""

    __slots__ = ("g", "index", "names", "pins", "tables")

    def __init__(self, g: dict[str, Any]) -> None:
        self.g = g
        self.names: list[str] = []
        self.pins: list[Any] = []
        self.tables: dict[int, list[Any]] = {}  # pin index -> the table's items when pinned
        self.index: dict[str, int] = {}

    def pin(self, name: str) -> int | None:
        """The index of ``name``'s pin, pinning it now if its value allows; None if not."""
        i = self.index.get(name)
        if i is None:
            value = self.g.get(name, _UNBOUND)
            table = not _pinnable(value)
            if table and not _table(value):
                return None
            i = self.index[name] = len(self.names)
            self.names.append(name)
            self.pins.append(value)
            _ALL_DICTS.append(self.g)
            _ALL_NAMES.append(name)
            _ALL_PINS.append(value)
            if table:
                self.tables[i] = _table_items(value)
                _ALL_TABLES.append((value, self.tables[i]))
        return i

    def clean(self) -> bool:
        now = list(map(self.g.get, self.names, itertools.repeat(_UNBOUND)))
        if not all(map(operator.is_, now, self.pins)) and _moved(now, self.pins):
            return False
        return not self.tables or not self.moved_tables(self.tables)

    def moved_tables(self, indices: Any) -> list[int]:
        """Which of the tables at ``indices`` (still bound to their pin) hold other objects
        than when pinned."""
        tables, pins = self.tables, self.pins
        moved = []
        for i in indices:
            snapshot = tables.get(i)
            if snapshot is not None:
                items = _table_items(pins[i])
                if len(items) != len(snapshot) or not all(map(operator.is_, items, snapshot)):
                    moved.append(i)
        return moved


_MODULES: dict[int, _ModulePins] = {}  # id(module dict) -> its pins (which keep it alive)
# Every pin of every module in one list, so that one C-speed pass per state tells whether all
# of them hold (the usual case); a module's own ``clean`` is asked only if not.
_ALL_DICTS: list[dict[str, Any]] = []
_ALL_NAMES: list[str] = []
_ALL_PINS: list[Any] = []
_ALL_TABLES: list[tuple[Any, list[Any]]] = []
_ALL_CLEAN = "all pins hold"  # its key in Memo.globals


def _all_clean() -> bool:
    now = list(map(dict.get, _ALL_DICTS, _ALL_NAMES, itertools.repeat(_UNBOUND)))
    if not all(map(operator.is_, now, _ALL_PINS)) and _moved(now, _ALL_PINS):
        return False
    for table, snapshot in _ALL_TABLES:
        items = _table_items(table)
        if len(items) != len(snapshot) or not all(map(operator.is_, items, snapshot)):
            return False
    return True


class _Pins:
    """The globals of one module that some code reads: the pinned ones (``_ModulePins``),
    which appear in the image only where they left their pin, and the others, always."""

    __slots__ = ("at", "module", "names", "others")

    def __init__(self, g: dict[str, Any], names: tuple[str, ...]) -> None:
        module = _MODULES.get(id(g))
        if module is None or module.g is not g:
            module = _MODULES[id(g)] = _ModulePins(g)
        self.module = module
        at = [(n, module.pin(n)) for n in names]
        self.names = tuple(n for n, i in at if i is not None)
        self.at = [i for _, i in at if i is not None]
        self.others = tuple(n for n, i in at if i is None)

    def image(self, memo: Memo) -> Any:
        done = memo.globals
        module = self.module
        clean = done.get(id(module))
        if clean is None:
            clean = done[id(module)] = module.clean()
        moved: Any = ()
        if not clean:
            get, pins = module.g.get, module.pins
            now = [get(n, _UNBOUND) for n in self.names]
            gone = set(_moved(now, [pins[i] for i in self.at]))
            changed = module.moved_tables(i for j, i in enumerate(self.at) if j not in gone)
            gone.update(j for j, i in enumerate(self.at) if i in changed)
            moved = freeze(tuple((self.names[j], now[j]) for j in sorted(gone)), memo)
        if not self.others:
            return moved
        # A module's table read by many codes is frozen once per state.
        gid = id(module.g)
        others = []
        for n in self.others:
            image = done.get((gid, n), done)
            if image is done:
                image = done[(gid, n)] = freeze(module.g.get(n, _UNBOUND), memo)
            others.append(image)
        return (moved, tuple(others))


# id(global_reads result) -> (its _Pins, the distinct modules they pin, whether any has names
# that are never left out); the result is kept in _READS, so the id stays its own. A _Pins is
# shared by every code that reads the same names of one module (most read a module's helpers
# through the same functions): (id(module dict), names) -> _Pins.
_PINS: dict[int, tuple[tuple[_Pins, ...], tuple[_ModulePins, ...], bool]] = {}
_GROUPS: dict[tuple[int, tuple[str, ...]], _Pins] = {}


def _pins_of(reads: tuple[tuple[dict[str, Any], tuple[str, ...]], ...]
             ) -> tuple[tuple[_Pins, ...], tuple[_ModulePins, ...], bool]:
    pins = []
    for g, names in reads:
        p = _GROUPS.get((id(g), names))
        if p is None or p.module.g is not g:
            p = _GROUPS[(id(g), names)] = _Pins(g, names)
        pins.append(p)
    modules = tuple({id(p.module): p.module for p in pins}.values())
    found = _PINS[id(reads)] = (tuple(pins), modules, any(p.others for p in pins))
    return found


def _globals_image(reads: tuple[tuple[dict[str, Any], tuple[str, ...]], ...], memo: Memo) -> Any:
    """The values of the globals in ``reads`` now: ``()`` if every one is pinned and at its pin
    (the usual case, a few lookups), else per module the pinned names not at their pin and the
    other names' values (``_Pins``). Frozen once per state, whatever the number of frames and
    functions that read them."""
    done = memo.globals
    image = done.get(id(reads))
    if image is not None:
        return image
    pins, modules, others = _PINS.get(id(reads)) or _pins_of(reads)
    if not others:
        clean = done.get(_ALL_CLEAN)
        if clean is None:
            clean = done[_ALL_CLEAN] = _all_clean()
        if clean:
            done[id(reads)] = ()
            return ()
        for module in modules:
            clean = done.get(id(module))
            if clean is None:
                clean = done[id(module)] = module.clean()
            if not clean:
                break
        else:
            done[id(reads)] = ()
            return ()
    parts = []
    for p in pins:
        part = done.get(id(p), done)
        if part is done:
            part = done[id(p)] = p.image(memo)
        parts.append(part)
    image = done[id(reads)] = tuple(parts)
    return image


# -- actors' positions --------------------------------------------------------------------------

# id(code) -> (code, the globals its frames run in, global_reads of them): the cache a frame
# looks in first (a code runs in one module's globals, but is checked).
_FRAME_READS: dict[int, tuple[types.CodeType, Any, Any]] = {}

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


def actor_position(actor: Actor, memo: Memo) -> Any:
    """The actor's place in its code: every suspended frame's code, offset, locals, value stack
    and the module globals its code touches.

    Frames of schedfuzz's own modules (traps, primitives) are included: which primitive an actor
    is inside is part of where it is. What cannot be compared lands in ``memo.met``.
    """
    frame = actor.greenlet.gr_frame
    out: list[tuple[Any, ...]] = []
    position_only_codes = _POSITION_ONLY
    keys = _CODE_KEYS
    frame_reads = _FRAME_READS
    done = memo.globals
    innermost = True  # running, as CPython sees it: its stack height is not recorded
    while frame is not None:
        code = frame.f_code
        entry = keys.get(id(code))  # code_key(code), inlined: this runs for every frame
        key = entry[1] if entry is not None and entry[0] is code else code_key(code)
        if id(code) in position_only_codes:
            out.append((key, frame.f_lasti))
        else:
            stack = None if innermost else stack_of(frame)
            # global_reads(code, frame.f_globals) and _globals_image, inlined where cached
            f_globals = frame.f_globals
            seen = frame_reads.get(id(code))
            if seen is not None and seen[0] is code and seen[1] is f_globals:
                reads = seen[2]
            else:
                reads = global_reads(code, f_globals)
                frame_reads[id(code)] = (code, f_globals, reads)
            if reads:
                globals_image = done.get(id(reads))
                if globals_image is None:
                    globals_image = _globals_image(reads, memo)
            else:
                globals_image = ()
            out.append((key, frame.f_lasti, freeze(frame.f_locals, memo),
                        freeze(stack, memo) if stack else (), globals_image))
        innermost = False
        frame = frame.f_back
    return tuple(out)


def inexact_in(actor: Actor, memo: Memo) -> list[str]:
    """Where ``actor``'s frames hold values the fingerprint cannot compare: "`_thread.lock` in
    local 'lk' of 'worker' at prog.py:12". Slow (each frame's values frozen one by one), so
    only called once a fingerprint has met one."""
    found = []
    frame = actor.greenlet.gr_frame
    while frame is not None:
        code = frame.f_code
        if id(code) not in _POSITION_ONLY:
            where = _where(code, frame.f_lineno)
            parts: list[tuple[str, Any]] = [(f"local '{k}'", v) for k, v in
                                            list(frame.f_locals.items())]
            stack = stack_of(frame) if frame is not actor.greenlet.gr_frame else None
            parts += [("the value stack", v) for v in stack or ()]
            parts += [(f"global '{n}'", g.get(n)) for g, names in
                      global_reads(code, frame.f_globals) for n in names]
            for what, value in parts:
                probe = Memo()
                freeze(value, probe)
                found += [f"{t.what} in {what} of {where}" for t in probe.met]
        frame = frame.f_back
    return found


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
