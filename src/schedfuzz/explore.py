"""Exploration: run many schedules of a scenario under one engine, shrink the first failure.

Every engine (``hypothesis``, ``random``, ``pct``, ``dfs``) is a function with one signature,
registered by name (``schedfuzz.engines``), and returns a ``Report``. ``explore`` resolves the
scenario, checks the parameters and dispatches. The CLI, the pytest plugin and the scenario
tables all go through here, so the same budget, the same report and the same JSON come out of
every engine. ``Budget`` and ``Report`` live in ``schedfuzz.budget`` and ``schedfuzz.verdict``;
they are named here too, where a user looks for them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs

from schedfuzz._core import clock
from schedfuzz.budget import DEFAULT_MAX_SCHEDULES, PROGRESS, UNLIMITED, Budget
from schedfuzz.engines import ENGINES, engine, names, register_engine
from schedfuzz.errors import InvalidArgument
from schedfuzz.scenario import ScenarioInfo, resolve
from schedfuzz.settings import Settings
from schedfuzz.verdict import PROOFS, Report, conclude, met_inexact

__all__ = ["DEFAULT_MAX_SCHEDULES", "ENGINES", "PROGRESS", "PROOFS", "UNLIMITED", "Budget",
           "Report", "conclude", "engine", "explore", "met_inexact", "register_engine"]


def explore(scenario: str | Callable[..., Any] | ScenarioInfo, *, engine_name: str = "hypothesis",
            budget: Budget | None = None, settings: Settings | None = None,
            **params: Any) -> Report:
    """Search the schedules of ``scenario`` with one engine and shrink the first failure.

    ``budget.seconds`` bounds all of it, shrinking included (``Budget``).

    Example::

        report = explore("demo.abba", engine_name="random", budget=Budget(max_schedules=500))
        if report.failed:
            print(schedfuzz.explain(report.outcome))
    """
    info = resolve(scenario)
    info.check_params(params)
    chosen = engine(engine_name)
    budget = budget or Budget()
    if budget.workers > 1 and not chosen.parallel:
        splits = ", ".join(n for n in names() if engine(n).parallel) or "none"
        msg = (f"Budget.workers={budget.workers}: the {engine_name} engine runs in one process "
               f"(engines that split among workers: {splits})")
        raise InvalidArgument(msg)
    started = time.perf_counter()
    if budget.seconds is not None and budget.deadline is None:
        # One deadline for the search, its shrinking and its worker processes.
        budget = attrs.evolve(budget, deadline=clock.now() + budget.seconds)
    PROGRESS.clear()
    report = chosen.fn(info, params, settings or info.settings or Settings(), budget)
    report.seconds = report.resumed_seconds + time.perf_counter() - started
    return report
