"""The engines: strategies that pick which schedules to run, and the one registry of them.

An engine is a function ``(scenario, params, settings, budget) -> Report`` in a module of its
own, decorated with ``register_engine``; ``MODULES`` names that module, so ``explore`` imports
an engine on first use and importing schedfuzz costs nothing for engines nobody asks for. Adding
an engine is its module plus one line in ``MODULES``.

* ``hypothesis`` (``hypothesis.py``): Hypothesis draws schedule plans and shrinks them.
* ``random`` (``random_walk.py``): schedule ``i`` is a random walk seeded from ``(seed, i)``.
* ``pct`` (``pct.py``): probabilistic concurrency testing with priority change points, fair.
* ``dfs`` (``dfs.py``): the exhaustive search of ``schedfuzz.search``, on one process or several.

The sampling engines share ``sampling.py`` (the loop over schedule indices, splitting among
processes) and hand a failure to ``schedfuzz.reduce``; ``pumping.py`` is the search step after
a search that pumps growing-data livelocks (``schedfuzz.livelock``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from schedfuzz.errors import InvalidArgument

if TYPE_CHECKING:
    from schedfuzz.budget import Budget
    from schedfuzz.scenario import ScenarioInfo
    from schedfuzz.settings import Settings
    from schedfuzz.verdict import Report

__all__ = ["ENGINES", "MODULES", "Engine", "EngineFn", "engine", "names", "register_engine"]

EngineFn = Callable[["ScenarioInfo", dict[str, Any], "Settings", "Budget"], "Report"]

# The registration lines: engine name -> the module that defines it.
MODULES = {
    "hypothesis": "schedfuzz.engines.hypothesis",
    "random": "schedfuzz.engines.random_walk",
    "pct": "schedfuzz.engines.pct",
    "dfs": "schedfuzz.engines.dfs",
}


@attrs.frozen
class Engine:
    """A registered engine: its function, and whether it splits among ``Budget.workers``."""

    name: str
    fn: EngineFn
    parallel: bool = False


ENGINES: dict[str, Engine] = {}


def register_engine(name: str, *, parallel: bool = False) -> Callable[[EngineFn], EngineFn]:
    """Register an engine function under ``name``; ``parallel`` if it uses ``Budget.workers``."""

    def register(fn: EngineFn) -> EngineFn:
        ENGINES[name] = Engine(name, fn, parallel)
        return fn

    return register


def names() -> list[str]:
    """Every engine name ``engine`` accepts, without importing any engine."""
    return sorted(set(ENGINES) | set(MODULES))


def engine(name: str) -> Engine:
    """The engine called ``name``, imported on first use; ``InvalidArgument`` if unknown."""
    if name not in ENGINES and name in MODULES:
        importlib.import_module(MODULES[name])
    try:
        return ENGINES[name]
    except KeyError:
        msg = f"unknown engine {name!r}; use one of {', '.join(names())}"
        raise InvalidArgument(msg) from None
