"""Which values a stretch of a run reads: the lines it executes, and what those lines load.

The pumping step (``pump``) names the values that change from one round of a cycle to the next.
A value that no line of the round *reads* cannot steer the round, so the cycle repeats forever
modulo it. This module answers the question soundly enough to say so in a verdict:

* ``LineTracer`` records the lines the program executes between two scheduling points, in
  every actor and in the checks the runner calls (invariants, predicates):
  ``sys.monitoring`` on 3.12+ (the suspended actors' code objects are instrumented at once,
  since a suspended frame only picks up instrumentation when its code is), ``sys.settrace``
  with each suspended frame's ``f_trace`` before. schedfuzz's own code is left out: it
  schedules and observes, it does not steer the program. So is code it calls that is not the
  program's (the standard library, generated methods), while a predicate or an invariant of
  the program counts.
* ``readers`` parses each executed line's statement (a compound statement's header only; its
  body's lines have events of their own) and lists the names, attributes and string constants
  it loads. Writing a value is not reading it: ``n += 1``, ``n = n + 1`` and
  ``log.append(x)`` as a statement leave ``n`` and ``log`` unread. A line whose source cannot
  be found, or that loads ``getattr``, ``vars``, ``locals``, ``__dict__`` and the like, could
  read anything.

What it cannot see: C code reading a value through an object it was handed whole
(``copy.copy(stats)``, a C ``__eq__``). Hence "proved modulo" in a verdict, never "proved".
"""

from __future__ import annotations

import ast
import functools
import linecache
import os
import sys
import sysconfig
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import CodeType, FrameType

    from schedfuzz._core.oracle import RunView

__all__ = ["LineTracer", "readers"]

_OWN = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # schedfuzz/
_EXAMPLES = os.path.join(_OWN, "examples.py")
# Where installed libraries live: the standard library and site-packages.
_LIBRARIES = tuple(dict.fromkeys(
    os.path.abspath(path) + os.sep for path in (
        os.path.dirname(os.__file__),
        *(sysconfig.get_paths().get(key) for key in ("stdlib", "platstdlib", "purelib",
                                                      "platlib")))
    if path))
_TOOL_IDS = (3, 4)  # sys.monitoring ids no standard tool claims


def _ours(filename: str) -> bool:
    """schedfuzz's own code: it schedules and observes, it does not steer the program."""
    return filename.startswith(_OWN) and filename != _EXAMPLES


def _library(filename: str) -> bool:
    """An installed library (the standard library, site-packages) or code generated at run
    time (attrs, dataclasses, ``exec``): its lines count as the program's only when the
    program called it."""
    return filename.startswith((*_LIBRARIES, "<"))


def _counts(code: CodeType, frame: FrameType | None) -> bool:
    """Whether lines of ``code`` (running in ``frame``) can be the program reading a value:
    the program's own code, and library code it calls (directly or through more library code),
    but not code schedfuzz calls for itself (an enum's property, an attrs ``__init__``). A
    predicate or an invariant schedfuzz calls is the program's code, so it counts."""
    filename = code.co_filename
    if _ours(filename):
        return False
    if not _library(filename):
        return True
    caller = frame.f_back if frame is not None else None
    while caller is not None:
        filename = caller.f_code.co_filename
        if _ours(filename):
            return False
        if not _library(filename):
            return True
        caller = caller.f_back
    return True


class LineTracer:
    """Records the lines the program executes during one round, in every actor and in the
    checks the runner calls: ``sys.monitoring`` on 3.12+, ``sys.settrace`` before."""

    def __init__(self) -> None:
        self.lines: set[tuple[str, int]] = set()
        self.tool: int | None = None
        self.codes: list[CodeType] = []
        self.frames: list[FrameType] = []
        self.files: dict[int, set[str]] = {}  # actor id -> files of its program's frames
        self.first = 0

    def start(self, runner: RunView) -> str:
        """Start tracing; return why it could not, or ""."""
        stacks = []
        self.first = runner.step
        for actor in runner.live:
            frame = actor.greenlet.gr_frame
            while frame is not None:
                stacks.append(frame)
                if _counts(frame.f_code, frame):
                    self.files.setdefault(actor.aid, set()).add(frame.f_code.co_filename)
                frame = frame.f_back
        if sys.version_info >= (3, 12):
            return self._monitor(stacks)
        if sys.gettrace() is not None:
            return "another tracer (a debugger, coverage) is active"

        def line(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "line":
                self.lines.add((frame.f_code.co_filename, frame.f_lineno))
            return line

        def call(frame: FrameType, event: str, arg: Any) -> Any:
            return line if _counts(frame.f_code, frame) else None

        for frame in stacks:
            if _counts(frame.f_code, frame):
                frame.f_trace = line
                frame.f_trace_lines = True
                self.frames.append(frame)
        sys.settrace(call)
        return ""

    def _monitor(self, stacks: list[FrameType]) -> str:
        monitoring = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
        for tool in _TOOL_IDS:
            try:
                monitoring.use_tool_id(tool, "schedfuzz")
            except ValueError:
                continue
            self.tool = tool
            break
        else:
            return "no sys.monitoring tool id was free"
        lines = self.lines
        getframe = sys._getframe

        def line(code: CodeType, number: int) -> None:
            if _counts(code, getframe(1)):
                lines.add((code.co_filename, number))

        events = monitoring.events.LINE
        monitoring.register_callback(self.tool, events, line)
        monitoring.set_events(self.tool, events)
        # Suspended frames are instrumented only when their code is: do it now.
        self.codes = list({id(f.f_code): f.f_code for f in stacks}.values())
        for code in self.codes:
            monitoring.set_local_events(self.tool, code, events)
        return ""

    def stop(self, runner: RunView | None) -> tuple[set[tuple[str, int]] | None, str]:
        """Stop tracing; the lines seen (None if they cannot be trusted) and why not."""
        if self.tool is not None:
            monitoring = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
            monitoring.set_events(self.tool, 0)
            for code in self.codes:
                monitoring.set_local_events(self.tool, code, 0)
            monitoring.register_callback(self.tool, monitoring.events.LINE, None)
            monitoring.free_tool_id(self.tool)
            self.tool = None
        elif sys.version_info < (3, 12):
            sys.settrace(None)
            for frame in self.frames:
                frame.f_trace = None
            for actor in runner.live if runner is not None else ():
                frame = actor.greenlet.gr_frame
                while frame is not None:
                    frame.f_trace = None
                    frame = frame.f_back
        if runner is None:
            return None, "the run ended inside the traced round"
        # An actor that ran without a line of its code seen: the tracer did not reach it.
        seen = {filename for filename, _ in self.lines}
        for aid in dict.fromkeys(row[0] for row in runner.trace.rows[self.first:]):
            files = self.files.get(aid)
            if files and not files & seen:
                return None, f"the line tracer saw nothing of {runner.trace.names[aid]}'s code"
        return self.lines, ""


# Loads that read every value: a dynamic name, a whole namespace.
_DYNAMIC = frozenset({"locals", "vars", "globals", "getattr", "eval", "exec", "dir",
                      "__dict__"})
# Methods that only add to a container: ``log.append(x)`` as a statement writes ``log``.
_MUTATORS = frozenset({"append", "appendleft", "extend", "extendleft", "add", "insert",
                       "update"})


def readers(lines: set[tuple[str, int]], names: set[str]) -> dict[str | None, str]:
    """For each of ``names`` that an executed line reads, that line (``file:line``); under the
    key None, a line that could read anything (unreadable source, ``getattr``, ``vars``)."""
    found: dict[str | None, str] = {}
    for filename, number in sorted(lines):
        index = _statements(filename)
        if index is None:
            found.setdefault(None, f"{filename}:{number}, source not found")
            continue
        for node in index.get(number, ()):
            for name in _loads(node):
                if name is None or name in _DYNAMIC:
                    found.setdefault(None, f"{filename}:{number}")
                elif name in names:
                    found.setdefault(name, f"{os.path.basename(filename)}:{number}")
    return found


@functools.lru_cache(maxsize=64)
def _statements(filename: str) -> dict[int, list[ast.AST]] | None:
    """Line -> the parts of the statements that line executes (a compound statement's header,
    not its body, whose lines have events of their own); None if the source is not found."""
    source = "".join(linecache.getlines(filename))
    if not source:
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    index: dict[int, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.stmt, ast.ExceptHandler, ast.match_case)):
            continue
        parts = _header(node)
        spans = [(first, getattr(p, "end_lineno", None) or first) for p in parts
                 if (first := getattr(p, "lineno", None)) is not None]
        if (first := getattr(node, "lineno", None)) is not None:
            spans.append((first, first))
        if not spans:
            continue
        for number in range(min(s[0] for s in spans), max(s[1] for s in spans) + 1):
            index.setdefault(number, []).extend(parts)
    return index


def _header(node: ast.AST) -> list[ast.AST]:
    """What a statement evaluates itself: all of a simple one, the header of a compound one."""
    match node:
        case ast.If() | ast.While():
            return [node.test]
        case ast.For() | ast.AsyncFor():
            return [node.target, node.iter]
        case ast.With() | ast.AsyncWith():
            return list(node.items)
        case ast.FunctionDef() | ast.AsyncFunctionDef():
            return [*node.decorator_list, *node.args.defaults,
                    *(d for d in node.args.kw_defaults if d is not None)]
        case ast.ClassDef():
            return [*node.decorator_list, *node.bases, *node.keywords]
        case ast.Try():
            return []
        case ast.ExceptHandler():
            return [node.type] if node.type is not None else []
        case ast.Match():
            return [node.subject]
        case ast.match_case():
            return [node.pattern, *([node.guard] if node.guard is not None else [])]
    return [node]


def _loads(node: ast.AST) -> Iterator[str | None]:
    """Names, attributes and string constants ``node`` reads, except the target of its own
    update (``n += 1``, ``n = n + 1``) and the receiver of an adding method call
    (``log.append(x)``): those write the value without reading it into the program."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1 \
            and isinstance(node.value, ast.BinOp) and _same(node.targets[0], node.value.left):
        yield from _inside(node.targets[0])
        yield from _loads(node.value.right)
        return
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
            and isinstance(node.value.func, ast.Attribute) \
            and node.value.func.attr in _MUTATORS and _target(node.value.func.value):
        yield from _inside(node.value.func.value)
        for arg in (*node.value.args, *(k.value for k in node.value.keywords)):
            yield from _loads(arg)
        return
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        yield node.id
    elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
        yield node.attr
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    for child in ast.iter_child_nodes(node):
        yield from _loads(child)


def _target(node: ast.AST) -> bool:
    return isinstance(node, (ast.Name, ast.Attribute)) or (
        isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant))


def _same(a: ast.AST, b: ast.AST) -> bool:
    return _target(a) and ast.dump(a, annotate_fields=False).replace("Store()", "Load()") == \
        ast.dump(b, annotate_fields=False)


def _inside(node: ast.AST) -> Iterator[str | None]:
    """What evaluating a target's object (not the target itself) reads: ``stats`` in
    ``stats.attempts``."""
    if isinstance(node, ast.Attribute | ast.Subscript):
        yield from _loads(node.value)
