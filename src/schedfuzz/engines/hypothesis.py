"""The ``hypothesis`` engine: Hypothesis searches a scenario's schedules; the failure is reduced.

Each Hypothesis test case runs the scenario once under a drawn ``ScheduleOracle``
(``schedfuzz.strategies``: a deviation plan or a walk), with the rules of the ``@fuzz`` test body
(``schedfuzz.fuzz``): events for every case, a cycling schedule that fails other than by a
livelock rejected. After the first failure three stages follow, all within
``Budget.shrink_seconds`` of it and by the deadline of ``Budget.seconds`` (with
``Budget.shrink_runs``, run counts share the work instead, and the same failure reduces to the
same schedule on any machine):

1. Hypothesis looks a little further for failures of other kinds and shrinks each, for at most
   a third of the time and no more than ``HYPOTHESIS_SHRINK_CAP`` (as in any Hypothesis test:
   it reports the simplest *drawn* schedules);
2. ``schedfuzz.reduce.minimal.reduce`` searches every schedule with fewer preemptions (the
   exhaustive search, so the count it reports is the fewest any schedule needs), then shrinks the
   decisions themselves, which gets a walk's failure down from a dozen switches to the few it
   needs, and checks every schedule with fewer deviations (the word "minimal" in the report);
   the time left is shared equally among the failures found, and the smallest after it is the
   report's outcome;
3. the result is run once more, as a replay will run it; a scenario that then fails otherwise
   depends on something the scheduler does not control, and says so.

A search without a failure, or whose failure is a ``StepBound``, ends with the pumping step
(``schedfuzz.livelock.pump``): the few longest runs are searched for a fair cycle of the control
state, whose decisions are repeated to ``max_steps``: a livelock whose data grows (a round
counter) is reported there, as no drawn schedule sustains it.

Hypothesis has no wall-clock limit a caller can set, so the test body watches the clock and stops
Hypothesis with a private ``BaseException`` (one it does not take for a failure).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import attrs
import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, given, reject
from hypothesis.errors import Flaky, HypothesisException

from schedfuzz._core import clock
from schedfuzz.budget import PROGRESS, Budget
from schedfuzz.engines import pumping, register_engine
from schedfuzz.errors import ReplayDiverged
from schedfuzz.execute import Outcome, nondeterministic, run
from schedfuzz.fuzz import DEFAULT_MAX_DEVIATIONS, cycle_without_livelock, report_events
from schedfuzz.livelock import pump
from schedfuzz.reduce.minimal import reduce
from schedfuzz.reduce.shrink import size
from schedfuzz.scenario import ScenarioInfo
from schedfuzz.schedule import Schedule
from schedfuzz.settings import Settings
from schedfuzz.strategies import ScheduleOracle, schedules
from schedfuzz.verdict import FailureKey, Report, conclude, met_inexact, same_failure

__all__ = ["HYPOTHESIS_SHRINK_CAP", "HYPOTHESIS_SHRINK_SHARE", "hypothesis_engine"]

# Hypothesis's share of Budget.shrink_seconds; the rest reduces and checks. A third: on a walk's
# failure the schedule shrinker gains more per run than Hypothesis's byte-at-a-time edits. And
# never more than the cap: past it Hypothesis's edits rarely gain, while the exhaustive search
# for fewer preemptions that follows can use every second of a large budget.
HYPOTHESIS_SHRINK_SHARE = 1 / 3
HYPOTHESIS_SHRINK_CAP = 20.0


class _Stop(BaseException):
    """Raised from the test body to stop Hypothesis at once.

    A ``BaseException``, not an ``Exception``, so Hypothesis does not take it for a failure to
    shrink; the engine catches it and reports what it has.
    """


class _TimeUp(_Stop):
    """The budget's time is spent."""


class _NoChoices(_Stop):
    """The scenario passed without a single choice point: every schedule is that one run."""


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions inside an exception group, recursively (duck-typed: 3.10 has none)."""
    inner = getattr(exc, "exceptions", None)
    if isinstance(inner, tuple):
        for each in inner:
            yield from _leaves(each)
    else:
        yield exc


@attrs.define
class _Search:
    """One exploration of one scenario by Hypothesis; ``explore()`` returns the report."""

    info: ScenarioInfo
    params: dict[str, Any]
    settings: Settings
    budget: Budget
    started: float = 0.0
    schedules: int = 0  # runs until the first failure, that one included
    later_runs: int = 0  # runs after it: Hypothesis's further search, then its shrinking
    first_failure: tuple[int, float] | None = None
    found_by: str = ""  # the shape of the first failing schedule: "plan" or "walk"
    found_at: float = 0.0
    best: dict[FailureKey, Outcome] = attrs.field(factory=dict)
    # the latest failing runs, to find the outcome behind each exception Hypothesis reports
    recent: list[tuple[BaseException, Outcome]] = attrs.field(factory=list)
    inexact: list[str] = attrs.field(factory=list)  # uncomparable values the runs met
    longest: pump.Longest = attrs.field(factory=pump.Longest)  # runs to pump after the search
    deadline: float | None = None  # when the whole exploration ends (``schedfuzz._core.clock``)
    search_deadline: float | None = None  # ... and the search alone

    def body(self, oracle: ScheduleOracle) -> None:
        deadline = self.search_deadline if self.first_failure is None else self.deadline
        if deadline is not None and clock.now() >= deadline:
            raise _TimeUp
        if self.first_failure is not None and self.shrunk_enough():
            raise _TimeUp
        outcome = run(self.info, oracle=oracle, settings=self.settings, **self.params)
        if self.first_failure is None:
            self.schedules += 1
            PROGRESS["schedules"] = self.schedules
        else:
            self.later_runs += 1
        report_events(outcome)
        if outcome.result.inexact:
            met_inexact(self.inexact, outcome.result.inexact)
        error = outcome.error
        if error is None:
            if not outcome.result.decisions:
                raise _NoChoices
            self.longest.offer(outcome.result)
            return
        if cycle_without_livelock(oracle, outcome):
            reject()
        if self.first_failure is None:
            self.found_at = time.perf_counter()
            self.first_failure = (self.schedules, self.found_at - self.started)
            self.found_by = oracle.shape
        key = FailureKey.of(outcome)
        if key not in self.best or size(outcome) < size(self.best[key]):
            self.best[key] = outcome
        self.recent = [*self.recent[-15:], (error, outcome)]
        raise error

    def search(self) -> None:
        budget = self.budget

        @hypothesis.seed(budget.seed)
        @hypothesis.settings(
            max_examples=max(1, budget.max_schedules), database=None, deadline=None,
            derandomize=False, verbosity=Verbosity.quiet, phases=(Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck), report_multiple_bugs=True, print_blob=False,
        )
        @given(schedules(max_deviations=DEFAULT_MAX_DEVIATIONS))
        def search(oracle: ScheduleOracle) -> None:
            self.body(oracle)

        search()

    def reported(self, raised: BaseException | None) -> list[Outcome]:
        """The outcomes behind the failures Hypothesis raised (the best seen if it was cut
        short), simplest first."""
        if raised is None:
            return sorted(self.best.values(), key=size)
        if isinstance(raised, Flaky):
            raise self.nondeterministic("Hypothesis saw one schedule pass and fail") from raised
        if isinstance(raised, HypothesisException):  # a problem to show as it is
            raise raised
        found = []
        for leaf in _leaves(raised):
            match = [o for e, o in self.recent if e is leaf]
            if not match:
                raise raised  # not a verdict of ours
            found.append(match[-1])
        return sorted(found, key=size)

    def nondeterministic(self, what: str, schedule: Schedule | None = None) -> ReplayDiverged:
        return nondeterministic(self.info, self.params, what, schedule)

    def shrunk_enough(self) -> bool:
        """Hypothesis's share of shrinking is spent: with ``Budget.shrink_runs``, its share of
        the runs (``shrink_seconds`` only as a safety net, so the result does not depend on
        the machine's speed); else its share of ``shrink_seconds``, up to the cap."""
        budget = self.budget
        spent = time.perf_counter() - self.found_at
        if budget.shrink_runs is not None:
            return (self.later_runs >= budget.shrink_runs * HYPOTHESIS_SHRINK_SHARE
                    or spent >= budget.shrink_seconds)
        return spent >= min(budget.shrink_seconds * HYPOTHESIS_SHRINK_SHARE,
                            HYPOTHESIS_SHRINK_CAP)

    def left(self) -> float | None:
        """Seconds left of ``Budget.seconds`` (None: no time limit)."""
        return None if self.deadline is None else max(0.0, self.deadline - clock.now())

    def explore(self) -> Report:
        self.started = time.perf_counter()
        now = clock.now()
        self.deadline = self.budget.ends_at(now)
        self.search_deadline = self.budget.search_ends_at(now)
        report = Report(self.info, dict(self.params), "hypothesis")
        raised: Exception | None = None
        timed_out = False
        try:
            self.search()
        except _TimeUp:
            timed_out = True
        except _NoChoices:
            conclude(report, "complete", "exhausted", livelocks_checked=True,
                     inexact=self.inexact)
            report.note = ("complete: the scenario has no choice points, so every schedule is "
                           "one run")
        except Exception as exc:
            raised = exc
        report.schedules = self.schedules
        report.first_failure = self.first_failure
        if self.first_failure is None:
            if raised is not None:
                raise raised  # before any failure of the program: misuse, or a bug of ours
            left = self.left()
            if not timed_out and not report.complete and pumping.after_search(
                    report, self.settings, self.longest, inexact=self.inexact,
                    deadline=None if left is None else time.perf_counter() + left):
                return report
            if timed_out:
                limit = self.budget.search_seconds or self.budget.seconds
                report.note = (f"time limit ({limit}s) reached after "
                               f"{self.schedules} schedules")
            if not report.complete:
                conclude(report, "sampled", "seconds" if timed_out else "max_schedules"
                         if self.schedules >= self.budget.max_schedules else "no_new_schedules",
                         inexact=self.inexact)
            return report
        outcomes = self.reported(None if timed_out else raised)
        return self.finish(report, outcomes, timed_out)

    def finish(self, report: Report, outcomes: list[Outcome], timed_out: bool) -> Report:
        shrink_seconds = time.perf_counter() - self.found_at
        allowed = max(0.0, self.budget.shrink_seconds - shrink_seconds)
        left = self.left()  # what is left of Budget.seconds bounds the reduction too
        deadline = time.perf_counter() + (allowed if left is None else min(allowed, left))
        # each failure gets an equal share of the time left; the smallest after it is reported
        reduced = []
        runs = self.budget.shrink_runs
        runs_left = None if runs is None else max(0, runs - self.later_runs)
        for i, each in enumerate(outcomes):
            share = max(0.0, deadline - time.perf_counter()) / (len(outcomes) - i)
            run_share = None if runs_left is None else runs_left // (len(outcomes) - i)
            minimal = reduce(each, seconds=share, max_runs=run_share)
            if runs_left is not None:
                runs_left = max(0, runs_left - minimal.runs)
            reduced.append((minimal, each))
        reduced.sort(key=lambda pair: size(pair[0].outcome))
        (minimal, shrunk), others = reduced[0], [m.outcome for m, _ in reduced[1:]]
        final = run(self.info, schedule=minimal.outcome.schedule, settings=self.settings,
                    **self.params)
        if not same_failure(shrunk, final):
            final = run(self.info, schedule=shrunk.schedule, settings=self.settings, **self.params)
            if not same_failure(shrunk, final):
                raise self.nondeterministic(f"one schedule gave {shrunk.kind}, then "
                                            f"{final.kind}", shrunk.schedule)
        notes = [f"found by a {'walk' if self.found_by == 'walk' else 'deviation plan'}; "
                 f"Hypothesis shrank it in {shrink_seconds:.2f}s ({self.later_runs} more runs)"
                 + (", stopped by the shrink time limit" if timed_out else ""), minimal.note]
        if others:
            notes.append("also found: " + "; ".join(
                f"{o.kind} ({type(o.error).__name__}, {o.result.preemptions} "
                f"preemption{'' if o.result.preemptions == 1 else 's'})"
                for o in others))
        report.outcome = final
        report.verdict = final.kind
        conclude(report, "none", "failure", inexact=self.inexact)
        report.note = "; ".join(n for n in notes if n)
        report.stats = {
            "found_by": self.found_by,
            "later_runs": self.later_runs,
            "shrink_seconds": round(shrink_seconds, 3),
            "shrink_timed_out": timed_out,
            "minimal_verified": minimal.complete,
            "hypothesis_preemptions": shrunk.result.preemptions,
            "minimise_runs": minimal.runs,
            "distinct_failures": len(outcomes),
        }
        if final.kind == "step_bound":  # a cycle that outran max_steps: pump it
            self.longest.offer(shrunk.result)
            pumping.after_step_bound(report, self.settings, self.longest, inexact=self.inexact)
        return report


@register_engine("hypothesis")
def hypothesis_engine(info: ScenarioInfo, params: dict[str, Any], settings: Settings,
                      budget: Budget) -> Report:
    """Search ``info``'s schedules with Hypothesis, reduce the first failure, report it.

    ``budget.max_schedules`` is Hypothesis's ``max_examples`` and ``budget.seed`` its seed (the
    same seed, the same search). ``budget.seconds`` bounds all of it, search and reduction;
    ``budget.shrink_seconds``, counted from the first failure, bounds Hypothesis's shrinking
    (a third of it) and the reduction after it (the best failure seen is reported), within
    what is left of ``budget.seconds``. Hypothesis's
    own output is silenced. If it reports several distinct failures, the one with the fewest
    preemptions is the report's outcome and the note lists the others.
    """
    return _Search(info, dict(params), settings, budget).explore()
