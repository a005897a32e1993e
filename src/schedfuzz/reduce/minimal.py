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

Deviations are what reads simplest; preemptions are what the field counts (a deviation where
the current actor blocked costs none). ``fewest_preemptions`` closes the gap: the ``dfs`` engine's
preemption-bounded search below the reproducer's count, with state caching and, for livelocks,
the cheapest fair cycle of its state graph. What it finds, or its finishing clean, makes the
reported count the fewest any failure of that kind needs.

The counts stay small only if something brought the failure down first. Hypothesis
does for a deviation plan; a walk's failure (``schedfuzz.strategies``) leaves its shrinker with a
dozen switches. ``reduce`` therefore runs the schedule shrinker (``schedfuzz.reduce.shrink``, which
edits the decisions themselves) before ``minimise``; ``smallest`` then runs the result again the
way the original ran, for a report.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import attrs

from schedfuzz._core import clock
from schedfuzz._core.runner import RunResult
from schedfuzz.budget import Budget
from schedfuzz.execute import Outcome, run
from schedfuzz.plans import Deviation, ScheduleOracle, SchedulePlan
from schedfuzz.reduce.shrink import shrink, size
from schedfuzz.search import dfs
from schedfuzz.verdict import FailureKey, same_failure

__all__ = ["Minimised", "fewest_preemptions", "minimise", "reduce", "same_failure", "size",
           "smallest"]


@attrs.frozen
class Minimised:
    """What ``minimise`` found.

    Attributes:
        outcome: the simplest failure known: a new one, or the one given.
        runs: schedules tried.
        complete: the search covered every count below the result's (it was not cut short, and
            the failure was one it can search for).
        note: one sentence for a report.
        none_up_to: the exhaustive search proved no failure of this kind with at most this
            many preemptions (-1: it proved nothing), even if it stopped before the count.
        stats: figures for a report (``reduce``: the shrinker's, ``ShrinkResult.stats``).
    """

    outcome: Outcome
    runs: int
    complete: bool
    note: str
    none_up_to: int = -1
    stats: dict[str, Any] = attrs.field(factory=dict)


def plans(length: int, count: int, choices: int) -> Iterator[SchedulePlan]:
    """Every plan of ``count`` deviations placed within the first ``length`` choice points,
    each answering one of ``1..choices``; earliest placements first."""
    for positions in itertools.combinations(range(length), count):
        gaps = [b - a - 1 for a, b in zip((-1, *positions), positions)]
        for answers in itertools.product(range(1, choices + 1), repeat=count):
            yield SchedulePlan(tuple(Deviation(g, c) for g, c in zip(gaps, answers)))


def minimise(outcome: Outcome, *, seconds: float, max_runs: int | None = None) -> Minimised:
    """Look for ``outcome``'s failure with fewer deviations, for at most ``seconds`` and
    ``max_runs`` runs (None: no run limit).

    Returns the failure with the fewest deviations found (then the fewest preemptions), or
    ``outcome`` itself with the evidence that nothing smaller fails within its choice points.
    """
    deadline = clock.now() + seconds
    schedule = outcome.schedule
    target = schedule.deviations
    if not outcome.failed:
        return Minimised(outcome, 0, True, "")
    if outcome.kind == "step_bound":
        return Minimised(outcome, 0, False, "minimality not checked (a step bound)")
    # every choice point of the run, also those past a shortened schedule's last decision
    length = max(len(schedule.decisions), len(outcome.result.widths))
    choices = max([w - 1 for w in outcome.result.widths] or [1])
    settings = outcome.settings
    if outcome.result.lasso is not None:
        settings = attrs.evolve(settings, lasso_after=0)
    runs = 0
    started = clock.now()
    for count in range(target):
        below = runs
        plans_at = math.comb(length, count) * choices ** count
        if max_runs is not None and runs + plans_at > max_runs:  # cannot finish this count
            return Minimised(outcome, runs, False, _cut(count, None, runs=max_runs))
        if runs:  # skip a count whose runs cannot all fit in the time left
            needed = plans_at * ((clock.now() - started) / runs)
            if needed > deadline - clock.now():
                return Minimised(outcome, runs, False, _cut(count, needed))
        best: Outcome | None = None
        for plan in plans(length, count, choices):
            if clock.now() >= deadline:
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


def _cut(count: int, needed: float | None, *, runs: int | None = None) -> str:
    limit = "time limit" if runs is None else f"run limit {runs}"
    if not count:
        return f"minimality not checked ({limit})"
    why = limit if needed is None else f"{count} would take about {needed:.0f}s"
    return f"minimality checked only below {count} deviations ({why})"


def _note(deviations: int, length: int, tried: int) -> str:
    if deviations == 0:
        return "minimal: the default schedule fails this way"
    plural = "s" if deviations != 1 else ""
    return (f"minimal: {deviations} deviation{plural} from the default policy; none of the "
            f"{tried} schedules with fewer, within the first {length} choice points, fails "
            "this way")


def fewest_preemptions(outcome: Outcome, *, seconds: float,
                       max_runs: int | None = None) -> Minimised:
    """Look for ``outcome``'s failure with fewer *preemptions*, for at most ``seconds`` and
    ``max_runs`` runs (None: no run limit).

    Fewer deviations (``minimise``) is what reads simplest, but the number the field compares is
    preemptions (CHESS, SCTBench): a deviation at a point where the current actor blocked costs
    none. So this runs the ``dfs`` engine's preemption-bounded search, levels 0 to one below
    ``outcome``'s count, for a failure of the same kind; the engine's state caching (when the
    scenario declares a snapshot) and its cheapest-lasso search for livelocks make the levels
    affordable. Its first failure is preemption-minimal; if the levels finish without one,
    ``outcome`` is.
    """
    target = outcome.result.preemptions
    if not outcome.failed or not target:
        return Minimised(outcome, 0, outcome.failed, "")
    if seconds <= 0 or max_runs == 0 or outcome.kind == "step_bound":
        return Minimised(outcome, 0, False, "")

    key = FailureKey.of(outcome)

    def accept(result: RunResult) -> bool:
        return key.shown_by(FailureKey.of(result))

    report = dfs.search(outcome.info, outcome.params, outcome.settings,
                        Budget(max_schedules=1 << 40 if max_runs is None else max_runs,
                               seconds=seconds),
                        max_preemptions=target - 1, accept=accept)
    found = report.outcome
    runs = report.schedules
    if found is not None and same_failure(outcome, found) \
            and found.result.preemptions < target:
        return Minimised(found, runs, "min_preemptions" in report.stats,
                         _preemption_note(found.result.preemptions, runs,
                                          "min_preemptions" in report.stats))
    verified = report.stats.get("verified_preemptions", -1)
    if verified >= target - 1:
        return Minimised(outcome, runs, True, _preemption_note(target, runs, True))
    if verified < 0:
        return Minimised(outcome, runs, False, "")
    return Minimised(outcome, runs, False,
                     f"none with {verified} preemption{'' if verified == 1 else 's'} or "
                     f"fewer ({runs} exhaustive runs; the "
                     f"{'run' if report.stopped_by == 'max_schedules' else 'time'} limit "
                     "stopped the search)",
                     none_up_to=verified)


def _preemption_note(count: int, runs: int, proved: bool) -> str:
    plural = "" if count == 1 else "s"
    if not proved:
        return f"{count} preemption{plural} (found by the exhaustive search, {runs} runs)"
    return (f"fewest preemptions: {count}; the exhaustive search ({runs} runs) found no "
            f"failure of this kind with fewer")


# The most the deviation passes of ``reduce`` take, whatever the budget: past it they rarely gain,
# and the budget is there for the preemption search, which may need minutes.
SHRINK_CAP = 30.0
MINIMISE_CAP = 30.0


def reduce(outcome: Outcome, *, seconds: float, max_runs: int | None = None) -> Minimised:
    """The simplest failure like ``outcome`` in ``seconds``: the fewest preemptions first
    (``fewest_preemptions``), then ``schedfuzz.reduce.shrink`` and ``minimise`` for the fewest
    deviations among those.

    The preemption search goes first because its answer does not depend on where it starts:
    it explores every schedule below the failure's count, level by level, whatever the failure
    looked like. It gets three quarters of the time. Hypothesis's shrinker edits one drawn byte
    at a time, which leaves a walk's failure with switches that only go away together, or one
    that must move when another goes; the schedule shrinker joins an actor's turns and edits
    the decisions themselves (deletes runs of them, zeroes them, and searches exhaustively
    below its count), and gets the failure down to the few deviations that ``minimise`` can
    check all the schedules below. They share the rest (at most ``SHRINK_CAP`` and
    ``MINIMISE_CAP``), and neither may give back a preemption the first step saved.

    The proofs combine: when the search ran out of time having ruled out K preemptions, and
    the shrinker then found the failure with K + 1, that count is the fewest.

    ``max_runs`` (None: no limit) bounds the runs of all three steps, shared the same way
    (three quarters to the first, half the rest to the shrinker, the rest to ``minimise``);
    with it the caps do not apply, so ``seconds`` can be a generous safety net and the result
    is the same on every machine.
    """
    if not outcome.failed:
        return Minimised(outcome, 0, True, "")
    deadline = clock.now() + seconds
    capped = max_runs is None
    fewest = fewest_preemptions(outcome, seconds=seconds * 3 / 4,
                                max_runs=None if max_runs is None else max_runs * 3 // 4)
    best = fewest.outcome
    limit = best.result.preemptions
    left = max(0.0, deadline - clock.now())
    shrunk = shrink(best, seconds=min(left / 2, SHRINK_CAP) if capped else left / 2,
                    max_runs=None if max_runs is None else (max_runs - fewest.runs) // 2)
    start = best
    if same_failure(best, shrunk.outcome) and size(shrunk.outcome) < size(best) \
            and shrunk.outcome.result.preemptions <= limit:
        start = shrunk.outcome
    left = max(0.0, deadline - clock.now())
    minimal = minimise(start, seconds=min(left, MINIMISE_CAP) if capped else left,
                       max_runs=None if max_runs is None
                       else max(0, max_runs - fewest.runs - shrunk.runs))
    runs = fewest.runs + shrunk.runs + minimal.runs
    stats = {**shrunk.stats(), "unshrunk_preemptions": outcome.result.preemptions,
             "unshrunk_decisions": len(outcome.schedule.decisions)}
    if minimal.outcome.result.preemptions > start.result.preemptions:  # fewer deviations, more
        minimal = attrs.evolve(minimal, outcome=start, note="")  # preemptions: keep the start
    count = minimal.outcome.result.preemptions
    if 0 <= fewest.none_up_to == count - 1:
        proof = (f"fewest preemptions: {count}; the exhaustive search ({fewest.runs} runs) found "
                 f"no failure of this kind with fewer, and the shrinker found this one")
        notes = "; ".join(n for n in (minimal.note, proof) if n)
        return attrs.evolve(minimal, runs=runs, note=notes, complete=True, stats=stats)
    notes = "; ".join(n for n in (minimal.note, fewest.note) if n)
    return attrs.evolve(minimal, runs=runs, note=notes, stats=stats,
                        complete=fewest.complete if fewest.note else minimal.complete)


def smallest(outcome: Outcome, *, seconds: float, max_runs: int | None = None) -> Minimised:
    """``reduce``, then run the smaller failure again the way ``outcome`` ran.

    A livelock candidate is found with fingerprints from step 0; run again under ``outcome``'s
    own settings it is what a replay of its schedule shows. If nothing smaller fails the same
    way, or its second run does not, the result holds ``outcome`` itself.
    """
    minimal = reduce(outcome, seconds=seconds, max_runs=max_runs)
    if minimal.outcome is outcome:
        return minimal
    again = run(outcome.info, schedule=minimal.outcome.schedule, settings=outcome.settings,
                **outcome.params)
    return attrs.evolve(minimal, outcome=again if same_failure(outcome, again) else outcome)
