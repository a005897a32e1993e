"""Every thpmodel bug: the Hypothesis reproducer has exactly the preemptions the exhaustive
engine proves necessary.

For each buggy scenario the table gives its verdict and the fewest preemptions any schedule
needs to show it, as the ``dfs`` engine proves them: it runs every schedule with 0, 1, 2, ...
preemptions (with state caching, and for a livelock the cheapest fair cycle of its state graph:
stem plus one turn), so its first failure of that kind costs the minimum. The ``hypothesis``
engine must find the bug from a fixed seed and report a reproducer with exactly that count.

Two of the proofs are expensive (``old-loop-kill`` explores about 135,000 states to reach 6,
``set1`` about 330,000 to reach 2); they are checked once, inside the Hypothesis run, whose
reduction *is* that search (``minimal.fewest_preemptions``), and whose note says so.
"""

from __future__ import annotations

import pytest
import schedfuzz as sf
from schedfuzz.explore import Budget, explore
from schedfuzz.search import dfs

# name: (verdict, fewest preemptions, exhaustive proof affordable in the suite)
THP_BUGS = {
    "thp.retry.self-ref": ("livelock", 0, True),
    "thp.retry.fault-loop": ("livelock", 0, True),
    "thp.retry.longterm-pin": ("livelock", 0, True),
    "thp.splitwait.self-ref": ("hang", 0, True),
    "thp.splitwait.sub1": ("hang", 1, True),
    "thp.splitwait.hold-lock": ("deadlock", 1, True),
    "thp.splitwait.waiters-waker": ("missed_wakeup", 1, True),
    "thp.split.tail-flags-after-unfreeze": ("missed_wakeup", 1, True),
    "thp.split.nonatomic-dirty-clear": ("missed_wakeup", 1, True),
    "thp.splitwait.bias-before-enqueue": ("missed_wakeup", 2, True),
    "thp.pagelock.hybrid-kill": ("missed_wakeup", 2, True),
    "thp.retry.two-writers": ("livelock", 3, True),
    "thp.retry.drop-wait": ("livelock", 3, True),
    "thp.splitwait.set1": ("failure", 2, False),
    "thp.pagelock.old-loop-kill": ("missed_wakeup", 6, False),
}


def _registered(name: str) -> sf.scenario.ScenarioInfo:
    registry = sf.registry()
    if name not in registry:
        pytest.skip(f"{name} is not registered (thpmodel not installed)")
    return registry[name]


def test_the_table_covers_every_buggy_thp_scenario() -> None:
    _registered("thp.retry.self-ref")
    buggy = {name for name, info in sf.registry().items()
             if name.startswith("thp.") and info.expect != "ok"}
    assert buggy == set(THP_BUGS)


@pytest.mark.parametrize("name", [n for n, (_, _, cheap) in THP_BUGS.items() if cheap])
def test_exhaustive_minimum(name: str) -> None:
    info = _registered(name)
    kind, minimum, _ = THP_BUGS[name]
    report = dfs.search(info, {}, info.settings or sf.Settings(),
                        Budget(max_schedules=1 << 40, seconds=600),
                        accept=lambda result: result.kind == kind)
    assert report.verdict == kind, report.note
    assert report.stats["min_preemptions"] == minimum, report.note
    assert report.outcome is not None
    assert report.outcome.result.preemptions == minimum


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=() if cheap else pytest.mark.heavy)
    for name, (_, _, cheap) in THP_BUGS.items()])
def test_hypothesis_reproducer_has_the_exhaustive_minimum(name: str) -> None:
    info = _registered(name)
    kind, minimum, _ = THP_BUGS[name]
    report = explore(info, engine_name="hypothesis",
                     budget=Budget(max_schedules=20_000, search_seconds=300, seed=0,
                                   shrink_seconds=900))
    assert report.verdict == kind, report.note
    outcome = report.outcome
    assert outcome is not None
    assert outcome.result.preemptions == minimum, report.note
    assert report.stats["minimal_verified"] is True, report.note
    if minimum:  # the exhaustive search below the count ran to its end
        assert f"fewest preemptions: {minimum}; the exhaustive search" in report.note
        assert "found no failure of this kind with fewer" in report.note
    assert sf.run(info, schedule=outcome.schedule).kind == kind  # replays as reported
