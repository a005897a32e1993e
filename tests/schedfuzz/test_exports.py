"""The public API is the re-export list, and the seams between modules hold."""

from __future__ import annotations

import ast
from pathlib import Path

import schedfuzz

SRC = Path(__file__).resolve().parents[2] / "src"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def test_all_is_sorted_and_names_exactly_the_public_objects() -> None:
    assert schedfuzz.__all__ == sorted(schedfuzz.__all__)
    public = {name for name in vars(schedfuzz) if not name.startswith("_")}
    submodules = {name for name in public if isinstance(getattr(schedfuzz, name), type(schedfuzz))}
    assert set(schedfuzz.__all__) == public - submodules
    for name in schedfuzz.__all__:
        assert getattr(schedfuzz, name) is not None


def test_core_imports_no_hypothesis_no_pytest_and_nothing_above_it() -> None:
    allowed_internal = ("schedfuzz._core", "schedfuzz.errors", "schedfuzz.settings")
    for path in modules("schedfuzz/_core"):
        for name in imports_of(path):
            assert not name.startswith(("hypothesis", "pytest")), (path.name, name)
            if name.startswith("schedfuzz"):
                assert name.startswith(allowed_internal), (path.name, name)


def test_only_the_search_modules_import_hypothesis_and_only_the_plugin_imports_pytest() -> None:
    for path in modules("schedfuzz"):
        names = imports_of(path)
        if any(n.startswith("hypothesis") for n in names):
            assert path.name in {"strategies.py", "fuzz.py", "hypothesis.py"} \
                or "engines" in path.parts, path
        if any(n == "pytest" or n.startswith("pytest.") for n in names):
            assert path.name == "pytest_plugin.py", path


def test_only_runner_actor_and_traps_import_greenlet() -> None:
    for path in modules("schedfuzz"):
        if any(n.startswith("greenlet") for n in imports_of(path)):
            assert path.name in {"runner.py", "actor.py", "traps.py"}, path


def test_thpmodel_uses_only_the_public_schedfuzz_api() -> None:
    for path in modules("thpmodel"):
        for name in imports_of(path):
            assert not name.startswith("schedfuzz._core"), (path.name, name)


def test_schedfuzz_never_imports_thpmodel() -> None:
    for path in modules("schedfuzz"):
        assert not any(n.startswith("thpmodel") for n in imports_of(path)), path


def test_every_module_has_a_docstring() -> None:
    for package in ("schedfuzz", "thpmodel"):
        for path in modules(package):
            text = path.read_text()
            if path.name != "__init__.py" or text.strip():
                assert ast.get_docstring(ast.parse(text)), path
    # Modules are cut by concept, not by length: functions are what ``test_layers`` caps.
