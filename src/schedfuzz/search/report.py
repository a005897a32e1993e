"""The ``dfs`` search's report: what it proved, what it found, or where the budget stopped it.

``DfsSearch`` inherits these from ``DfsReporting``; they read the search's counts and state graph,
set the report's typed proof (``explore.conclude``) and word it in one note: "verified: no
failure with at most K preemptions", "verified: complete state space, N states", a failure at
its (minimal) cost, or a livelock with the cost of its stem and one turn and how far that cost is
proved the least.

What may be claimed (``DfsSearch.proved`` decides, this module words it):

* ``complete``: the levels ran out of work. A stateless search then ran every schedule to its
  end (so none loops forever: no livelock either); a stateful one explored every state, which
  it may claim only if every state was compared by content: a run that met an ``Inexact``
  value leaves a ``bounded`` proof at the last level, with livelocks unchecked.
* ``bounded``: every schedule with at most K preemptions has no failure. That needs no state
  identity. It covers livelocks only when a stateful search looked for fair cycles in its graph
  of exactly compared states: a livelock can need more preemptions than any bound (one per
  round), and a stateless run soon runs out of them and leaves the cycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from schedfuzz.execute import Outcome, run
from schedfuzz.schedule import Schedule
from schedfuzz.verdict import Report, conclude

if TYPE_CHECKING:
    from schedfuzz._core.runner import RunResult
    from schedfuzz.scenario import ScenarioInfo
    from schedfuzz.search.pending import Pending, Ways
    from schedfuzz.search.stategraph import Lasso, StateGraph
    from schedfuzz.settings import Settings

__all__ = ["DfsReporting"]


class DfsReporting:
    """The report-making half of ``DfsSearch``."""

    info: ScenarioInfo
    params: dict[str, Any]
    settings: Settings
    graph: StateGraph
    level: int
    runs: int
    pruned: int
    stateful: bool | None
    ways: Ways
    stack: Pending
    next_level: Pending
    verified: int
    max_preemptions: int | None
    by_deviation: bool
    accept: Callable[[RunResult], bool] | None
    check_livelocks: bool
    inexact: list[str]
    stopped_by: str  # why the search ended (``Report.stopped_by``), set as it ends

    if TYPE_CHECKING:  # defined by ``DfsSearch``
        @property
        def livelocks_checked(self) -> bool: ...

        def proved(self) -> tuple[str, int | None]: ...

    def _stats(self, report: Report) -> None:
        report.schedules = self.runs
        report.stats.update({"level": self.level, "runs": self.runs, "pruned": self.pruned,
                             "stateful": bool(self.stateful),
                             "states": len(self.graph), "edges": len(self.graph.edges),
                             "graph_bytes": self.graph.nbytes(),
                             "pending": len(self.stack) + len(self.next_level),
                             "pending_bytes": self.ways.nbytes() + self.stack.nbytes()
                             + self.next_level.nbytes()})

    def _finish(self, report: Report, started: float) -> Report:
        """The report of a search that found nothing: what it proved, in fields and words."""
        self._stats(report)
        proof, bound = self.proved()
        conclude(report, proof, self.stopped_by, bound=bound, inexact=self.inexact,
                 livelocks_checked=proof == "complete" or self.livelocks_checked)
        report.note = self._proof_note(report)
        report.stats["verified_preemptions"] = self.verified
        report.stats["max_preemptions"] = self.max_preemptions
        report.seconds = time.perf_counter() - started
        return report

    def _proof_note(self, report: Report) -> str:
        """``report``'s proof in words (``_finish``): the fields say it, this only words it."""
        states = f"{len(self.graph)} states, " if self.stateful else ""
        if report.proof == "complete" and self.stateful:
            note = (f"verified: complete state space, {len(self.graph)} states "
                    f"({self.runs} runs): no failure and no livelock")
        elif report.proof == "complete":
            note = (f"verified: all {self.runs} schedules explored, no failure (each ran to its "
                    "end, so none loops forever)")
        elif report.proof == "bounded":
            bound = report.proof_bound or 0
            # A livelock is within the bound when its stem and one turn are.
            livelocks = " and no livelock within that bound" if report.livelocks_checked else ""
            note = (f"verified: no failure with at most {bound} {self._unit(bound)}{livelocks} "
                    f"({states}{self.runs} runs)")
        else:
            return (f"not verified: the budget ran out at 0 {self._unit(0)} after "
                    f"{self.runs} runs")
        if report.inexact:
            note += ("; livelocks not checked and no state-space proof: the runs met values "
                     f"the fingerprint cannot compare ({'; '.join(report.inexact)}); give "
                     "snapshot() their content instead, or define __schedfuzz_state__ on "
                     "their class")
        elif not report.livelocks_checked:
            note += "; livelocks not checked (" + (
                "a stateless search: a livelock may need more preemptions than any bound"
                if not self.stateful else "not looked for in this search") + ")"
        return note

    def _unit(self, count: int) -> str:
        # Deviation bounding (any departure from the default policy costs one) proves less
        # than preemption bounding with the same K: say which one was proved.
        noun = ("deviation" if self.by_deviation else "preemption") + ("" if count == 1 else "s")
        return noun + (" from the default policy" if self.by_deviation else "")

    def _failed(self, report: Report, result: RunResult, started: float) -> Report:
        self._stats(report)
        cycle = result.lasso[2] if result.lasso is not None else None
        outcome = run(self.info, schedule=Schedule(_trim(result.decisions, cycle), cycle),
                      settings=self.settings, **self.params)
        report.first_failure = (self.runs, time.perf_counter() - started)
        report.outcome = outcome
        report.verdict = outcome.kind
        report.stats["min_preemptions"] = self.level
        report.note = (f"{result.kind} at cost {self.level}: every schedule with fewer "
                       f"preemptions was explored without failure")
        return conclude(report, "none", "failure", inexact=self.inexact)

    def _livelock(self, report: Report, lasso: Lasso, started: float) -> Report | None:
        """Report ``lasso`` after replaying it, or None (and stop looking for livelocks) if
        the replay is not a failure the caller accepts."""
        verified = self.verified
        schedule = Schedule((*lasso.stem, *lasso.cycle), len(lasso.stem))
        outcome: Outcome = run(self.info, schedule=schedule, settings=self.settings,
                               **self.params)
        if self.accept is not None and not self.accept(outcome.result):
            self.check_livelocks = False  # not what the caller looks for: stop looking
            return None
        self._stats(report)
        report.first_failure = (self.runs, time.perf_counter() - started)
        report.outcome = outcome
        report.verdict = outcome.kind
        confirmed = outcome.kind == "livelock" and outcome.result.lasso is not None
        unit = self._unit(lasso.cost)
        if lasso.cost <= verified:
            report.stats["min_preemptions"] = lasso.cost
            cost = (f"{lasso.cost} {unit} (stem and one turn; every state and edge reachable "
                    f"with at most {verified} was explored, so none is cheaper)")
        else:
            report.stats["verified_preemptions"] = verified
            cost = (f"{lasso.cost} {unit} (stem and one turn; a cheaper one is ruled out only "
                    f"below {verified + 1})")
        report.note = (f"livelock: a fair cycle without progress in the state graph "
                       f"({len(self.graph)} states) at {cost}"
                       + ("" if confirmed else "; its replay did NOT confirm the lasso "
                          f"(replay verdict: {outcome.kind}); hidden state?"))
        return conclude(report, "none", self.stopped_by or "failure", inexact=self.inexact)


def _trim(decisions: list[int], cycle_start: int | None) -> list[int]:
    if cycle_start is not None:
        return decisions
    end = len(decisions)
    while end and decisions[end - 1] == 0:
        end -= 1
    return decisions[:end]


