"""The sampling loop shared by the random and PCT engines, serial or split across processes.

A sampling engine is a *sampler*: given the scenario and the seed it makes the oracle of schedule
number ``i``, and that oracle depends on ``(seed, i)`` alone. So schedule ``i`` is the same run in
any process, and a search split across processes finds the same first failure as a serial one:

    serial:     0 1 2 3 4 5 6 7 ...           first failing index wins
    2 workers:  0 . 2 . 4 . 6 . ...  (worker 0)
                . 1 . 3 . 5 . 7 ...  (worker 1)

Each worker scans its own indices in increasing order and publishes its first failing index in a
shared cell; a worker stops once its next index is above the best one published, since it can no
longer win. Only the winner's decisions cross the process boundary; the parent replays them to
rebuild the full ``Outcome`` (trace, verdict) and reduce it (``schedfuzz.reduce.minimal.reduce``).

Each scan also keeps its few longest runs without a verdict (``pump.Longest``). A search that
found nothing, or only a ``StepBound``, hands them to the pumping step (``pump``), which repeats
a fair cycle of the control state a walk went round once or twice: a livelock whose data grows,
which no sampled schedule sustains, is reported there.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from schedfuzz._core import clock
from schedfuzz._core.oracle import Oracle
from schedfuzz._core.runner import Runner
from schedfuzz.budget import PROGRESS, Budget
from schedfuzz.engines import pumping
from schedfuzz.execute import nondeterministic, run
from schedfuzz.livelock import pump
from schedfuzz.processes import context, find_again, gather, importable, raise_failure
from schedfuzz.reduce.minimal import reduce
from schedfuzz.scenario import ScenarioInfo
from schedfuzz.schedule import Schedule
from schedfuzz.settings import Settings
from schedfuzz.verdict import FailureKey, Report, conclude, met_inexact

__all__ = ["Found", "Sampler", "sample"]


class Sampler(Protocol):
    """Makes the oracle of each schedule of one search."""

    def oracle(self, index: int) -> Oracle:
        """The oracle of schedule ``index``: a function of the seed and ``index`` only."""
        ...


# (info, params, settings, seed, **options) -> Sampler. Named by "module:function" so a worker
# process can rebuild the sampler without pickling it.
SamplerFactory = Callable[..., Sampler]


@attrs.define
class Found:
    """The first failure of a scan: enough to replay it in another process."""

    index: int
    decisions: list[int]
    cycle_start: int | None
    key: FailureKey
    seconds: float


@attrs.define
class Scan:
    """What one process's scan did."""

    schedules: int = 0
    found: Found | None = None
    error: str | None = None
    single: bool = False  # a run met no choice point: every schedule is that same run
    timed_out: bool = False  # ``Budget.seconds`` ended the scan
    inexact: list[str] = attrs.field(factory=list)  # uncomparable values the runs met
    longest: pump.Longest = attrs.field(factory=pump.Longest)  # runs to pump after the scan


def _factory(ref: str) -> SamplerFactory:
    module, _, name = ref.partition(":")
    fn: SamplerFactory = getattr(importlib.import_module(module), name)
    return fn


def _scan(info: ScenarioInfo, params: dict[str, Any], settings: Settings, budget: Budget,
          factory: tuple[str, dict[str, Any]], indices: range, best: Any = None) -> Scan:
    """Run the schedules ``indices`` in order until the first failure or a limit."""
    started = time.perf_counter()
    deadline = budget.search_ends_at(clock.now())
    ref, options = factory
    sampler = _factory(ref)(info, params, settings, budget.seed, **options)
    scan = Scan()
    fn = info.fn
    for index in indices:
        if best is not None and index > best.value:
            break  # another worker already failed at a smaller index: this one cannot win
        if deadline is not None and clock.now() >= deadline:
            scan.timed_out = True
            break
        result = Runner(fn, params, sampler.oracle(index), settings).run()
        if result.inexact:  # met by the run loop's lasso check, past ``lasso_after``
            met_inexact(scan.inexact, result.inexact)
        scan.schedules += 1
        PROGRESS["schedules"] = scan.schedules
        if result.error is not None:
            cycle = result.lasso[2] if result.lasso is not None else None
            scan.found = Found(index, result.decisions, cycle, FailureKey.of(result),
                               time.perf_counter() - started)
            if best is not None:
                with best.get_lock():
                    best.value = min(best.value, index)
            break
        if not result.decisions and result.lasso is None:
            scan.single = True
            break
        scan.longest.offer(result)
    return scan


def _worker(spec: tuple[str, str, dict[str, Any], Settings, Budget, tuple[str, dict[str, Any]],
                        range],
            best: Any, results: Any, slot: int) -> None:
    """Body of one worker process: resolve the scenario by name, scan, send the result back."""
    name, ref, params, settings, budget, factory, indices = spec
    try:
        info = find_again(name, ref)
        scan = _scan(info, params, settings, budget, factory, indices, best)
    except BaseException as exc:  # report, never hang the parent
        scan = Scan(error=f"{type(exc).__name__}: {exc}")
    results.put((slot, scan))


def _parallel(info: ScenarioInfo, params: dict[str, Any], settings: Settings, budget: Budget,
              factory: tuple[str, dict[str, Any]]) -> tuple[int, Found | None, Scan]:
    n = int(budget.workers)
    total = int(budget.max_schedules)
    ctx = context()
    best = ctx.Value("q", total)
    results = ctx.Queue()
    procs = []
    for w in range(n):
        spec = (info.name, info.ref, params, settings, budget, factory, range(w, total, n))
        proc = ctx.Process(target=_worker, args=(spec, best, results, w), daemon=True)
        proc.start()
        procs.append(proc)
    scans: list[Scan | None] = gather(procs, results, "worker process")
    errors = [s.error for s in scans if s is not None and s.error]
    if errors:
        raise_failure(errors[0], "a worker process")
    found = [s.found for s in scans if s is not None and s.found is not None]
    schedules = sum(s.schedules for s in scans if s is not None)
    done = [s for s in scans if s is not None]
    summary = Scan(single=any(s.single for s in done), timed_out=any(s.timed_out for s in done))
    for s in done:
        met_inexact(summary.inexact, s.inexact)
    for s in done:
        summary.longest.merge(s.longest)
    return schedules, min(found, key=lambda f: f.index) if found else None, summary


def sample(engine: str, info: ScenarioInfo, params: dict[str, Any], settings: Settings,
           budget: Budget, factory_ref: str, **options: Any) -> Report:
    """Run up to ``budget.max_schedules`` sampled schedules; shrink and report the first failure.

    Args:
        engine: the engine's name, for the report.
        factory_ref: ``"module:function"`` of the ``SamplerFactory``.
        **options: keyword arguments for the factory (plain values: they cross processes).
    """
    factory = (factory_ref, options)
    started = time.perf_counter()
    if budget.deadline is None and budget.seconds is not None:  # called without explore()
        budget = attrs.evolve(budget, deadline=clock.now() + budget.seconds)
    note = ""
    workers = int(budget.workers)
    if workers > 1 and not importable(info):
        note = ("ran in one process: worker processes need a scenario they can import "
                "(a registered name or a module-level function). ")
        workers = 1
    if workers > 1:
        schedules, found, scan = _parallel(info, params, settings, budget, factory)
    else:
        scan = _scan(info, params, settings, budget, factory, range(int(budget.max_schedules)))
        schedules, found = scan.schedules, scan.found
    report = Report(info, dict(params), engine, schedules=schedules,
                    stats={"workers": workers, "seed": budget.seed, **options})
    if found is None and scan.single:
        conclude(report, "complete", "exhausted", livelocks_checked=True, inexact=scan.inexact)
        report.note = note + ("verified: the scenario has a single schedule (a run met no "
                              "choice point) and it does not fail")
        return report
    if found is None and not scan.timed_out and pumping.after_search(
            report, settings, scan.longest, inexact=scan.inexact,
            deadline=None if budget.deadline is None
            else time.perf_counter() + (budget.left() or 0.0)):
        return report
    if found is None:
        conclude(report, "sampled", "seconds" if scan.timed_out else "max_schedules",
                 inexact=scan.inexact)
        report.note = note + (f"no failure in {schedules} sampled schedules "
                              "(a sample, not a proof)")
        return report
    seconds = found.seconds if workers == 1 else time.perf_counter() - started
    report.first_failure = (found.index + 1, seconds)
    outcome = run(info, schedule=Schedule(found.decisions, found.cycle_start),
                  settings=settings, **params)
    if not found.key.shown_by(FailureKey.of(outcome)):
        raise nondeterministic(info, params, f"schedule {found.index} gave {found.key.kind}, "
                                             f"and its replay gave {outcome.kind}",
                               outcome.schedule)
    runs = budget.shrink_runs
    minimal = reduce(outcome, seconds=budget.shrink_time(), max_runs=runs)
    report.outcome = minimal.outcome
    report.verdict = minimal.outcome.kind
    conclude(report, "none", "failure", inexact=scan.inexact)
    report.stats.update(minimal.stats)
    count = minimal.outcome.result.preemptions
    report.note = note + (f"{found.key.kind} at schedule {found.index}; shrunk from "
                          f"{outcome.result.preemptions} to {count} "
                          f"preemption{'' if count == 1 else 's'} in {minimal.runs} replays"
                          + (f"; {minimal.note}" if minimal.note else ""))
    if minimal.outcome.kind == "step_bound":  # a cycle that outran max_steps: pump it
        scan.longest.offer(outcome.result)
        pumping.after_step_bound(report, settings, scan.longest, inexact=scan.inexact)
    return report
