"""Exploration: run many schedules of a scenario under one engine, shrink the first failure.

Every engine (``hypothesis``, ``random``, ``pct``, ``dfs``) is a function with one signature,
registered by name, and returns a ``Report``. ``explore`` resolves the scenario, checks the
parameters and dispatches. The CLI, the pytest plugin and the scenario tables all go through here,
so the same budget, the same report and the same JSON come out of every engine.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

import attrs

from schedfuzz.errors import InvalidArgument
from schedfuzz.execute import Outcome
from schedfuzz.scenario import ScenarioInfo, resolve
from schedfuzz.settings import Settings

__all__ = ["ENGINES", "PROGRESS", "Budget", "Report", "explore", "register_engine"]


def _check_budget(instance: Budget, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None and attribute.name in ("seconds", "max_preemptions"):
        return
    if attribute.name == "checkpoint":
        if value is not None and not isinstance(value, str):
            msg = f"Budget.checkpoint must be a file path (str) or None, got {value!r}"
            raise InvalidArgument(msg)
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        msg = f"Budget.{attribute.name} must be a non-negative number, got {value!r}"
        raise InvalidArgument(msg)
    if value < 1 and attribute.name in ("max_schedules", "workers"):
        msg = f"Budget.{attribute.name} must be at least 1, got {value!r}"
        raise InvalidArgument(msg)


@attrs.frozen
class Budget:
    """How much exploring to do. The first limit reached stops the search.

    Attributes:
        max_schedules: schedules to run at most.
        seconds: wall-clock limit for the search (shrinking has its own limit), or None.
        seed: seeds every random choice of the engine; the same seed, the same search.
        shrink_seconds: wall-clock limit for shrinking a failure.
        workers: processes to use (engines that support it).
        max_preemptions: for the ``dfs`` engine, the last level to explore: the search stops
            once every schedule with at most this many preemptions has run (a proof of that
            bound), or None to go on until another limit stops it.
        checkpoint: for the ``dfs`` engine, a file that holds the unfinished search (with
            several workers, one file each: ``FILE.1-of-N``, ...): resumed from if it exists,
            written every ``checkpoint_every`` seconds and when the budget runs out, removed
            when the search finishes (``schedfuzz.engines.dfs_checkpoint``).
        checkpoint_every: seconds between two saves of the checkpoint (more when a save
            takes more than a twentieth of that).
    """

    max_schedules: int = attrs.field(default=1000, validator=_check_budget)
    seconds: float | None = attrs.field(default=None, validator=_check_budget)
    seed: int = attrs.field(default=0, validator=_check_budget)
    shrink_seconds: float = attrs.field(default=30.0, validator=_check_budget)
    workers: int = attrs.field(default=1, validator=_check_budget)
    max_preemptions: int | None = attrs.field(default=None, validator=_check_budget)
    checkpoint: str | None = attrs.field(default=None, validator=_check_budget)
    checkpoint_every: float = attrs.field(default=60.0, validator=_check_budget)


@attrs.define(eq=False)
class Report:
    """What an exploration found.

    Attributes:
        verdict: ``"ok"`` or the verdict kind of the failure found.
        schedules: schedules run by the search (not counting shrinking).
        seconds: wall-clock time of the whole exploration, shrinking included; for a search
            resumed from a checkpoint, the earlier sessions' time too (``resumed_seconds``),
            as ``schedules`` counts their runs.
        outcome: the (shrunk) failing run, or None.
        first_failure: ``(schedules, seconds)`` at which the first failure was seen.
        note: extra facts, e.g. ``"verified: no failure with at most 2 preemptions"``.
        complete: the engine explored the whole space it was asked to (a proof, not a sample).
        resumed_seconds: the part of ``seconds`` spent before the search was last resumed.
    """

    scenario: ScenarioInfo
    params: dict[str, Any]
    engine: str
    verdict: str = "ok"
    schedules: int = 0
    seconds: float = 0.0
    outcome: Outcome | None = None
    first_failure: tuple[int, float] | None = None
    note: str = ""
    complete: bool = False
    resumed_seconds: float = 0.0
    stats: dict[str, Any] = attrs.field(factory=dict)

    @property
    def failed(self) -> bool:
        return self.outcome is not None and self.outcome.failed

    def to_json(self) -> dict[str, Any]:
        out = self.outcome.result if self.outcome is not None else None
        first = self.first_failure
        rate = round(self.schedules / self.seconds, 1) if self.seconds else None
        return {
            "scenario": self.scenario.name,
            "params": dict(self.params.items()),
            "engine": self.engine,
            "verdict": self.verdict,
            "expected": self.scenario.expect,
            "schedules": self.schedules,
            "seconds": round(self.seconds, 3),
            "schedules_per_second": rate,
            "first_failure_schedules": first[0] if first else None,
            "first_failure_seconds": round(first[1], 3) if first else None,
            "preemptions": out.preemptions if out is not None else None,
            "steps": out.steps if out is not None else None,
            "schedule": self.outcome.schedule.encode() if self.outcome is not None else None,
            "complete": self.complete,
            "note": self.note,
            **({"stats": self.stats} if self.stats else {}),
        }


# What the running search has done so far, for a progress display in another thread (the CLI's
# ticker): engines set a few counts (``schedules``, ``level``, ``states``) as they go, cheaply;
# ``explore`` clears it when a search starts. Only the process's own search shows here.
PROGRESS: dict[str, int] = {}

EngineFn = Callable[[ScenarioInfo, dict[str, Any], Settings, Budget], Report]
ENGINES: dict[str, EngineFn] = {}
# Engines living in other modules, imported on first use so `import schedfuzz` stays cheap.
_LAZY = {
    "hypothesis": "schedfuzz.hypothesis_engine",
    "random": "schedfuzz.engines.random_walk",
    "pct": "schedfuzz.engines.pct",
    "dfs": "schedfuzz.engines.dfs",
}


# Engines that split their search among ``Budget.workers`` processes (the lazy ones named here,
# so that the check needs no import).
PARALLEL: set[str] = {"random", "pct", "dfs"}


def register_engine(name: str, *, parallel: bool = False) -> Callable[[EngineFn], EngineFn]:
    """Register an engine function under ``name``; ``parallel`` if it uses ``Budget.workers``."""

    def register(fn: EngineFn) -> EngineFn:
        ENGINES[name] = fn
        if parallel:
            PARALLEL.add(name)
        return fn

    return register


def engine(name: str) -> EngineFn:
    if name not in ENGINES and name in _LAZY:
        importlib.import_module(_LAZY[name])
    try:
        return ENGINES[name]
    except KeyError:
        known = ", ".join(sorted(set(ENGINES) | set(_LAZY)))
        msg = f"unknown engine {name!r}; use one of {known}"
        raise InvalidArgument(msg) from None


def explore(scenario: str | Callable[..., Any] | ScenarioInfo, *, engine_name: str = "hypothesis",
            budget: Budget | None = None, settings: Settings | None = None,
            **params: Any) -> Report:
    """Search the schedules of ``scenario`` with one engine and shrink the first failure.

    Example::

        report = explore("demo.abba", engine_name="random", budget=Budget(max_schedules=500))
        if report.failed:
            print(schedfuzz.explain(report.outcome))
    """
    info = resolve(scenario)
    info.check_params(params)
    fn = engine(engine_name)
    budget = budget or Budget()
    if budget.workers > 1 and engine_name not in PARALLEL:
        splits = ", ".join(sorted(PARALLEL)) or "none"
        msg = (f"Budget.workers={budget.workers}: the {engine_name} engine runs in one process "
               f"(engines that split among workers: {splits})")
        raise InvalidArgument(msg)
    started = time.perf_counter()
    PROGRESS.clear()
    report = fn(info, params, settings or info.settings or Settings(), budget)
    report.seconds = report.resumed_seconds + time.perf_counter() - started
    return report
