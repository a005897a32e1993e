"""The module globals an actor's code touches, as part of its state.

A frame's state includes the module globals its code reads or writes, directly or through
the functions and classes it names, and those a function held in a variable reads
(``global_reads``). Most globals are functions, classes, modules and constants that never
change: each is *pinned* to the object it held when first read and left out of the state
while it still holds it (``_ModulePins``), so a frame's globals cost a few identity checks.
Modules and classes are compared by name: state kept in a class attribute or in another
module's attribute is not seen (keep it in an object, or show it with ``snapshot()``).
"""

from __future__ import annotations

import dis
import enum
import itertools
import operator
import os
import sysconfig
import types
from collections.abc import Callable
from typing import Any

from schedfuzz._core import freeze as freeze_module
from schedfuzz._core.freeze import SCALAR_TYPES, Memo, freeze

__all__ = ["global_reads", "globals_image"]

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
    if t in SCALAR_TYPES or value is _UNBOUND or isinstance(value, _PINNABLE) \
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
            if not (v is pin or (type(v) is type(pin) and type(v) in SCALAR_TYPES
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


# The same pins grouped by module: (itemgetter of its names pinned to a value, those values,
# the names pinned unbound (builtins the code reaches through the module), its dict), so the
# usual check is a few C calls per module (``bench.py``'s ``stateful_states_per_s_median``).
# Rebuilt when pins were added.
_Check = tuple[Callable[[dict[str, Any]], Any], tuple[Any, ...], tuple[str, ...], dict[str, Any]]
_CHECKS: list[_Check] = []
_CHECKED = [0]  # len(_ALL_PINS) when _CHECKS was built


def _checks() -> list[_Check]:
    if _CHECKED[0] != len(_ALL_PINS):
        groups: dict[int, tuple[dict[str, Any], list[str], list[Any], list[str]]] = {}
        for g, name, pin in zip(_ALL_DICTS, _ALL_NAMES, _ALL_PINS):
            group = groups.setdefault(id(g), (g, [], [], []))
            if pin is _UNBOUND:
                group[3].append(name)
            else:
                group[1].append(name)
                group[2].append(pin)
        _CHECKS[:] = [(_getter(names), tuple(pins), tuple(unbound), g)
                      for g, names, pins, unbound in groups.values()]
        _CHECKED[0] = len(_ALL_PINS)
    return _CHECKS


def _getter(names: list[str]) -> Callable[[dict[str, Any]], Any]:
    if not names:
        return lambda g: ()
    get = operator.itemgetter(*names)
    if len(names) == 1:
        return lambda g: (get(g),)
    return get


def _all_clean() -> bool:
    try:
        for get, pins, unbound, g in _checks():
            now = get(g)
            if not all(map(operator.is_, now, pins)) and _moved(list(now), list(pins)):
                return False
            if unbound and any(map(g.__contains__, unbound)):
                return False
    except KeyError:  # a name pinned to a value was deleted
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


def globals_image(reads: tuple[tuple[dict[str, Any], tuple[str, ...]], ...], memo: Memo) -> Any:
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


def _function_globals(fn: types.FunctionType, memo: Memo) -> Any:
    """The image of the globals ``fn``'s code reads (``freeze.function_globals``)."""
    reads = global_reads(fn.__code__, fn.__globals__)
    return globals_image(reads, memo) if reads else ()


freeze_module.function_globals = _function_globals
