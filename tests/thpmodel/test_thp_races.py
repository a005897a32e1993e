"""The registered scenarios under the scheduler: each buggy one gives its verdict, each clean
one none (scenarios.py).

Every search is deterministic: seeded random schedules over a fixed range, or a shrunk
reproducer pinned as its schedule text (found by ``python -m thpmodel --engine random``).
"""

from __future__ import annotations

import os
import subprocess
import sys

from thp_support import labels, oracle

import pytest
import schedfuzz
from thpmodel.page import InvariantViolation

THP = {name: info for name, info in schedfuzz.registry().items() if name.startswith("thp.")}
BUGGY = sorted(name for name, info in THP.items() if info.expect not in (None, "ok"))
CLEAN = sorted(name for name, info in THP.items() if info.expect == "ok")
LIVELOCKS = sorted(name for name, info in THP.items() if info.expect == "livelock")

# Seeds to search: the old wait loop's lost wake-up is a three-task race (1 in ~3000 schedules).
SEARCH = {"thp.pagelock.old-loop-kill": 10_000}
# Other verdicts the same defect may show on the way (SET1 also strands the waiter when the
# pins are gone before it biases; SUB1 lets the split succeed if the pin goes first).
ALSO = {"thp.splitwait.set1": {"hang"}}

# Shrunk reproducers: schedule text and its preemptions.
PINS = {
    "thp.retry.self-ref": ("sf1.AQAB", 0),
    "thp.retry.two-writers": ("sf1.ASMAAAAAAQAAAAAAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAAABA", 3),
    "thp.retry.fault-loop": (
        "sf1.AY4BAQ" + "A" * 187 + "EY", 0),
    "thp.retry.drop-wait": ("sf1.ARkAAAEAAAAAAAEBAQAAAAAAAAEAAAAAAQEBCg", 8),
    "thp.retry.longterm-pin": ("sf1.AQAB", 0),
    "thp.splitwait.self-ref": ("sf1.AQAA", 0),
    "thp.splitwait.set1": ("sf1.AQUCAAIAAgA", 2),
    "thp.splitwait.sub1": ("sf1.AQMBAAEA", 1),
    "thp.splitwait.hold-lock": ("sf1.AQUAAAAAAQA", 1),
    "thp.splitwait.bias-before-enqueue": ("sf1.AQoAAAAAAAABAAEBAA", 3),
    "thp.splitwait.waiters-waker": ("sf1.AQMBAAEA", 1),
    "thp.pagelock.old-loop-kill": ("sf1.AQ8DAAECAgEBAQEBAQICAQEA", 12),
    "thp.pagelock.hybrid-kill": ("sf1.AQsAAAAAAwABAAAAAQA", 2),
    "thp.split.tail-flags-after-unfreeze": ("sf1.ARAAAAAAAAAAAAAAAAAAAAABAA", 1),
    "thp.split.nonatomic-dirty-clear": ("sf1.AQ8AAAAAAAAAAAAAAAAAAAEA", 1),
}


def _search(name: str, want: str, seeds: range, **params: object) -> schedfuzz.Outcome:
    """The first schedule of ``seeds`` with verdict ``want``; any other verdict seen before it
    must be one the scenario is known to show too (``ALSO``)."""
    seen = set()
    for seed in seeds:
        outcome = schedfuzz.run(name, oracle=oracle(seed), **params)
        if outcome.kind == want:
            assert seen <= ALSO.get(name, set()), f"{name}: also saw {seen}"
            return outcome
        if outcome.failed:
            seen.add(outcome.kind)
    raise AssertionError(f"{name}: no {want} in {len(seeds)} schedules (saw {seen})")


@pytest.mark.parametrize("name", BUGGY)
def test_buggy_scenario_gives_its_verdict(name: str) -> None:
    """Random schedules of a buggy scenario find exactly its expected verdict."""
    outcome = _search(name, THP[name].expect or "", range(SEARCH.get(name, 300)))
    if outcome.kind == "failure":
        assert isinstance(outcome.error, InvariantViolation)


@pytest.mark.parametrize("name", CLEAN)
def test_clean_scenario_gives_no_verdict(name: str) -> None:
    """A few hundred random schedules of a clean scenario all finish with every check met."""
    kinds = {schedfuzz.run(name, oracle=oracle(seed)).kind for seed in range(300)}
    assert kinds == {"ok"}


@pytest.mark.parametrize("name", sorted(PINS))
def test_pinned_reproducer(name: str) -> None:
    """The shrunk reproducer replays to the same verdict with the same preemptions."""
    text, preemptions = PINS[name]
    outcome = schedfuzz.run(name, schedule=text)
    assert outcome.kind == THP[name].expect or (name, outcome.kind) == (
        "thp.pagelock.hybrid-kill", "missed_wakeup")
    assert outcome.result.preemptions == preemptions


def test_every_buggy_scenario_has_a_pin() -> None:
    """A new buggy scenario gets its reproducer pinned too."""
    assert set(BUGGY) <= set(PINS)


@pytest.mark.parametrize("name", LIVELOCKS)
def test_livelocks_are_proved_cycles(name: str) -> None:
    """A livelock verdict is a repeated state (a lasso), not a step bound."""
    outcome = _search(name, "livelock", range(20))
    assert outcome.result.lasso is not None
    assert "fair cycle without progress" in str(outcome.error)


def test_fault_loop_terminates_with_a_finite_faulter() -> None:
    """Spec 8.5: T plus a faulter that faults k times terminates."""
    kinds = {schedfuzz.run("thp.retry.fault-loop", oracle=oracle(seed), faults=2).kind
             for seed in range(100)}
    assert kinds == {"ok"}


@pytest.mark.parametrize("lock_algo", ["old-loop", "handoff", "hybrid"])
def test_two_writers_livelock_under_every_lock_algorithm(lock_algo: str) -> None:
    """Spec 8.7 item 2: the ping-pong does not depend on how the page lock is handed on."""
    _search("thp.retry.two-writers", "livelock", range(40), lock_algo=lock_algo)


def test_hybrid_lock_loses_a_wakeup_to_a_killed_waiter() -> None:
    """The open question of spec 5.2 item 5, answered: the killed waiter, woken between its
    signal check and finish_wait, takes the one exclusive wake-up and returns -EINTR."""
    name = "thp.pagelock.hybrid-kill"
    outcome = schedfuzz.run(name, schedule=PINS[name][0])
    assert outcome.kind == "missed_wakeup"
    rows = [(outcome.result.trace.names[aid], label, args or {})
            for aid, label, args in outcome.result.trace.rows]
    broke = next(i for i, (who, label, args) in enumerate(rows)
                 if who == "killable" and args.get("signal") == "pending: break")
    woke = next(i for i, (_, label, args) in enumerate(rows)
                if label == "wake_up_page_bit" and args.get("woken") == "killable")
    left = next(i for i, (who, label, args) in enumerate(rows)
                if who == "killable" and label == "finish_wait")
    assert broke < woke < left
    assert rows[left][2]["result"] == "-EINTR"


def test_handoff_lock_keeps_the_upstream_truncate_clean_with_a_killer() -> None:
    """With killable lockers and a killer, the v5.17 truncate stays clean under hand-off."""
    kinds = {schedfuzz.run("thp.upstream.c17", oracle=oracle(seed), kill=True,
                           lock_algo="handoff").kind for seed in range(200)}
    assert kinds == {"ok"}


@pytest.mark.parametrize("name", ["thp.split.tail-flags-after-unfreeze",
                                  "thp.split.nonatomic-dirty-clear",
                                  "thp.splitwait.waiters-waker"])
def test_waiters_invariant_catches_the_erasing_write(name: str) -> None:
    """With the PG_waiters soundness check on, the same schedules fail at the write that
    erases the bit, before anybody is stuck."""
    outcome = schedfuzz.run(name, schedule=PINS[name][0], check_waiters=True)
    assert isinstance(outcome.error, InvariantViolation)
    assert outcome.error.invariant == "waiters_flag_sound"


def test_trace_reads_like_kernel_code() -> None:
    """The explanation names kernel functions and shows page fields and refcount moves."""
    outcome = schedfuzz.run("thp.splitwait.waiters-waker", schedule=PINS[
        "thp.splitwait.waiters-waker"][0])
    text = schedfuzz.explain(outcome)
    for piece in ("MissedWakeup", "can_split_huge_page(page=head, refcount=6, mapcount=0",
                  "split_huge_page_wait: bias refcount(page=head, bias=SUBX, refcount=6->1)",
                  "put_page(page=head, refcount=1->0)",
                  "__ClearPageWaiters", "split_transhuge_page",
                  "wake_up_page: PageWaiters?(page=head, bit=split, result=no PG_waiters"):
        assert piece in text, piece


def test_same_schedule_same_trace() -> None:
    """A schedule replays to the identical trace."""
    one = schedfuzz.run("thp.upstream.c17", oracle=oracle(7))
    two = schedfuzz.run("thp.upstream.c17", oracle=oracle(7))
    assert one.result.trace.lines() == two.result.trace.lines()


def test_trace_does_not_depend_on_the_hash_seed() -> None:
    """The same schedule gives the same trace in a process with another PYTHONHASHSEED."""
    code = ("import schedfuzz; from thp_support import oracle; "
            "o = schedfuzz.run('thp.upstream.c57', oracle=oracle(3)); "
            "print('\\n'.join(o.result.trace.lines()))")
    here = os.path.dirname(__file__)
    out = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=here, env={**os.environ, "PYTHONHASHSEED": seed}
                          ).stdout for seed in ("1", "2")]
    assert out[0] == out[1]
    assert out[0].count("\n") > 50


def test_retry_statistics_stay_out_of_the_fingerprint() -> None:
    """Retries are counted, and the counter does not keep the livelock from repeating."""
    outcome = _search("thp.retry.two-writers", "livelock", range(20))
    assert outcome.result.lasso is not None
    assert "split_huge_page failed: goto retry" in labels(outcome)
