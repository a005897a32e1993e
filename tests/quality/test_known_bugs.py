"""The Hypothesis search finds every demo bug and shrinks it to the fewest preemptions.

Each case states the minimum number of preemptions of a reproducer and why nothing smaller can
show the bug, then checks that the ``hypothesis`` engine, from a fixed seed, finds the bug within
1,000 schedules, reports exactly that many preemptions, and gives the pinned schedule (the
decisions at every choice point of the reported run, and for a livelock where its cycle starts).
Shrinking is bounded by ``Budget.shrink_seconds``; the report says whether it hit the bound.

A preemption is a switch away from an actor that could have gone on. The default policy
switches only when the current actor finishes, blocks or yields, so a schedule without
preemptions runs each actor from one of those points to the next without interference.
"""

from __future__ import annotations

import attrs

import pytest
from schedfuzz import registry
from schedfuzz.errors import Livelock
from schedfuzz.explore import Budget, explore
from schedfuzz.schedule import Schedule

SEED = 0
BUDGET = Budget(max_schedules=1000, seed=SEED, shrink_seconds=30)


@attrs.frozen
class KnownBug:
    scenario: str
    verdict: str
    preemptions: int
    decisions: tuple[int, ...]
    cycle_start: int | None
    why: str


KNOWN_BUGS = [
    KnownBug(
        "demo.lost-update", "failure", 1, (0, 0, 1, 0, 0), None,
        "Without a preemption each actor runs its load and its store back to back (neither "
        "blocks nor yields in between), so every increment is atomic and the counter ends at 2. "
        "One preemption between inc0's load and store, letting inc1 run, loses inc1's update."),
    KnownBug(
        "demo.abba", "deadlock", 1, (0, 0, 1, 0, 0), None,
        "Without a preemption the first actor to run takes A and B with nobody holding them, "
        "never blocks, and releases both before the other starts: no cycle of waits can form. "
        "One preemption after one's acquire(A) lets two take B and both then block."),
    KnownBug(
        "demo.condition-missed-wakeup", "missed_wakeup", 0, (1, 0, 0, 0), None,
        "No preemption is needed: the one deviation is at the very first choice point, where no "
        "actor runs yet, so starting the notifier first preempts nobody. Its notify finds no "
        "waiter and is lost; the waiter then waits for ever. The default schedule itself starts "
        "the waiter first and is fine, so one deviation is the least."),
    KnownBug(
        "demo.event-hang", "hang", 0, (0, 0, 0), None,
        "Nobody ever sets the event 'never', so the waiter hangs under every schedule, the "
        "default one included."),
    KnownBug(
        "demo.polite-livelock", "livelock", 3, (0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1), 3,
        "In a livelock every attempt fails: alice's try_acquire(right) needs bob to hold right, "
        "so it falls inside one of bob's acquire..release windows, and bob's failing try falls "
        "inside one of alice's. An actor leaves the processor inside its own window only by a "
        "preemption (its only yield is the back-off after the release, and acquire never blocks "
        "without the other having succeeded), so every round of the cycle preempts each actor "
        "at least once: 2 per cycle. Before the first failing try the first actor to start must "
        "also be preempted inside its first window, while the other has not started (a state "
        "the cycle never returns to), so the stem holds 1 more: 3 in stem and cycle together. "
        "Hypothesis's own shrinking stops at switching on every step (8 preemptions); the "
        "engine's minimality check finds the 3."),
    KnownBug(
        "demo.self-retry", "livelock", 0, (0, 0, 0, 0, 0), 5,
        "The retrier try-locks a lock it already holds, which fails under every schedule: the "
        "default schedule already runs round the lasso."),
]


@pytest.mark.parametrize("bug", KNOWN_BUGS, ids=lambda bug: bug.scenario)
def test_found_and_shrunk_to_the_fewest_preemptions(bug: KnownBug) -> None:
    assert registry()[bug.scenario].expect == bug.verdict
    report = explore(bug.scenario, engine_name="hypothesis", budget=BUDGET)
    assert report.verdict == bug.verdict, report.note
    assert report.first_failure is not None
    assert report.first_failure[0] <= 1000
    assert report.stats["shrink_timed_out"] is False  # shrinking ended within the bound
    assert report.stats["minimal_verified"] is True  # none with fewer deviations fails this way
    assert "minimal:" in report.note
    outcome = report.outcome
    assert outcome is not None
    assert outcome.result.preemptions == bug.preemptions, bug.why
    assert outcome.schedule == Schedule(bug.decisions, bug.cycle_start)
    if bug.verdict == "livelock":  # a proved lasso, stem and cycle, not a step bound
        assert isinstance(outcome.error, Livelock)
        assert outcome.error.proved
        assert outcome.result.lasso is not None


def test_a_long_terminating_loop_gets_no_verdict() -> None:
    """10,000 steps of one actor: no choice point, so one run is the whole (clean) space."""
    report = explore("demo.bounded-loop", engine_name="hypothesis",
                     budget=Budget(max_schedules=300, seed=SEED))
    assert report.verdict == "ok"
    assert report.complete


def test_a_spin_wait_gets_no_verdict() -> None:
    report = explore("demo.spin-wait", engine_name="hypothesis",
                     budget=Budget(max_schedules=300, seed=SEED))
    assert report.verdict == "ok"
    assert report.schedules == 300
