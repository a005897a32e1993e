"""The ``dfs`` engine's livelock claims: found where they exist, checked or said not to be.

A bounded ``dfs`` proof says "no failure with at most K preemptions and no livelock within that
bound" only when it looked for every livelock whose stem and one turn cost at most K; otherwise
it says livelocks were not checked. The polite back-off livelock below has no ``progress()``
marks and no ``snapshot()``: a search that looked only at whole runs never saw its cycle (each
run soon spends its preemptions and the fair default policy leaves the cycle), and said
"verified". Its state is held in each of the places a scenario may keep it: actor arguments,
closure cells, an object's attributes and module globals.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import schedfuzz as sf
from schedfuzz import Lock, checkpoint, spawn
from schedfuzz.cli import main
from schedfuzz.explore import Budget, Report, explore
from schedfuzz.search import dfs

BOUND = 6  # preemptions: the polite livelock needs 3 (stem and one turn)
RUNS = 20_000  # every search here ends well within this many runs


def _polite(mine: Lock, theirs: Lock) -> None:
    """Take my lock, try theirs; if taken, let go and retry: no progress mark anywhere."""
    while True:
        mine.acquire()
        if theirs.try_acquire():
            theirs.release()
            mine.release()
            return
        mine.release()
        checkpoint("back off", yield_=True)


@sf.scenario("test.dfs-livelock.arguments", expect="livelock")
def polite_by_arguments() -> None:
    """``demo.polite-livelock`` without its progress mark and snapshot: the locks are the
    actors' arguments, so they are in the actors' frames."""
    left, right = Lock("left"), Lock("right")
    spawn(_polite, left, right, name="alice")
    spawn(_polite, right, left, name="bob")


@sf.scenario("test.dfs-livelock.closure", expect="livelock")
def polite_by_closure() -> None:
    """The same, each actor a closure that reaches the locks through its cells only."""
    left, right = Lock("left"), Lock("right")

    def alice() -> None:
        _polite(left, right)

    def bob() -> None:
        while True:  # written out: the locks are read from cells at every round
            right.acquire()
            if left.try_acquire():
                left.release()
                right.release()
                return
            right.release()
            checkpoint("back off", yield_=True)

    spawn(alice, name="alice")
    spawn(bob, name="bob")


class _Diner:
    """An actor whose locks are attributes of the object its method runs on."""

    def __init__(self, mine: Lock, theirs: Lock) -> None:
        self.mine = mine
        self.theirs = theirs

    def run(self) -> None:
        while True:
            self.mine.acquire()
            if self.theirs.try_acquire():
                self.theirs.release()
                self.mine.release()
                return
            self.mine.release()
            checkpoint("back off", yield_=True)


@sf.scenario("test.dfs-livelock.attributes", expect="livelock")
def polite_by_attributes() -> None:
    left, right = Lock("left"), Lock("right")
    spawn(_Diner(left, right).run, name="alice")
    spawn(_Diner(right, left).run, name="bob")


LOCKS: dict[str, Lock] = {}  # set by each run of the scenario below


def _polite_global(mine: str, theirs: str) -> None:
    """The locks live in a module global, named by string arguments."""
    while True:
        LOCKS[mine].acquire()
        if LOCKS[theirs].try_acquire():
            LOCKS[theirs].release()
            LOCKS[mine].release()
            return
        LOCKS[mine].release()
        checkpoint("back off", yield_=True)


@sf.scenario("test.dfs-livelock.global", expect="livelock")
def polite_by_global() -> None:
    LOCKS.clear()
    LOCKS.update(left=Lock("left"), right=Lock("right"))
    spawn(_polite_global, "left", "right", name="alice")
    spawn(_polite_global, "right", "left", name="bob")


def _dfs(name: str, **options: Any) -> Report:
    info = sf.resolve(name)
    return dfs.search(info, {}, info.settings or sf.Settings(), Budget(max_schedules=RUNS),
                      **options)


@pytest.mark.parametrize("name", ["test.dfs-livelock.arguments", "test.dfs-livelock.closure",
                                  "test.dfs-livelock.attributes", "test.dfs-livelock.global"])
def test_bounded_dfs_finds_the_polite_livelock_without_a_snapshot(name: str) -> None:
    report = explore(name, engine_name="dfs",
                     budget=Budget(max_schedules=RUNS, max_preemptions=BOUND))
    assert report.verdict == "livelock"
    assert report.outcome is not None
    assert report.outcome.result.lasso is not None  # a proved lasso, not a step bound
    assert report.livelock_proved is True
    # Stem and one turn take 3 preemptions, and the levels below were all explored.
    assert report.outcome.result.preemptions == 3
    assert report.stats["min_preemptions"] == 3
    assert "at 3 preemptions" in report.note
    assert report.proof == "none"
    assert not report.verified


def test_the_cli_reports_the_polite_livelock_instead_of_verifying(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explore", "test.dfs-livelock.arguments", "--engine", "dfs",
                 "--max-preemptions", str(BOUND)])
    out = capsys.readouterr().out
    assert code == 1
    assert "livelock" in out
    assert "verified: no failure" not in out


def test_a_search_without_state_caching_says_it_did_not_check_livelocks() -> None:
    report = _dfs("test.dfs-livelock.arguments", stateful=False, max_preemptions=BOUND)
    assert report.verdict == "ok"
    assert report.proof == "bounded"
    assert report.proof_bound == BOUND
    assert report.livelocks_checked is False
    assert "livelocks not checked" in report.note
    assert "no livelock" not in report.note


@sf.scenario("test.dfs-livelock.clean", expect="ok")
def polite_with_an_order() -> None:
    """The polite actors fixed: both take the locks in one order, so nobody backs off."""
    left, right = Lock("left"), Lock("right")
    spawn(_polite, left, right, name="alice")
    spawn(_polite, left, right, name="bob")


def test_a_clean_scenario_gets_a_bounded_proof_that_covers_livelocks() -> None:
    report = _dfs("test.dfs-livelock.clean", max_preemptions=2)
    assert report.verdict == "ok"
    assert report.proof == "bounded"
    assert report.proof_bound == 2
    assert report.livelocks_checked is True
    assert report.inexact == ()
    assert report.note.startswith("verified: no failure with at most 2 preemptions and no "
                                  "livelock within that bound (")


def test_a_clean_scenario_gets_a_complete_proof_without_a_bound() -> None:
    report = _dfs("test.dfs-livelock.clean")
    assert report.verdict == "ok"
    assert report.proof == "complete"
    assert report.livelocks_checked is True
    assert report.note.startswith("verified: complete state space")
    assert report.note.endswith("no failure and no livelock")


@sf.scenario("test.dfs-livelock.digest", expect="ok")
def digest_under_a_lock() -> None:
    """Two actors feed a hash object under a lock. Its content is hidden in C: two states
    that differ only in what was fed cannot be told apart, so none may be merged."""
    lock = Lock("L")
    digest = hashlib.sha256()

    def feed(data: bytes) -> None:
        for _ in range(2):
            with lock:
                digest.update(data)

    spawn(feed, b"a", name="a")
    spawn(feed, b"b", name="b")


@pytest.mark.parametrize("bound", [None, 2])
def test_an_uncomparable_value_leaves_no_state_space_or_livelock_claim(
        bound: int | None) -> None:
    report = _dfs("test.dfs-livelock.digest", max_preemptions=bound)
    assert report.verdict == "ok"
    assert report.inexact  # named: the type, and where it was reached
    assert report.livelocks_checked is False
    assert report.proof != "complete"
    assert "complete state space" not in report.note
    assert "no livelock" not in report.note
    # Every schedule was still run: the bound's (or every level's) failure proof holds.
    assert report.proof == "bounded"
    if bound is not None:
        assert report.proof_bound == bound
    # No state was taken for another: as many runs as a search that compares none.
    assert report.stats["pruned"] == 0
    stateless = _dfs("test.dfs-livelock.digest", max_preemptions=bound, stateful=False)
    assert report.schedules == stateless.schedules


def test_a_resumed_search_keeps_what_it_could_not_compare(tmp_path: Path) -> None:
    """A checkpoint holds the uncomparable values met and the states kept without a key: the
    resumed search ends as the uninterrupted one, with no livelock claim either."""
    info = sf.resolve("test.dfs-livelock.digest")
    whole = _dfs("test.dfs-livelock.digest", max_preemptions=2)
    path = str(tmp_path / "digest.ckpt")
    first = dfs.DfsSearch(info, {}, sf.Settings(), Budget(max_schedules=10, checkpoint=path),
                          max_preemptions=2).explore()
    assert first.stopped_by == "max_schedules"
    assert first.inexact
    resumed = dfs.DfsSearch(info, {}, sf.Settings(), Budget(max_schedules=RUNS, checkpoint=path),
                            max_preemptions=2).explore()
    assert resumed.schedules == whole.schedules
    assert resumed.stats["states"] == whole.stats["states"]
    assert resumed.inexact == whole.inexact
    assert resumed.livelocks_checked is False
    assert resumed.proof == "bounded"
