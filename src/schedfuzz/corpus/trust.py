"""Which scenario a corpus file may name: only one the user registered, found without running code.

A corpus file is data, like an entry of Hypothesis's example database: whoever wrote it, reading it
must not run anything the user did not ask for. Yet its ``ref`` is ``module:function``, and both
halves can run code: importing a module runs the module, and calling any function with the file's
``params`` (``"os:system"`` with ``{"command": ...}``) runs whatever that function does. So a
file's scenario is looked up by these rules, and anything else is refused before a line of it runs:

1. ``scenario``, the registered name: a function decorated with ``@schedfuzz.scenario``, or one
   that a package registers through the ``schedfuzz.scenarios`` entry points (installed code,
   loaded as ``schedfuzz list`` loads it).
2. ``ref``, the fallback, as ``module:function``, where the *module* is one that is already
   imported, or one the user allowed by name (``schedfuzz replay --allow-import MODULE``, the
   ``schedfuzz_allow_import`` ini option of the pytest plugin; a package allows its submodules),
   and the *function* carries the scenario marker: ``@schedfuzz.scenario`` put it there, or the
   function was run as a scenario in this process. The attribute path is read statically
   (``inspect.getattr_static``), so no ``__getattr__`` or property runs either.
3. a file recorded from a plain threaded function (``schedfuzz explore --threads``, its
   ``threads`` field set) names it by ``ref``: the module must be imported or allowed as in 2,
   the function defined in it (``os:system`` is not), and so must every module it asks for
   line-level points in.

Importing an allowed module still runs that module: any exception it raises, ``SystemExit`` and
``KeyboardInterrupt`` included, becomes the file's error, so a module that ends the interpreter
on import cannot end a replay silently and the next file still runs.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import types
from collections.abc import Iterable
from typing import Any

from schedfuzz.scenario import ScenarioInfo, registry

__all__ = ["MODULE_NAME", "Untrusted", "find_scenario"]

_REF = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", re.ASCII)
MODULE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", re.ASCII)
_MARKER = "__schedfuzz_scenario__"


class Untrusted(Exception):
    """The file names no scenario it may name; ``field`` is ``"scenario"`` or ``"ref"``."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


def find_scenario(name: str, ref: str | None, allow_import: Iterable[str] = (),
                  threads: tuple[str, ...] | None = None) -> ScenarioInfo:
    """The scenario a file names, by registered ``name`` first (names are stable), then ``ref``.

    With ``threads`` (a file recorded from a plain threaded function, ``--threads``), ``ref``
    names that function: the user allowed its module, so it runs as ``MainThread``, with
    line-level points in the ``threads`` modules, each of them imported or allowed too.

    Raises:
        Untrusted: neither names a registered scenario; the problem says why and what to do.
    """
    if threads is not None:
        return _threaded(ref, tuple(allow_import), threads)
    known = _registered()
    if name in known:
        return known[name]
    if ref is None:
        raise Untrusted("scenario", f"{name!r:.80} is not a registered scenario, and the file has "
                                    "no 'ref' to fall back on")
    if ref in known:
        return known[ref]
    try:
        return _by_ref(ref, tuple(allow_import))
    except Untrusted as exc:
        also = "" if name == ref else f"; nor is the name {name!r:.80}"
        raise Untrusted("ref", f"{ref!r:.80} is not a registered scenario ({exc.problem})"
                               f"{also}") from None


def _registered() -> dict[str, ScenarioInfo]:
    try:
        return registry()
    except BaseException as exc:  # a plugin's import ran sys.exit() or worse
        raise Untrusted("scenario", f"loading the schedfuzz.scenarios entry points raised "
                                    f"{_describe(exc)}") from None


def _by_ref(ref: str, allow: tuple[str, ...]) -> ScenarioInfo:
    if not _REF.fullmatch(ref):
        raise Untrusted("ref", "expected 'module:function' in dotted Python names")
    module_name, _, path = ref.partition(":")
    parts = path.split(".")
    if any(p.startswith("__") for p in parts):
        raise Untrusted("ref", "a scenario is never a dunder attribute")
    obj: Any = _module(module_name, allow)
    for part in parts:
        try:
            obj = inspect.getattr_static(obj, part)
        except AttributeError:
            raise Untrusted("ref", f"{module_name} has no attribute {path!r}") from None
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
    info = inspect.getattr_static(obj, _MARKER, None)
    if not isinstance(info, ScenarioInfo):
        raise Untrusted("ref", f"{module_name}.{path} does not carry the @schedfuzz.scenario "
                               "marker")
    return info


def _threaded(ref: str | None, allow: tuple[str, ...], preempt_in: tuple[str, ...]
              ) -> ScenarioInfo:
    """A plain function of an imported or allowed module, defined there (not a builtin, not
    something the module imported from elsewhere, such as ``os.system``)."""
    from schedfuzz._threads.adapt import as_scenario

    if ref is None or not _REF.fullmatch(ref) or "." in ref.partition(":")[2] \
            or ref.partition(":")[2].startswith("__"):
        raise Untrusted("ref", f"{ref!r:.80}: a threaded file names module:function")
    module_name, _, attr = ref.partition(":")
    module = _module(module_name, allow)
    fn = inspect.getattr_static(module, attr, None)
    marked = inspect.getattr_static(fn, _MARKER, None)
    if isinstance(marked, ScenarioInfo) and getattr(marked.fn, "__schedfuzz_threaded__", False):
        fn = getattr(marked.fn, "__wrapped__", None)
    if not isinstance(fn, types.FunctionType) or fn.__module__ != module_name:
        raise Untrusted("ref", f"{ref!r:.80} is not a function defined in {module_name}")
    for name in preempt_in:
        _module(name, allow)
    return as_scenario(fn, preempt_in=preempt_in)


def _module(name: str, allow: tuple[str, ...]) -> Any:
    """The module, if already imported or allowed; importing an allowed one may raise anything."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    if not any(name == a or name.startswith(a + ".") for a in allow):
        raise Untrusted("ref", f"module {name!r} is not imported, and importing it would run it; "
                               f"to allow that, pass --allow-import {name} to schedfuzz replay, "
                               "or list it in the schedfuzz_allow_import ini option")
    try:
        return importlib.import_module(name)
    except BaseException as exc:  # the module's own code: SystemExit must not end the replay
        raise Untrusted("ref", f"importing module {name!r} raised {_describe(exc)}") from None


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text:.200}" if text else type(exc).__name__
