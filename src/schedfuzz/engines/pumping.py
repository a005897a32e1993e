"""The search step after a search: pump the cycles of its longest runs for a livelock whose data
grows (``schedfuzz.livelock.pump`` says how a cycle is pumped and what makes it a verdict).

Every sampling engine keeps its ``KEEP`` longest runs without a verdict (``Longest``) and calls
``after_search`` when it found no failure, or ``after_step_bound`` when it found only a
``StepBound``; both are bounded by runs (``MAX_PUMPS``), not time.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import attrs

from schedfuzz._core.runner import Runner
from schedfuzz.errors import ReplayDiverged
from schedfuzz.execute import Outcome, run
from schedfuzz.livelock.pump import MAX_PUMPS, Longest, Watch, pump_cycle, simplest
from schedfuzz.scenario import ScenarioInfo
from schedfuzz.schedule import Schedule
from schedfuzz.settings import Settings
from schedfuzz.verdict import Report, conclude

__all__ = ["after_search", "after_step_bound", "search"]


def search(info: ScenarioInfo, params: dict[str, Any], settings: Settings, runs: Longest, *,
           deadline: float | None = None) -> tuple[Outcome | None, int]:
    """Look for a pumped livelock in the kept runs; the outcome (or None) and the runs spent.

    At most ``MAX_PUMPS`` candidate cycles are pumped, and none once ``deadline``
    (``time.perf_counter()``) has passed.
    """
    spent = pumps = 0
    if not settings.detect_livelock:
        return None, spent
    tried: set[Schedule] = set()
    quiet = attrs.evolve(settings, detect_livelock=False)
    for _, decisions in runs.runs:
        if pumps >= MAX_PUMPS or (deadline is not None and time.perf_counter() >= deadline):
            break
        watch = Watch(decisions)
        try:  # a run that passed passes again: no lasso detector needed
            result = Runner(info.fn, params, watch, quiet).run()
        except ReplayDiverged:
            continue
        spent += 1
        for window in simplest(result, watch.points):
            schedule = Schedule(result.decisions[:window.d_end], window.d_first)
            if schedule in tried or pumps >= MAX_PUMPS:
                continue
            tried.add(schedule)
            pumps += 1
            spent += 1
            pumped, exact = pump_cycle(info, params, settings, schedule, None)
            if pumped is not None:
                return Outcome(info, dict(params), pumped, schedule, settings), spent
            if exact:  # the detector proves it on a plain replay
                spent += 1
                outcome = run(info, schedule=schedule, settings=settings, **params)
                if outcome.kind == "livelock":
                    return outcome, spent
    return None, spent


def after_search(report: Report, settings: Settings, runs: Longest, *,
                 deadline: float | None = None, inexact: Iterable[str] = ()) -> bool:
    """The step every engine takes after a search that found no failure: pump the cycles of
    its longest runs; on a livelock, make it the report's outcome and return True."""
    outcome, spent = search(report.scenario, report.params, settings, runs, deadline=deadline)
    if spent:
        report.stats["pump_runs"] = spent
    if outcome is None:
        return False
    report.outcome = outcome
    report.verdict = outcome.kind
    conclude(report, "none", "failure", inexact=inexact)
    report.note = (f"no failure in {report.schedules} schedules; pumping the cycles of the "
                   f"longest runs ({spent} runs) found {_what(outcome)}")
    return True


def after_step_bound(report: Report, settings: Settings, runs: Longest, *,
                     deadline: float | None = None, inexact: Iterable[str] = ()) -> bool:
    """For a search whose failure is a ``StepBound``: pump the cycles of that run first (a
    schedule that kept a back-off going until ``max_steps``), then of the longest runs; on a
    livelock, make it the report's outcome and return True.

    Only if the default policy's own run finishes: a loop that the fair default policy alone
    keeps going (``for _ in range(100_000)``, in one actor or several) needs no scheduling
    decision, and its verdict is the run's own ``StepBound``, never a livelock.
    """
    outcome = report.outcome
    if outcome is None or outcome.kind != "step_bound" or not settings.detect_livelock:
        return False
    quiet = attrs.evolve(settings, detect_livelock=False)
    if Runner(report.scenario.fn, report.params, None, quiet).run().kind == "step_bound":
        report.stats["pump_runs"] = 1
        return False
    first = Longest()
    first.offer(outcome.result)
    first.merge(runs)  # the step bound's run has the most steps: it is pumped first
    found, spent = search(report.scenario, report.params, settings, first, deadline=deadline)
    if spent:
        report.stats["pump_runs"] = spent
    if found is None:
        return False
    report.outcome = found
    report.verdict = found.kind
    conclude(report, "none", "failure", inexact=inexact)
    report.note = (f"{report.note}; pumping the cycle of that step bound ({spent} runs) found "
                   f"{_what(found)}")
    return True


def _what(outcome: Outcome) -> str:
    details = getattr(outcome.error, "details", {})
    return ("a proved lasso" if outcome.livelock_proved else
            "a livelock proved modulo write-only values" if details.get("write_only") else
            "a livelock candidate (unproved)")
