"""The ``dfs`` engine in several processes: the first run's subtrees divided among workers.

Every worker runs the same first schedule (the default policy's), then keeps every ``n``-th of
the alternatives that run passes, round robin, and explores those subtrees level by level as the
one-process search does, with its own state cache. So the workers' subtrees together are the
whole tree; a state reached in two subtrees may be explored twice (the caches are not shared),
which costs time but never soundness.

With a checkpoint, each worker saves its share to its own file (``FILE.1-of-2``, ...), even when
done, and the files go once the whole search is: a resumed search needs the same worker count.
A SIGINT or SIGTERM to the parent makes every worker save after its run in progress and stop.

The first failure is still preemption-minimal. A worker that finds one at cost K lowers a shared
bound to K; every worker stops once its level passes the bound, but finishes level K, so the
result does not depend on which worker got there first: it is the failure with the lowest
``(cost, worker)``, each worker's first being fixed by its own deterministic search. A proof
("no failure with at most K preemptions") holds when every worker has finished level K.
"""

from __future__ import annotations

import contextlib
import signal
from typing import Any

from schedfuzz.budget import Budget
from schedfuzz.execute import run
from schedfuzz.processes import context, find_again, gather, importable, raise_failure
from schedfuzz.scenario import ScenarioInfo
from schedfuzz.search.checkpoint import (
    log_saves_to_stderr,
    logs_saves,
    remove,
    stop_signals,
    worker_path,
)
from schedfuzz.search.dfs import DfsSearch
from schedfuzz.settings import Settings
from schedfuzz.verdict import Report, conclude

__all__ = ["parallel_search"]

UNBOUNDED = 1 << 62


def _worker(spec: tuple[str, str, dict[str, Any], Settings, Budget, int, int, bool],
            stop: Any, halt: Any, results: Any) -> None:
    """Body of one worker process: its share of the search, summed up in plain values."""
    name, ref, params, settings, budget, worker, workers, log_saves = spec
    if budget.checkpoint is not None:
        # A Ctrl-C in the terminal reaches every process of the group: the parent handles it
        # (it sets ``halt``, and each worker saves after its run in progress and stops).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        info = find_again(name, ref)
        search = DfsSearch(info, params, settings, budget,
                           max_preemptions=budget.max_preemptions,
                           partition=(worker, workers), stop=stop, halt=halt)
        # The parent prints its saves: so does each worker, to the same stderr.
        with log_saves_to_stderr() if log_saves else contextlib.nullcontext():
            report = search.explore()
        outcome = report.outcome
        summary: dict[str, Any] = {
            "stopped_by_budget": search.stopped_by_budget,
            "schedule": None if outcome is None else outcome.schedule,
            "cost": report.stats.get("min_preemptions"),  # None: not proved minimal
            "note": report.note,
            "stats": report.stats,
            "proof": report.proof,
            "livelocks_checked": report.livelocks_checked,
            "inexact": report.inexact,
            "stopped_by": report.stopped_by,
            "schedules": report.schedules,
            "first_failure": report.first_failure,
            "resumed_seconds": report.resumed_seconds,
        }
    except BaseException as exc:  # report, never hang the parent
        summary = {"error": f"{type(exc).__name__}: {exc}"}
    results.put((worker, summary))


def _collect(procs: list[Any], results: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = gather(procs, results, "dfs worker")
    errors = [s["error"] for s in out if "error" in s]
    if errors:
        raise_failure(errors[0], "a dfs worker")
    return out


def parallel_search(info: ScenarioInfo, params: dict[str, Any], settings: Settings,
                    budget: Budget) -> Report:
    """``budget.workers`` processes share one preemption-bounded search (see the module)."""
    workers = int(budget.workers)
    if not importable(info):
        report = DfsSearch(info, params, settings, budget,
                           max_preemptions=budget.max_preemptions).explore()
        report.note = ("ran in one process: worker processes need a scenario they can import "
                       "(a registered name or a module-level function). " + report.note)
        report.stats["workers"] = 1
        return report
    ctx = context()
    stop = ctx.Value("q", UNBOUNDED)
    halt = ctx.Value("b", 0)
    results = ctx.Queue()
    share = max(1, int(budget.max_schedules) // workers)
    path = budget.checkpoint
    procs = []
    for w in range(workers):
        each = Budget(max_schedules=share, seconds=budget.seconds, seed=budget.seed,
                      shrink_seconds=budget.shrink_seconds,
                      max_preemptions=budget.max_preemptions,
                      checkpoint=None if path is None else worker_path(path, w, workers),
                      checkpoint_every=budget.checkpoint_every, deadline=budget.deadline,
                      search_seconds=budget.search_seconds)
        spec = (info.name, info.ref, params, settings, each, w, workers, logs_saves())
        proc = ctx.Process(target=_worker, args=(spec, stop, halt, results), daemon=True)
        proc.start()
        procs.append(proc)
    asked: list[str] = []

    def ask(signal_name: str) -> None:
        asked.append(signal_name)
        halt.value = 1

    with stop_signals(ask) if path is not None else contextlib.nullcontext():
        parts = _collect(procs, results)
    report = _combine(info, params, settings, parts, workers)
    report.stats["max_preemptions"] = budget.max_preemptions
    if path is not None:
        _checkpoints(report, parts, path, workers, asked[0] if asked else "")
    return report


def _checkpoints(report: Report, parts: list[dict[str, Any]], path: str, workers: int,
                 signal_name: str) -> None:
    """Every worker saved its share; keep the files while the search is unfinished (some
    worker stopped by the budget, and no failure found), else remove them all."""
    files = f"{worker_path(path, 0, workers)} to {worker_path(path, workers - 1, workers)}"
    resumed = sum(p["stats"].get("resumed_runs", 0) for p in parts)
    notes = [f"resumed from {files} ({resumed} runs before)"] if resumed else []
    notes.append(report.note)
    if report.outcome is None and any(p["stopped_by_budget"] for p in parts):
        why = f"stopped by {signal_name}" if signal_name else "unfinished"
        notes.append(f"{why}: saved in {files}, run again to go on")
    else:
        for w in range(workers):
            remove(worker_path(path, w, workers))
    report.note = "; ".join(notes)


def _combine(info: ScenarioInfo, params: dict[str, Any], settings: Settings,
             parts: list[dict[str, Any]], workers: int) -> Report:
    report = Report(info, dict(params), "dfs")
    report.schedules = sum(p["schedules"] for p in parts)
    # The workers ran side by side: the search so far took as long as the longest of them.
    report.resumed_seconds = max(p["resumed_seconds"] for p in parts)
    states = sum(p["stats"].get("states", 0) for p in parts)
    stateful = any(p["stats"].get("stateful") for p in parts)
    report.stats = {"workers": workers, "runs": report.schedules, "states": states,
                    "stateful": stateful}
    failed = [(p["cost"], w, p) for w, p in enumerate(parts) if p["schedule"] is not None]
    cleared = [p["stats"].get("verified_preemptions", -1) for p in parts if p["schedule"] is None]
    where = f"{workers} workers, {report.schedules} runs" + (
        f", {states} states summed over the workers" if stateful else "")
    if failed:
        cost, _, part = min(failed, key=lambda f: (f[0] if f[0] is not None else UNBOUNDED,
                                                    f[1]))
        outcome = run(info, schedule=part["schedule"], settings=settings, **params)
        report.outcome = outcome
        report.verdict = outcome.kind
        report.first_failure = part["first_failure"]
        proved = cost is not None and all(v >= cost - 1 for v in cleared)
        if proved:
            report.stats["min_preemptions"] = cost
        report.note = part["note"] + f" ({where})" + (
            "" if proved else "; a worker stopped early, so cheaper ones are not ruled out")
        conclude(report, "none", "failure", inexact=[w for p in parts for w in p["inexact"]])
        return report
    verified = min(cleared) if cleared else -1
    report.stats["verified_preemptions"] = verified
    # Each worker's graph holds every state of its subtrees, so its livelock check covers
    # them; the whole search covers livelocks when every worker's does.
    checked = all(p["livelocks_checked"] for p in parts)
    inexact = [what for p in parts for what in p["inexact"]]
    # Why the search ended: a budget that stopped some worker, else how the first one ended.
    budgets = [p["stopped_by"] for p in parts
               if p["stopped_by"] in ("max_schedules", "seconds", "interrupted")]
    stopped = budgets[0] if budgets else parts[0]["stopped_by"]
    if all(p["proof"] == "complete" for p in parts):
        conclude(report, "complete", stopped, livelocks_checked=True, inexact=inexact)
        report.note = (f"verified: the whole space explored, no failure and no livelock "
                       f"({where})")
    elif verified >= 0:
        conclude(report, "bounded", stopped, bound=verified, livelocks_checked=checked,
                 inexact=inexact)
        noun = "preemption" if verified == 1 else "preemptions"
        report.note = (f"verified: no failure with at most {verified} {noun} and no livelock "
                       f"within that bound ({where})" if checked else
                       f"verified: no failure with at most {verified} {noun} ({where}); "
                       "livelocks not checked" + (
                           f": the state holds values it cannot compare ({'; '.join(inexact)})"
                           if inexact else ""))
    else:
        conclude(report, "none", stopped, inexact=inexact)
        report.note = f"not verified: the budget ran out at 0 preemptions ({where})"
    return report
