"""Scheduling points inside the user's own code: races on plain Python state.

Between two ``threading`` operations plain code runs atomically, so two threads doing
``self.done += 1`` without a lock never lose an update. For the modules a user names
(``--preempt-in bank,pool``) every function is recompiled with a scheduling point

* before each statement (the trace row is its ``file:line``), and
* between computing and storing a value into an attribute or an item
  (``self.done += 1`` becomes read-and-add, a point, then the store), where lost updates live.

The points are ordinary calls in the function's bytecode, so the actor switches from normal
code (a switch from inside a trace function would leave tracing off in every other greenlet).
Functions keep their identity; only their ``__code__`` is swapped for the run and swapped back
afterwards. Code that runs at import time (module level) is not instrumented: it ran already.
Outside an actor the points do nothing.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import types
from typing import Any

from schedfuzz._core.traps import checkpoint, running_actor
from schedfuzz.errors import InvalidArgument

__all__ = ["POINT", "instrument"]

POINT = "__schedfuzz_point__"
_TEMP = "__schedfuzz_value__"


def _point(where: str) -> None:
    """The scheduling point the instrumented code calls: a step in an actor, else nothing.
    ``where`` is ``file:line`` of the statement, which names the step in the trace."""
    if running_actor() is not None:
        checkpoint(where)


class _Points(ast.NodeTransformer):
    """Insert the points into every function body of a module (see the module docstring)."""

    def __init__(self, filename: str) -> None:
        self.depth = 0
        self.filename = filename.rsplit("/", 1)[-1]

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        return node

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        if self.depth:
            for field in ("body", "orelse", "finalbody"):
                stmts = getattr(node, field, None)
                if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                    setattr(node, field, [s for stmt in stmts
                                          for s in _with_points(stmt, self.filename)])
        return node


def _call_point(where: str, at: ast.AST) -> ast.stmt:
    call = ast.Expr(ast.Call(ast.Name(POINT, ast.Load()), [ast.Constant(where)], []))
    return ast.copy_location(call, at)


def _shared_target(node: ast.expr) -> bool:
    """An attribute or item whose owner is a plain name or such a chain (``self.a.b[k]``)."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
        if isinstance(node, ast.Name):
            return True
    return False


def _with_points(stmt: ast.stmt, filename: str) -> list[ast.stmt]:
    line = f"{filename}:{stmt.lineno}"
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt]  # a definition is no step; its body has its own points
    out = [_call_point(line, stmt)]
    if isinstance(stmt, ast.AugAssign) and _shared_target(stmt.target):
        load = _as_load(stmt.target)
        value = ast.BinOp(load, stmt.op, stmt.value)
        out += _store_after_point(stmt, stmt.target, value, line)
    elif (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
          and _shared_target(stmt.targets[0])):
        out += _store_after_point(stmt, stmt.targets[0], stmt.value, line)
    else:
        out.append(stmt)
    return out


def _as_load(target: ast.expr) -> ast.expr:
    node = ast.parse(ast.unparse(target), mode="eval").body
    return ast.copy_location(node, target)  # type: ignore[return-value]


def _store_after_point(stmt: ast.stmt, target: ast.expr, value: ast.expr,
                       line: str) -> list[ast.stmt]:
    temp = ast.Assign([ast.Name(_TEMP, ast.Store())], value)
    store = ast.Assign([target], ast.Name(_TEMP, ast.Load()))
    return [ast.copy_location(temp, stmt), _call_point(line, stmt),
            ast.copy_location(store, stmt)]


_CODE_CACHE: dict[str, dict[str, types.CodeType]] = {}


def _instrumented_codes(module: types.ModuleType) -> dict[str, types.CodeType]:
    """qualname -> instrumented code, for every function the module's source defines."""
    key = f"{module.__name__}@{getattr(module, '__file__', '')}"  # two versions, two keys
    cached = _CODE_CACHE.get(key)
    if cached is not None:
        return cached
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError) as exc:
        msg = f"--preempt-in {module.__name__}: its source cannot be read ({exc})"
        raise InvalidArgument(msg) from None
    filename = inspect.getsourcefile(module) or module.__name__
    tree = _Points(filename).visit(ast.parse(source))
    ast.fix_missing_locations(tree)
    code = compile(tree, filename, "exec")
    found: dict[str, types.CodeType] = {}
    stack = [code]
    while stack:
        c = stack.pop()
        for const in c.co_consts:
            if isinstance(const, types.CodeType):
                found[getattr(const, "co_qualname", const.co_name)] = const
                stack.append(const)
    _CODE_CACHE[key] = found
    return found


def _functions(module: types.ModuleType) -> list[types.FunctionType]:
    """The module's own functions and its classes' methods (properties, static and class
    methods included), each once, in definition order."""
    out: list[types.FunctionType] = []
    seen: set[int] = set()

    def add(obj: Any) -> None:
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        if isinstance(obj, property):
            for part in (obj.fget, obj.fset, obj.fdel):
                add(part)
            return
        if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__ \
                and id(obj) not in seen:
            seen.add(id(obj))
            out.append(obj)

    for value in list(vars(module).values()):
        if isinstance(value, type) and value.__module__ == module.__name__:
            for member in list(vars(value).values()):
                add(member)
        else:
            add(value)
    return out


def instrument(names: tuple[str, ...]) -> list[tuple[Any, str, Any]]:
    """Swap in the instrumented code of every function of the named modules; returns the
    undo list (owner, attribute, old value) for ``patch``."""
    undo: list[tuple[Any, str, Any]] = []
    for name in names:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            msg = f"--preempt-in {name}: cannot import it ({exc})"
            raise InvalidArgument(msg) from None
        codes = _instrumented_codes(module)
        module.__dict__[POINT] = _point  # left in place: it does nothing outside an actor
        for fn in _functions(module):
            new = codes.get(getattr(fn.__code__, "co_qualname", fn.__name__))
            if new is not None and new.co_freevars == fn.__code__.co_freevars:
                undo.append((fn, "__code__", fn.__code__))
                fn.__code__ = new
    return undo
