"""Scenarios: the programs schedfuzz runs, and the calls they use to describe themselves.

A scenario is a plain function. Called at the start of a run (outside any actor), it builds the
shared state and spawns actors; it may also declare a state snapshot for livelock fingerprints,
invariants checked after every step and checks run at the end::

    @schedfuzz.scenario("demo.lost-update", expect="failure")
    def lost_update(n: int = 2) -> None:
        box = {"value": 0}
        def incr() -> None:
            value = box["value"]
            schedfuzz.checkpoint("write", value=value + 1)
            box["value"] = value + 1
        for i in range(n):
            schedfuzz.spawn(incr, name=f"inc{i}")
        schedfuzz.at_end(lambda: check(box["value"] == n))

Registered scenarios are found by name (``schedfuzz list``); packages add theirs through the
``schedfuzz.scenarios`` entry-point group, loaded on first lookup. Any ``module:function`` works
too, where the user names it (the command line, ``run``); a corpus file, which is data, may name
only a function that carries the marker ``scenario`` sets (``schedfuzz.corpus.trust``).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
from collections.abc import Callable
from importlib import metadata
from typing import Any, TypeVar

import attrs

from schedfuzz._core.actor import Actor
from schedfuzz._core.traps import current_runner
from schedfuzz.errors import InvalidArgument
from schedfuzz.settings import Settings

__all__ = ["ScenarioInfo", "at_end", "findable_name", "invariant", "registry", "resolve",
           "scenario", "snapshot", "spawn"]

F = TypeVar("F", bound=Callable[..., Any])
VERDICTS = ("ok", "failure", "deadlock", "hang", "missed_wakeup", "livelock", "step_bound")


@attrs.frozen
class ScenarioInfo:
    """A scenario function with its name, expected verdict, parameters and settings."""

    name: str
    fn: Callable[..., Any]
    expect: str | None = None
    description: str = ""
    settings: Settings | None = None

    @property
    def ref(self) -> str:
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    @property
    def params(self) -> dict[str, Any]:
        """Parameter names and defaults, from the function's signature."""
        return dict(_signature(self.fn))

    def check_params(self, params: dict[str, Any]) -> None:
        """Reject a parameter the scenario does not take, or a value of another type than its
        default's (``None`` where the annotation allows it): a wrong value would otherwise
        fail inside the scenario and look like a bug of the program under test."""
        if not params:
            return
        known = _signature(self.fn)
        for key, value in params.items():
            if key not in known:
                msg = (f"scenario {self.name!r} has no parameter {key!r}; it takes "
                       f"{', '.join(known) or 'none'}")
                raise InvalidArgument(msg)
            default = known[key]
            if not _fits(value, default, _optional(self.fn)[key]):
                msg = (f"scenario {self.name!r}: parameter {key} takes "
                       f"{type(default).__name__} values like its default {default!r}"
                       f", got {value!r}")
                raise InvalidArgument(msg)


def _fits(value: Any, default: Any, optional: bool) -> bool:
    """Whether ``value`` may stand where ``default`` is the default."""
    if value is None:
        return default is None or optional
    if default is None:
        return True  # nothing to compare with
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


@functools.lru_cache(maxsize=512)
def _signature(fn: Callable[..., Any]) -> dict[str, Any]:
    # Cached: run() checks parameters on every schedule, and inspect.signature is not cheap.
    sig = inspect.signature(fn)
    return {p.name: (None if p.default is inspect.Parameter.empty else p.default)
            for p in sig.parameters.values()}


@functools.lru_cache(maxsize=512)
def _optional(fn: Callable[..., Any]) -> dict[str, bool]:
    """Per parameter: may it be None? Yes if its annotation says so (``int | None``,
    ``Optional[int]``, ``Any``) or if it has none (nothing tells otherwise)."""
    sig = inspect.signature(fn)
    return {p.name: p.annotation is inspect.Parameter.empty
            or any(word in str(p.annotation) for word in ("None", "Optional", "Any"))
            for p in sig.parameters.values()}


_REGISTRY: dict[str, ScenarioInfo] = {}
_PLUGIN_MODULES: set[str] = set()  # modules loaded through the schedfuzz.scenarios entry points
_loaded = False


def scenario(name: str | None = None, *, expect: str | None = None,
             description: str | None = None, settings: Settings | None = None) -> Callable[[F], F]:
    """Register a scenario function under ``name`` (default: ``module:function``).

    Args:
        name: the stable name used on the command line and in corpus files.
        expect: the verdict the scenario is known to give (``"ok"``, ``"deadlock"``, ...), used
            by scenario tables to flag a mismatch.
        description: one line for ``schedfuzz list``; defaults to the docstring's first line.
        settings: settings this scenario needs (e.g. a larger ``max_steps``).
    """
    if expect is not None and expect not in VERDICTS:
        msg = f"expect={expect!r} is not a verdict; use one of {', '.join(VERDICTS)}"
        raise InvalidArgument(msg)

    def register(fn: F) -> F:
        doc = (fn.__doc__ or "").strip().splitlines()
        info = ScenarioInfo(name or f"{fn.__module__}:{fn.__qualname__}", fn, expect,
                            description or (doc[0] if doc else ""), settings)
        _REGISTRY[info.name] = info
        fn.__schedfuzz_scenario__ = info  # type: ignore[attr-defined]
        return fn

    return register


def _load_entry_points() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for ep in metadata.entry_points(group="schedfuzz.scenarios"):
        try:
            ep.load()
        except (Exception, SystemExit):  # a broken plugin must not take the registry down
            continue
        _PLUGIN_MODULES.add(ep.value.partition(":")[0])


def findable_name(info: ScenarioInfo) -> str:
    """How a fresh process (the command line) can find ``info``: its registered name if an
    installed package registers it, else ``module:function``."""
    _load_entry_points()
    if info.fn.__module__ in _PLUGIN_MODULES and _REGISTRY.get(info.name) is info:
        return info.name
    return info.ref


def registry() -> dict[str, ScenarioInfo]:
    """Every registered scenario, by name, in registration order."""
    _load_entry_points()
    return dict(_REGISTRY)


def resolve(ref: str | Callable[..., Any] | ScenarioInfo) -> ScenarioInfo:
    """Find a scenario by registered name, ``module:function`` or the function itself."""
    if isinstance(ref, ScenarioInfo):
        return ref
    if callable(ref):
        info = getattr(ref, "__schedfuzz_scenario__", None)
        if info is None:
            info = ScenarioInfo(f"{ref.__module__}:{ref.__qualname__}", ref)
            try:  # run as a scenario: a corpus file of this process may name it (corpus.trust)
                ref.__schedfuzz_scenario__ = info  # type: ignore[attr-defined]
            except (AttributeError, TypeError):  # a builtin, a bound method: stays unnamed
                pass
        return info
    if not isinstance(ref, str):
        msg = f"a scenario is a name, 'module:function' or a function, got {ref!r}"
        raise InvalidArgument(msg)
    found = registry().get(ref)
    if found is not None:
        return found
    if ":" not in ref:
        close = difflib.get_close_matches(ref, sorted(_REGISTRY), n=1)
        if close:
            msg = f"unknown scenario {ref!r}; did you mean {close[0]!r}?"
        else:
            names = ", ".join(sorted(_REGISTRY)) or "none"
            msg = f"unknown scenario {ref!r}: not a registered name ({names}) nor module:function"
        raise InvalidArgument(msg)
    module_name, _, attr = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        msg = f"unknown scenario {ref!r}: {exc}"
        raise InvalidArgument(msg) from None
    if not callable(obj):
        msg = f"scenario {ref!r} is not a function"
        raise InvalidArgument(msg)
    return resolve(obj)


def spawn(fn: Callable[..., Any], *args: Any, name: str | None = None, **kwargs: Any) -> Actor:
    """Start an actor running ``fn(*args, **kwargs)``; from a scenario or from another actor.

    The new actor is enabled at once but runs only when the scheduler picks it. Returns its
    handle (``.name``, ``.result``, ``.state``), which ``schedfuzz.sync.signal`` accepts.
    """
    return current_runner().spawn(fn, args, kwargs, name)


def snapshot(fn: Callable[[], Any]) -> None:
    """Declare the shared state the livelock fingerprint must include (anything freezable).

    Include everything that decides what the actors do next, and nothing else: two states
    that differ only in lazily made bookkeeping, or in an order nothing reads, are still two
    states to a stateful search, which then explores the same future twice.
    """
    current_runner().snapshot = fn


def invariant(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Check ``fn()`` after every step; an exception it raises fails the run. Usable as a
    decorator inside a scenario."""
    current_runner().invariants.append(fn)
    return fn


def at_end(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Check ``fn()`` once every actor has finished (a post-condition)."""
    current_runner().finals.append(fn)
    return fn
