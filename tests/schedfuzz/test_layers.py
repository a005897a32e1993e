"""The package's shape: layers that only import downwards, no import cycle, short functions.

Each top-level module or subpackage of ``schedfuzz`` sits on one layer of ``LAYERS``. A module may
import (at module level or inside a function) only from its own layer or one below; imports
under ``if TYPE_CHECKING:`` are exempt (they never run). Within that, no two modules import each
other, directly or round a cycle. A new module must be given a layer here, which is the point:
its place is decided, not drifted into.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "schedfuzz"

# Bottom first. Each name is a module (``execute`` for execute.py) or a subpackage.
LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    ("settings", "schedule"),
    ("_core",),  # the engine: runner, traps, oracles, fingerprints
    ("scenario", "sync", "atomics", "plans", "strategies"),  # what scenarios are written with
    ("_threads", "livelock", "processes"),
    ("execute",),  # one run, its outcome and replay line
    ("budget", "verdict"),
    ("corpus", "search"),  # saved reproducers; the exhaustive search
    ("reduce",),  # shrinking a failure, proving its fewest preemptions
    ("fuzz",),  # @fuzz: Hypothesis over schedules inside a test
    ("engines",),  # strategies that pick schedules, and their registry
    ("explore",),
    ("threads", "pytest_plugin", "cli", "examples", "__init__", "__main__"),
]
LAYER = {unit: i for i, units in enumerate(LAYERS) for unit in units}

# Functions longer than ``MAX_FUNCTION_LINES``, each with the reason it stays whole.
LONG_FUNCTIONS = {
    ("_core/runner.py", "_loop"): "the scheduler's hot path, kept inline in one frame with its "
                                  "state in locals (bench key step_overhead_ratio); the rare "
                                  "paths are methods",
}
MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _unit(module: str) -> str:
    """The layer unit of ``schedfuzz.x.y`` (``x``); ``__init__`` for the package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _resolve(name: str) -> str | None:
    """The schedfuzz module an imported name lives in (a module, or the package it is in)."""
    if not name.startswith("schedfuzz"):
        return None
    while name:
        path = SRC / name.replace(".", "/")
        if path.with_suffix(".py").exists() or (path / "__init__.py").exists():
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(path: Path, text: str | None = None) -> Iterator[tuple[str, int]]:
    """(module imported, line) for every import that runs, at any depth of the file (of
    ``text`` as if it were that file, if given)."""
    package = _module_name(path) if path.name == "__init__.py" else \
        _module_name(path).rpartition(".")[0]

    def visit(node: ast.AST) -> Iterator[tuple[str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                yield from (item for branch in child.orelse for item in visit(branch))
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    prefix = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*prefix, base] if base else prefix)
                for alias in child.names:
                    yield f"{base}.{alias.name}", child.lineno
            yield from visit(child)

    yield from visit(ast.parse(path.read_text() if text is None else text))


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        targets = graph.setdefault(name, set())
        for imported, _ in _imports(path):
            target = _resolve(imported)
            if target is not None and target != name:
                targets.add(target)
    return graph


def test_every_module_is_on_a_layer() -> None:
    units = {_unit(_module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert units <= set(LAYER), f"give these a layer in LAYERS: {sorted(units - set(LAYER))}"


def test_imports_never_climb_a_layer() -> None:
    climbing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        for imported, line in _imports(path):
            target = _resolve(imported)
            if target is None or (target == "schedfuzz" and name == "schedfuzz"):
                continue
            if LAYER[_unit(target)] > LAYER[_unit(name)]:
                climbing.append(f"{path.relative_to(SRC)}:{line} imports {target}")
    assert not climbing, "\n".join(climbing)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` (module -> modules it imports), first to last, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == "schedfuzz":
                continue  # the package's own __init__ runs first anyway: not an edge
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found is not None:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found is not None:
                return found
    return None


def test_no_import_cycle() -> None:
    cycle = find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_functions_fit_on_a_screen() -> None:
    long = []
    for package in ("schedfuzz", "thpmodel"):
        for path in sorted((SRC / package).rglob("*.py")):
            where = str(path.relative_to(SRC / package))
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = (node.end_lineno or node.lineno) - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES and (where, node.name) not in LONG_FUNCTIONS:
                        long.append(f"{package}/{where}: {node.name} has {lines} lines")
    assert not long, "\n".join(long)


def test_the_checks_see_a_cycle_and_skip_type_only_imports() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    text = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from schedfuzz.engines import pct\n"
        "def f():\n    from schedfuzz.explore import explore\n"
    )
    seen = {name for name, _ in _imports(PACKAGE / "reduce" / "shrink.py", text)}
    assert "schedfuzz.explore.explore" in seen  # inside a function: it runs, so it counts
    assert "schedfuzz.engines.pct" not in seen  # type-only: exempt
    assert LAYER["explore"] > LAYER["reduce"]  # so reduce importing it would climb
