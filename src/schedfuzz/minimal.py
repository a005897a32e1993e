"""Minimality check: is there a schedule with fewer deviations that fails the same way?

Hypothesis's shrinker is local: it deletes and lowers parts of the failing input, and stops when
no such step helps. That is enough for most schedules, but not for a livelock that a cycling
schedule found by switching at every step: the two-deviations-per-round cycle that a person
would write down is not one deletion away from "switch at every step". So after shrinking, the
``hypothesis`` engine asks this module for evidence.

``minimise`` tries every schedule with 0, 1, 2, ... deviations from the default policy, placed
within the failing run's choice points, each deviation answering each possible choice, and stops
at the first count at which one fails the same way (same verdict kind, same exception type, a
proved lasso again if the original was one). Among those it keeps the fewest preemptions. A
livelock candidate runs with fingerprints from step 0 (``lasso_after=0``), so a lasso that closes
inside those choice points is seen although the candidate stops deviating there.

The search is exhaustive for what it covers, which is what makes its "none with fewer" true:
``C(choice points, k) * choices**k`` runs at count ``k``. That is a few hundred runs for the demo
programs and far too many for a long run, so it is bounded by a time limit and says when it
stopped early. A step-bound livelock (no lasso) is not searched: each try could run to
``Settings.max_steps``.

The counts stay small only if something brought the failure down first. Hypothesis
does for a deviation plan; a walk's failure (``schedfuzz.strategies``) leaves its shrinker with a
dozen switches. ``reduce`` therefore runs the schedule shrinker (``schedfuzz.shrink``, which
edits the decisions themselves) before ``minimise``; ``smallest`` then runs the result again the
way the original ran, for a report.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator

import attrs

from schedfuzz.execute import Outcome, run
from schedfuzz.plans import Deviation, ScheduleOracle, SchedulePlan

__all__ = ["Minimised", "minimise", "reduce", "same_failure", "size", "smallest"]


def size(outcome: Outcome) -> tuple[int, int, int, tuple[int, ...]]:
    """Smaller is simpler: preemptions, then ``Schedule.sort_key`` (deviations, length, ...)."""
    return (outcome.result.preemptions, *outcome.schedule.sort_key())


def same_failure(reference: Outcome, candidate: Outcome) -> bool:
    """Does ``candidate`` fail the way ``reference`` does (kind, exception type, lasso)?"""
    if candidate.kind != reference.kind:
        return False
    if type(candidate.error) is not type(reference.error):
        return False
    return reference.result.lasso is None or candidate.result.lasso is not None


@attrs.frozen
class Minimised:
    """What ``minimise`` found.

    Attributes:
        outcome: the simplest failure known: a new one, or the one given.
        runs: schedules tried.
        complete: the search covered every count below the result's (it was not cut short, and
            the failure was one it can search for).
        note: one sentence for a report.
    """

    outcome: Outcome
    runs: int
    complete: bool
    note: str


def plans(length: int, count: int, choices: int) -> Iterator[SchedulePlan]:
    """Every plan of ``count`` deviations placed within the first ``length`` choice points,
    each answering one of ``1..choices``; earliest placements first."""
    for positions in itertools.combinations(range(length), count):
        gaps = [b - a - 1 for a, b in zip((-1, *positions), positions)]
        for answers in itertools.product(range(1, choices + 1), repeat=count):
            yield SchedulePlan(tuple(Deviation(g, c) for g, c in zip(gaps, answers)))


def minimise(outcome: Outcome, *, seconds: float) -> Minimised:
    """Look for ``outcome``'s failure with fewer deviations, for at most ``seconds``.

    Returns the failure with the fewest deviations found (then the fewest preemptions), or
    ``outcome`` itself with the evidence that nothing smaller fails within its choice points.
    """
    deadline = time.perf_counter() + seconds
    schedule = outcome.schedule
    target = schedule.deviations
    if not outcome.failed:
        return Minimised(outcome, 0, True, "")
    if outcome.kind == "livelock" and outcome.result.lasso is None:
        return Minimised(outcome, 0, False, "minimality not checked (a step-bound livelock)")
    # every choice point of the run, also those past a shortened schedule's last decision
    length = max(len(schedule.decisions), len(outcome.result.widths))
    choices = max([w - 1 for w in outcome.result.widths] or [1])
    settings = outcome.settings
    if outcome.result.lasso is not None:
        settings = attrs.evolve(settings, lasso_after=0)
    runs = 0
    started = time.perf_counter()
    for count in range(target):
        below = runs
        if runs:  # skip a count whose runs cannot all fit in the time left
            needed = math.comb(length, count) * choices ** count * (
                (time.perf_counter() - started) / runs)
            if needed > deadline - time.perf_counter():
                return Minimised(outcome, runs, False, _cut(count, needed))
        best: Outcome | None = None
        for plan in plans(length, count, choices):
            if time.perf_counter() >= deadline:
                if best is not None:
                    break
                return Minimised(outcome, runs, False, _cut(count, None))
            candidate = run(outcome.info, oracle=ScheduleOracle(plan), settings=settings,
                            **outcome.params)
            runs += 1
            if same_failure(outcome, candidate) and (best is None or size(candidate) < size(best)):
                best = candidate
        if best is not None:
            return Minimised(best, runs, True, _note(count, length, below))
    return Minimised(outcome, runs, True, _note(target, length, runs))


def _cut(count: int, needed: float | None) -> str:
    if not count:
        return "minimality not checked (time limit)"
    why = "time limit" if needed is None else f"{count} would take about {needed:.0f}s"
    return f"minimality checked only below {count} deviations ({why})"


def _note(deviations: int, length: int, tried: int) -> str:
    if deviations == 0:
        return "minimal: the default schedule fails this way"
    plural = "s" if deviations != 1 else ""
    return (f"minimal: {deviations} deviation{plural} from the default policy; none of the "
            f"{tried} schedules with fewer, within the first {length} choice points, fails "
            "this way")


def reduce(outcome: Outcome, *, seconds: float) -> Minimised:
    """The simplest failure like ``outcome`` in ``seconds``: ``schedfuzz.shrink``, then
    ``minimise`` for the evidence.

    Hypothesis's shrinker edits one drawn byte at a time. That is enough for a deviation plan,
    but a walk's failure keeps switches that only go away together, or one that must move when
    another goes: a dozen where two suffice. The schedule shrinker edits the decisions
    themselves (deletes runs of them, zeroes them, and searches exhaustively below its count)
    and gets such a failure down to the few deviations that ``minimise`` can check all the
    schedules below. Half the time goes to each, the shrinker's unused share to ``minimise``.
    """
    from schedfuzz.shrink import shrink  # its exhaustive pass imports the engines

    deadline = time.perf_counter() + seconds
    shrunk = shrink(outcome, seconds=seconds / 2) if outcome.failed else None
    start = outcome
    if shrunk is not None and same_failure(outcome, shrunk.outcome) \
            and size(shrunk.outcome) < size(outcome):
        start = shrunk.outcome
    minimal = minimise(start, seconds=max(0.0, deadline - time.perf_counter()))
    return attrs.evolve(minimal, runs=minimal.runs + (shrunk.runs if shrunk else 0))


def smallest(outcome: Outcome, *, seconds: float) -> Minimised:
    """``reduce``, then run the smaller failure again the way ``outcome`` ran.

    A livelock candidate is found with fingerprints from step 0; run again under ``outcome``'s
    own settings it is what a replay of its schedule shows. If nothing smaller fails the same
    way, or its second run does not, the result holds ``outcome`` itself.
    """
    minimal = reduce(outcome, seconds=seconds)
    if minimal.outcome is outcome:
        return minimal
    again = run(outcome.info, schedule=minimal.outcome.schedule, settings=outcome.settings,
                **outcome.params)
    return attrs.evolve(minimal, outcome=again if same_failure(outcome, again) else outcome)
