"""The minimality check: the same failure with fewer deviations, or evidence there is none."""

from __future__ import annotations

import schedfuzz as sf
from schedfuzz import Livelock, ReplayOracle, spawn
from schedfuzz.reduce.minimal import minimise, reduce, smallest
from schedfuzz.settings import Settings

# Shrinking in these tests is bounded by runs, which decide; the seconds are a safety net that
# never binds, so no verdict here depends on the machine's speed.
SAFETY_NET = 3600.0
RUNS = 2000


def test_minimise_finds_the_three_preemption_polite_livelock() -> None:
    """Switching at every step is a livelock with 8 preemptions; the minimum is 3."""
    alternating = sf.run("demo.polite-livelock", oracle=ReplayOracle([1], None, 0))
    assert isinstance(alternating.error, Livelock)
    assert alternating.result.preemptions == 8
    found = minimise(alternating, seconds=SAFETY_NET, max_runs=RUNS)
    assert found.complete
    assert found.outcome.result.preemptions == 3
    assert found.outcome.schedule.decisions == (0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1)
    assert found.note.startswith("minimal: 3 deviations from the default policy; none of the 67")


def test_minimise_says_when_the_default_schedule_fails_and_when_time_ran_out() -> None:
    hang = sf.run("demo.event-hang")
    assert minimise(hang, seconds=SAFETY_NET, max_runs=RUNS).note == (
        "minimal: the default schedule fails this way")
    deadlock = sf.run("demo.abba", oracle=ReplayOracle([1, 1, 1, 1, 1]))
    assert deadlock.kind == "deadlock"
    cut = minimise(deadlock, seconds=0)  # no time: not a single run (what runs == 0 pins)
    assert not cut.complete
    assert cut.outcome is deadlock
    assert cut.runs == 0


def test_minimise_leaves_a_step_bound_alone() -> None:
    def spinner() -> None:
        def spin() -> None:
            n = 0
            while True:
                n += 1  # a growing local: the state never repeats, only the bound can stop it
                sf.checkpoint("spin")

        spawn(spin, name="spin")

    bound = sf.run(spinner, settings=Settings(max_steps=300))
    assert bound.kind == "step_bound"
    assert bound.result.lasso is None
    left = minimise(bound, seconds=SAFETY_NET, max_runs=RUNS)
    assert left.runs == 0
    assert not left.complete
    assert left.note == "minimality not checked (a step bound)"


def test_reduce_gets_a_walks_noisy_failure_to_the_fewest_preemptions() -> None:
    """A walk's failure keeps switches that only go away together; the schedule shrinker removes
    them, and the exhaustive check shows that nothing with fewer deviations fails."""
    noisy = sf.run("demo.lost-update", oracle=ReplayOracle([2, 1, 2, 1, 1, 2, 1], None), n=3)
    assert noisy.kind == "failure"
    assert noisy.result.preemptions > 1
    reduced = reduce(noisy, seconds=SAFETY_NET, max_runs=RUNS)
    assert reduced.complete
    assert reduced.outcome.result.preemptions == 1
    assert reduced.outcome.schedule.deviations == 1
    assert reduced.note.startswith("minimal: 1 deviation from the default policy; none of the")
    # the same, run again as a replay runs it
    shown = smallest(noisy, seconds=SAFETY_NET, max_runs=RUNS).outcome
    assert shown.result.preemptions == 1
    assert type(shown.error) is type(noisy.error)
