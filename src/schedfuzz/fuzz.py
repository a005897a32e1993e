"""Hypothesis as the scheduling oracle: the ``@fuzz`` test decorator and the ``hypothesis`` engine.

Both run the scenario once per Hypothesis test case under a drawn ``ScheduleOracle``
(``schedfuzz.strategies``: one byte-string draw per schedule, read as a few deviations from the
default policy), so Hypothesis's shrinker minimises the failing schedule: fewest deviations
(preemptions) first, then the earliest. A verdict is raised as its own exception type and an
actor's exception as itself, so Hypothesis keeps a deadlock and a livelock in one test apart;
the decorator attaches the per-actor trace and the replay line as exception notes.

Rules every test body here follows:

* A *cycling* schedule (one that repeats its deviations) stands for a livelock. When one fails
  in another way, the test case is rejected: that failure also has a finite schedule, and a
  cycle would let the shrinker settle on a short description with many preemptions ("switch at
  every step") where a few preemptions suffice.
* Every test case reports ``hypothesis.event``s, its verdict kind and a preemption bucket, so
  ``--hypothesis-show-statistics`` and HypoFuzz see how varied the schedules are.

Hypothesis's shrinking is local and can stop short of the smallest schedule (a livelock found by
switching at every step, say), so both end with ``schedfuzz.minimal``: an exhaustive check of
the schedules with fewer deviations, the evidence behind the word "minimal" in a report.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import hypothesis
from hypothesis import (
    HealthCheck,
    Phase,
    Verbosity,
    currently_in_test_context,
    event,
    given,
    reject,
)
from hypothesis.errors import Flaky, HypothesisException

from schedfuzz.errors import InvalidArgument, ReplayDiverged, SchedfuzzError
from schedfuzz.execute import Outcome, raise_for, run
from schedfuzz.explore import Budget, Report, register_engine
from schedfuzz.minimal import minimise, same_failure, size, smallest
from schedfuzz.scenario import ScenarioInfo, resolve
from schedfuzz.settings import Settings
from schedfuzz.strategies import ScheduleOracle, schedules

__all__ = ["check", "fuzz", "hypothesis_engine", "preemption_bucket"]

SAVE_DIR_ENV = "SCHEDFUZZ_SAVE_DIR"
SEED_ENV = "SCHEDFUZZ_SEED"
MAX_SCHEDULES_ENV = "SCHEDFUZZ_MAX_SCHEDULES"
DEFAULT_MAX_DEVIATIONS = 6
MINIMISE_SECONDS = 5.0  # the decorator's minimality check, once per failing test


def preemption_bucket(preemptions: int) -> str:
    """A coarse label for a preemption count: ``0``, ``1``, ``2``, ``3-4``, ``5-8``, ``9+``."""
    if preemptions <= 2:
        return str(preemptions)
    if preemptions <= 4:
        return "3-4"
    return "5-8" if preemptions <= 8 else "9+"


def _report_events(outcome: Outcome) -> None:
    """Tell Hypothesis the run's verdict and preemption bucket (outside a test: nothing)."""
    if not currently_in_test_context():
        return
    event("verdict", outcome.kind)
    event("preemptions", preemption_bucket(outcome.result.preemptions))


def _cycle_without_livelock(oracle: ScheduleOracle, outcome: Outcome) -> bool:
    """A cycling schedule that failed other than by a livelock: reject it (module docstring)."""
    return oracle.plan.cycle_from is not None and outcome.kind != "livelock"


def check(outcome: Outcome, oracle: ScheduleOracle) -> None:
    """Do with a run what the ``@fuzz`` test body does: for a hand-written ``@given`` test.

    Reports the events, rejects a cycling schedule that failed other than by a livelock, and
    raises the verdict with the per-actor trace and replay line as notes.

    Example::

        @given(schedfuzz.strategies.schedules(), st.integers(2, 4))
        def test_counter(oracle, n):
            outcome = schedfuzz.run("demo.lost-update", oracle=oracle, n=n)
            schedfuzz.fuzz.check(outcome, oracle)
    """
    _report_events(outcome)
    if outcome.failed:
        if _cycle_without_livelock(oracle, outcome):
            reject()
        raise_for(outcome)


# -- the decorator ------------------------------------------------------------------------------

def _is_final() -> bool | None:
    """Is this the final replay of a minimal failing example? None if Hypothesis cannot say.

    Reads ``current_build_context().is_final``, which Hypothesis does not document; a test pins
    it. Without it every failing run is saved under one name per test and verdict, so the last
    write, the final replay, wins.
    """
    try:
        from hypothesis.control import current_build_context

        final = getattr(current_build_context(), "is_final", None)
    except Exception:
        return None
    return final if isinstance(final, bool) else None


def _save(outcome: Outcome, test_name: str) -> None:
    """Save the shrunk failure to ``$SCHEDFUZZ_SAVE_DIR`` and say where, in a note."""
    directory = os.environ.get(SAVE_DIR_ENV)
    error = outcome.error
    if not directory or error is None:
        return
    final = _is_final()
    if final is False:
        return
    from schedfuzz import corpus  # only a failing test with a save folder needs it

    name = None if final else f"{test_name}-{outcome.kind}.json"
    try:
        path = corpus.save(outcome, directory, name=name)
    except (OSError, SchedfuzzError) as exc:
        error.add_note(f"schedfuzz: could not save the reproducer in {directory}: {exc}")
        return
    error.add_note(f"schedfuzz: reproducer saved to {path}")


def _smallest(outcome: Outcome, schedule: ScheduleOracle) -> Outcome:
    """For the final report: the same failure with fewer deviations, if one exists, saying so.

    Hypothesis's shrinking is local and now and then stops at a schedule with needless
    deviations; a short exhaustive check replaces it. The replacement fails the same way, so
    Hypothesis sees the same kind of failure in its final replay.
    """
    minimal = smallest(outcome, seconds=MINIMISE_SECONDS)
    found = minimal.outcome
    if found is not outcome and found.error is not None:
        found.error.add_note(f"schedfuzz: shown is a smaller schedule than the drawn one, "
                             f"{schedule!r} ({outcome.result.preemptions} preemptions); "
                             f"{minimal.note}")
    return found


def _caller(fn: Callable[..., Any]) -> Callable[[Outcome], object]:
    """Call ``fn`` with the outcome if it takes one parameter, without if it takes none."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    required = [p for p in parameters if p.default is inspect.Parameter.empty
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if len(required) > 1:
        msg = (f"@fuzz test {getattr(fn, '__qualname__', fn)!r} takes {len(required)} "
               "parameters; it may take none, or one: the Outcome of each run")
        raise InvalidArgument(msg)
    return fn if required else (lambda outcome: fn())


def fuzz(scenario: str | Callable[..., Any] | ScenarioInfo, *, settings: Settings | None = None,
         max_deviations: int = DEFAULT_MAX_DEVIATIONS,
         **params: Any) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """Turn a function into a Hypothesis test over the schedules of ``scenario``.

    Each test case runs the scenario once under a drawn schedule. A verdict (deadlock, livelock,
    an actor's exception, ...) fails the test case; Hypothesis then shrinks the schedule, a short
    exhaustive check (at most ``MINIMISE_SECONDS``) replaces it by one with fewer deviations if
    there is one, and the failure is raised with its per-actor trace and replay line as
    exception notes. The decorated function runs after every run without a verdict; it may take
    that run's ``Outcome`` to check more.

    The result is a plain ``@given`` test: stack ``@hypothesis.settings(...)`` on it as usual
    (which replaces these defaults: ``deadline=None``, since a long schedule is not a slow
    test, and no explain phase, whose lines would be the scheduler's), run it under
    pytest-xdist or HypoFuzz. ``SCHEDFUZZ_SEED`` (``--schedfuzz-seed``) fixes Hypothesis's seed,
    ``SCHEDFUZZ_MAX_SCHEDULES`` (``--schedfuzz-max-schedules``) sets ``max_examples`` unless
    you stack settings of your own, and ``SCHEDFUZZ_SAVE_DIR`` (``--schedfuzz-save``) saves the
    shrunk failure as a corpus file.

    Args:
        scenario: a registered name, ``module:function`` or the scenario function.
        settings: bounds of each run (default: the scenario's own).
        max_deviations: at most this many departures from the default policy per schedule.
        **params: the scenario's parameters.

    Raises:
        InvalidArgument: an unknown scenario or parameter, or a function with two parameters.

    Example::

        @schedfuzz.fuzz.fuzz("demo.lost-update", n=3)
        def test_counter_is_exact(): ...
    """
    info = resolve(scenario)
    info.check_params(params)
    strategy = schedules(max_deviations=max_deviations)

    def decorate(fn: Callable[..., Any]) -> Callable[..., None]:
        after = _caller(fn)
        name = getattr(fn, "__name__", "fuzz")

        def test(schedule: ScheduleOracle) -> None:
            outcome = run(info, oracle=schedule, settings=settings, **params)
            if outcome.failed and not _cycle_without_livelock(schedule, outcome):
                if _is_final():
                    outcome = _smallest(outcome, schedule)
                _save(outcome, name)
            check(outcome, schedule)
            after(outcome)

        for attribute in ("__name__", "__qualname__", "__module__", "__doc__"):
            if hasattr(fn, attribute):
                setattr(test, attribute, getattr(fn, attribute))
        _hypothesis_defaults(test, fn, info, params)
        wrapped: Callable[..., None] = given(schedule=strategy)(test)
        if os.environ.get(SEED_ENV, "").isdigit():
            wrapped = hypothesis.seed(int(os.environ[SEED_ENV]))(wrapped)
        return wrapped

    return decorate


def _hypothesis_defaults(test: Any, fn: Callable[..., Any], info: ScenarioInfo,
                         params: dict[str, Any]) -> None:
    """Give ``test`` default settings and its own database key, the way ``@given`` does.

    The settings go on the attribute ``@given`` reads, without the mark ``@settings`` leaves, so
    settings stacked on top replace them instead of being refused. Every ``@fuzz`` test shares
    the body above, and Hypothesis keys its example database by the body's source: the extra
    digest (what Hypothesis's pytest plugin sets for parametrized tests) keeps tests apart.
    """
    defaults: dict[str, Any] = {
        "deadline": None,
        "phases": [p for p in Phase if p is not Phase.explain],
    }
    if os.environ.get(MAX_SCHEDULES_ENV, "").isdigit():
        defaults["max_examples"] = max(1, int(os.environ[MAX_SCHEDULES_ENV]))
    test._hypothesis_internal_use_settings = hypothesis.settings(**defaults)
    key = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', '')}|{info.name}|"
    test._hypothesis_internal_add_digest = (key + repr(sorted(params.items()))).encode()


# -- the engine ---------------------------------------------------------------------------------

class _Stop(BaseException):
    """Raised from the test body to stop Hypothesis at once.

    A ``BaseException``, not an ``Exception``, so Hypothesis does not take it for a failure to
    shrink; the engine catches it and reports what it has.
    """


class _TimeUp(_Stop):
    """The budget's time is spent."""


class _NoChoices(_Stop):
    """The scenario passed without a single choice point: every schedule is that one run."""


def _failure_key(outcome: Outcome) -> tuple[str, str]:
    return (outcome.kind, type(outcome.error).__qualname__)


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
    found_at: float = 0.0
    best: dict[tuple[str, str], Outcome] = attrs.field(factory=dict)
    # the latest failing runs, to find the outcome behind each exception Hypothesis reports
    recent: list[tuple[BaseException, Outcome]] = attrs.field(factory=list)

    def body(self, oracle: ScheduleOracle) -> None:
        now = time.perf_counter()
        if self.first_failure is None:
            if self.budget.seconds is not None and now - self.started >= self.budget.seconds:
                raise _TimeUp
        elif now - self.found_at >= self.budget.shrink_seconds:
            raise _TimeUp
        outcome = run(self.info, oracle=oracle, settings=self.settings, **self.params)
        if self.first_failure is None:
            self.schedules += 1
        else:
            self.later_runs += 1
        _report_events(outcome)
        error = outcome.error
        if error is None:
            if not outcome.result.decisions:
                raise _NoChoices
            return
        if _cycle_without_livelock(oracle, outcome):
            reject()
        if self.first_failure is None:
            self.found_at = time.perf_counter()
            self.first_failure = (self.schedules, self.found_at - self.started)
        key = _failure_key(outcome)
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

    def nondeterministic(self, what: str) -> ReplayDiverged:
        msg = (f"scenario {self.info.name!r} is not deterministic: {what}; its runs depend on "
               "something the scheduler does not control (a global, the clock, a random number)")
        return ReplayDiverged(msg)

    def explore(self) -> Report:
        self.started = time.perf_counter()
        report = Report(self.info, dict(self.params), "hypothesis")
        raised: Exception | None = None
        timed_out = False
        try:
            self.search()
        except _TimeUp:
            timed_out = True
        except _NoChoices:
            report.complete = True
            report.note = ("complete: the scenario has no choice points, so every schedule is "
                           "one run")
        except Exception as exc:
            raised = exc
        report.schedules = self.schedules
        report.first_failure = self.first_failure
        if self.first_failure is None:
            if timed_out:
                report.note = (f"time limit ({self.budget.seconds}s) reached after "
                               f"{self.schedules} schedules")
            return report
        outcomes = self.reported(None if timed_out else raised)
        return self.finish(report, outcomes, timed_out)

    def finish(self, report: Report, outcomes: list[Outcome], timed_out: bool) -> Report:
        shrunk = outcomes[0]
        shrink_seconds = time.perf_counter() - self.found_at
        left = self.budget.shrink_seconds - shrink_seconds
        minimal = minimise(shrunk, seconds=max(0.0, left))
        final = run(self.info, schedule=minimal.outcome.schedule, settings=self.settings,
                    **self.params)
        if not same_failure(shrunk, final):
            final = run(self.info, schedule=shrunk.schedule, settings=self.settings, **self.params)
            if not same_failure(shrunk, final):
                raise self.nondeterministic(
                    f"schedule {shrunk.schedule.encode()} gave {shrunk.kind}, then {final.kind}")
        notes = [f"Hypothesis shrank it in {shrink_seconds:.2f}s ({self.later_runs} more runs)"
                 + (", stopped by the shrink time limit" if timed_out else ""), minimal.note]
        others = [f"{o.kind} ({type(o.error).__name__}, {o.result.preemptions} "
                  f"preemption{'' if o.result.preemptions == 1 else 's'})" for o in outcomes[1:]]
        if others:
            notes.append("also found: " + "; ".join(others))
        report.outcome = final
        report.verdict = final.kind
        report.note = "; ".join(n for n in notes if n)
        report.stats = {
            "later_runs": self.later_runs,
            "shrink_seconds": round(shrink_seconds, 3),
            "shrink_timed_out": timed_out,
            "minimal_verified": minimal.complete,
            "hypothesis_preemptions": shrunk.result.preemptions,
            "minimise_runs": minimal.runs,
            "distinct_failures": len(outcomes),
        }
        return report


@register_engine("hypothesis")
def hypothesis_engine(info: ScenarioInfo, params: dict[str, Any], settings: Settings,
                      budget: Budget) -> Report:
    """Search ``info``'s schedules with Hypothesis, shrink the first failure, report it.

    ``budget.max_schedules`` is Hypothesis's ``max_examples`` and ``budget.seed`` its seed (the
    same seed, the same search). Hypothesis has no wall-clock limit a caller can set, so the
    test body watches the clock and stops Hypothesis with a private ``BaseException`` (not taken
    for a failure): ``budget.seconds`` ends the search (nothing found), ``budget.shrink_seconds``
    from the first failure ends shrinking and the minimality check (the best failure seen is
    reported). Hypothesis's own output is silenced. If it reports several distinct failures,
    the one with the fewest preemptions is the report's outcome and the note lists the others.
    """
    return _Search(info, dict(params), settings, budget).explore()
