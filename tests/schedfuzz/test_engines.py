"""The random, PCT and exhaustive engines: verdicts, minimality, proofs, determinism, workers."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import schedfuzz as sf
from schedfuzz import AtomicInt, Lock, checkpoint, progress, snapshot, spawn
from schedfuzz._core import clock
from schedfuzz.engines import pct
from schedfuzz.engines.random_walk import derive_seed
from schedfuzz.explore import Budget, explore
from schedfuzz.search import dfs
from schedfuzz.search import oracle as dfs_oracle
from schedfuzz.search.stategraph import Edge, StateGraph

# Buggy demo scenarios: the verdict and the fewest preemptions that expose it, as the exhaustive
# search proves them (it explores every schedule with fewer first).
DEMO_MINIMUM = {
    "demo.lost-update": ("failure", 1),
    "demo.abba": ("deadlock", 1),
    "demo.condition-missed-wakeup": ("missed_wakeup", 0),
    "demo.event-hang": ("hang", 0),
    "demo.self-retry": ("livelock", 0),
}

# thpmodel bugs that every engine finds quickly, with the proved minimum.
THP_MINIMUM = {
    "thp.splitwait.sub1": ("hang", 1),
    "thp.splitwait.hold-lock": ("deadlock", 1),
    "thp.splitwait.waiters-waker": ("missed_wakeup", 1),
    "thp.split.tail-flags-after-unfreeze": ("missed_wakeup", 1),
    "thp.split.nonatomic-dirty-clear": ("missed_wakeup", 1),
}


# Searches here are bounded by schedules and shrinking by runs, which decide; the seconds are a
# safety net that never binds, so no verdict depends on the machine's speed.
SAFETY_NET = 3600.0
SHRINK_RUNS = 2000


def _dfs(name: str, **options: Any) -> sf.explore.Report:
    info = sf.resolve(name)
    return dfs.search(info, {}, info.settings or sf.Settings(),
                      Budget(max_schedules=20_000, seconds=SAFETY_NET), **options)


def _thp(name: str) -> None:
    if name not in sf.registry():
        pytest.skip(f"{name} is not registered (thpmodel not installed)")


# -- the exhaustive engine ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DEMO_MINIMUM))
def test_dfs_finds_each_demo_bug_with_the_fewest_preemptions(name: str) -> None:
    kind, minimum = DEMO_MINIMUM[name]
    report = explore(name, engine_name="dfs", budget=Budget(max_schedules=5000))
    assert report.verdict == kind
    assert report.stats["min_preemptions"] == minimum
    assert report.outcome is not None
    assert report.outcome.result.preemptions == minimum
    assert f"{kind} at cost {minimum}" in report.note


def test_dfs_proves_a_clean_demo_free_of_failures_up_to_two_preemptions() -> None:
    report = _dfs("demo.spin-wait", stateful=False, max_preemptions=2)
    assert report.verdict == "ok"
    assert not report.failed
    assert report.note == ("verified: no failure with at most 2 preemptions (457 runs); "
                           "livelocks not checked (a stateless search: a livelock may need "
                           "more preemptions than any bound)")
    assert not report.livelocks_checked
    assert report.schedules == 457
    assert report.stats["verified_preemptions"] == 2
    assert not report.complete  # more preemptions would give more schedules


def test_dfs_levels_grow_and_each_level_is_a_proof() -> None:
    counts = [_dfs("demo.spin-wait", stateful=False, max_preemptions=k).schedules
              for k in (0, 1, 2)]
    assert counts == [2, 70, 457]


def test_dfs_runs_out_of_budget_without_claiming_a_proof() -> None:
    info = sf.resolve("demo.spin-wait")
    report = dfs.search(info, {}, sf.Settings(), Budget(max_schedules=1), stateful=False)
    assert report.verdict == "ok"
    assert report.note.startswith("not verified: the budget ran out at 0 preemptions")
    assert not report.complete


STEPS_AND_CHECKS = [0, 0]  # steps the actors took, invariant checks: over every run


@sf.scenario("test.engines.torn-pair", expect="failure")
def torn_pair() -> None:
    """A writer adds 2 in two steps; a reader that looks in between sees an odd value, which the
    invariant (checked after every step) rejects. One preemption exposes it."""
    shared = {"x": 0, "seen": 0}

    # A step runs an actor from one scheduling point to the next: count each one as it begins.
    def step() -> None:
        checkpoint("step")
        STEPS_AND_CHECKS[0] += 1

    def writer() -> None:
        STEPS_AND_CHECKS[0] += 1
        for _ in range(2):
            step()
            shared["x"] += 1

    def reader() -> None:
        STEPS_AND_CHECKS[0] += 1
        step()
        shared["seen"] = shared["x"]
        step()

    def even() -> None:
        STEPS_AND_CHECKS[1] += 1
        assert shared["seen"] % 2 == 0, f"reader saw a torn value {shared['seen']}"

    spawn(writer, name="writer")
    spawn(reader, name="reader")
    sf.invariant(even)


def test_dfs_rechecks_no_replayed_step_and_still_finds_an_invariant_violation() -> None:
    STEPS_AND_CHECKS[:] = [0, 0]
    report = _dfs("test.engines.torn-pair", stateful=False)
    assert report.verdict == "failure"
    assert report.stats["min_preemptions"] == 1
    assert "torn value 1" in str(report.outcome.result.error)
    steps, checks = STEPS_AND_CHECKS
    # Each run replays the steps before its last prefix answer, which an earlier run checked.
    assert report.schedules > 1
    assert 0 < checks < steps


@sf.scenario("test.engines.locked-counter", expect="ok")
def locked_counter(n: int = 2, rounds: int = 2) -> None:
    """n actors each add 1 to a counter under a lock, ``rounds`` times; a clean program."""
    lock = Lock("L")
    counter = AtomicInt(0, "counter")

    def worker() -> None:
        for _ in range(rounds):
            with lock:
                counter.store(counter.load() + 1)

    for i in range(n):
        spawn(worker, name=f"w{i}")
    snapshot(lambda: (counter.value,))


def test_stateful_dfs_checks_a_complete_state_space() -> None:
    report = _dfs("test.engines.locked-counter")
    assert report.complete
    assert report.stats["stateful"] is True
    states = report.stats["states"]
    assert report.note.startswith(f"verified: complete state space, {states} states")
    assert "no failure and no livelock" in report.note
    # Caching pays: the stateless search of the same program runs far more schedules.
    stateless = _dfs("test.engines.locked-counter", stateful=False)
    assert stateless.complete
    assert stateless.schedules > 3 * report.schedules


def test_stateful_dfs_proves_the_spin_wait_terminates() -> None:
    report = _dfs("demo.spin-wait", stateful=True)
    assert report.complete
    assert report.verdict == "ok"
    assert report.note.startswith("verified: complete state space")


def test_stateful_dfs_finds_the_polite_livelock_no_sampler_can() -> None:
    report = _dfs("demo.polite-livelock", stateful=True)
    assert report.verdict == "livelock"
    assert report.outcome is not None
    assert report.outcome.result.lasso is not None  # a confirmed lasso, not a step bound
    assert report.outcome.schedule.cycle_start is not None
    assert report.stats["min_preemptions"] == 3
    again = sf.run("demo.polite-livelock", schedule=report.outcome.schedule)
    assert again.kind == "livelock"
    # A livelock needs the adversary forever: a random walk always escapes it. Only the
    # pumping step after the search (engines.pump) repeats a cycle a walk went round once.
    sampled = explore("demo.polite-livelock", engine_name="random",
                      budget=Budget(max_schedules=300))
    assert sampled.schedules == 300  # no sampled schedule found it
    assert sampled.verdict == "livelock"
    assert sampled.stats["pump_runs"] > 0


def test_dfs_without_choice_points_is_complete_at_once() -> None:
    report = explore("demo.bounded-loop", engine_name="dfs", iterations=5)
    assert report.complete
    assert report.schedules == 1


def test_progress_cycles_are_not_livelocks() -> None:
    """A cycle with a progress mark in the state graph is no livelock."""

    def scenario() -> None:
        flag = AtomicInt(0, "flag")

        def ticker() -> None:
            for _ in range(3):
                flag.store(1 - flag.load())
                progress("tick")

        spawn(ticker, name="a")
        spawn(ticker, name="b")
        snapshot(lambda: flag.value)

    info = sf.resolve(scenario)
    report = dfs.search(info, {}, sf.Settings(), Budget(max_schedules=20_000))
    assert report.verdict == "ok"
    assert report.complete


# -- the state graph's livelock test ------------------------------------------------------------


def _graph(edges: list[tuple[int, int, int, int, int, bool]] | list[tuple[int, int, int, int,
                                                                       int, bool, int]],
           enabled: list[int]) -> StateGraph:
    g = StateGraph()
    for i, mask in enumerate(enabled):  # state i first reached after i decisions
        g.add(g.key(("s", i)), i, mask, i)
    for e in edges:
        g.edges.append(Edge(*e))
    return g


def test_fair_cycle_requires_every_always_enabled_actor_to_run() -> None:
    # Two states, both actors enabled in both; only actor 0 ever runs between them: unfair.
    unfair = _graph([(0, 0, 1, 0b01, 0b11, False), (1, 0, 0, 0b01, 0b11, False)], [0b11, 0b11])
    assert unfair.fair_cycle() is None
    # Actor 1 runs on the way back: fair, and the cycle is the two decisions.
    fair = _graph([(0, 0, 1, 0b01, 0b11, False), (1, 1, 0, 0b10, 0b11, False)], [0b11, 0b11])
    assert fair.fair_cycle() == ((), (0, 1))
    # The same cycle with a progress mark on one edge is no livelock.
    busy = _graph([(0, 0, 1, 0b01, 0b11, False), (1, 1, 0, 0b10, 0b11, True)], [0b11, 0b11])
    assert busy.fair_cycle() is None


def test_fair_cycle_accepts_an_actor_disabled_somewhere_on_it() -> None:
    # Actor 1 is disabled in state 1, so a cycle where only actor 0 runs is fair.
    g = _graph([(0, 0, 1, 0b01, 0b11, False), (1, 0, 0, 0b01, 0b01, False)], [0b11, 0b01])
    assert g.fair_cycle() == ((), (0, 0))


def test_fair_cycle_prefers_a_simple_cycle_that_the_run_loop_can_confirm() -> None:
    # A figure eight through state 0: each loop alone is unfair, both together are fair.
    g = _graph([(0, 0, 1, 0b01, 0b11, False), (1, 0, 0, 0b01, 0b11, False),
                (0, 1, 2, 0b10, 0b11, False), (2, 0, 0, 0b10, 0b11, False)],
               [0b11, 0b11, 0b11])
    stem, cycle = g.fair_cycle() or ((), ())
    assert stem == ()
    assert sorted(cycle) == [0, 0, 0, 1]  # the walk through every edge


def test_cheapest_lasso_adds_the_way_in_to_one_turn_round_the_cycle() -> None:
    # State 0 reaches a fair cycle 1 <-> 2 for free, which costs 2 preemptions per turn, and
    # (by a preemption) state 3, whose fair cycle 3 <-> 4 costs none: 1 in all beats 2.
    g = _graph([(0, 0, 1, 0b01, 0b11, False, 0), (1, 1, 2, 0b10, 0b11, False, 1),
                (2, 1, 1, 0b01, 0b11, False, 1), (0, 1, 3, 0b10, 0b11, False, 1),
                (3, 0, 4, 0b01, 0b11, False, 0), (4, 0, 3, 0b10, 0b11, False, 0)],
               [0b11] * 5)
    lasso = g.cheapest_lasso()
    assert lasso is not None
    assert (lasso.stem, lasso.cycle, lasso.cost) == ((1,), (0, 0), 1)


def test_cheapest_lasso_takes_the_cheapest_way_in_not_the_first_found() -> None:
    # State 2 was first reached through a preemption (0 -> 1 -> 2 costs 1); a free way
    # (0 -> 3 -> 2) was found later. The stem must be the free one.
    g = _graph([(0, 1, 1, 0b10, 0b11, False, 1), (1, 0, 2, 0b10, 0b11, False, 0),
                (0, 0, 3, 0b01, 0b11, False, 0), (3, 1, 2, 0b10, 0b11, False, 0),
                (2, 0, 2, 0b11, 0b11, False, 0)],
               [0b11] * 4)
    lasso = g.cheapest_lasso()
    assert lasso is not None
    assert (lasso.stem, lasso.cycle, lasso.cost) == ((0, 1), (0,), 0)


def test_dfs_livelock_has_the_fewest_preemptions_of_any_lasso() -> None:
    """The polite actors' livelock needs 3 preemptions in stem and one turn (see
    tests/quality/test_known_bugs.py for why). The state graph holds cheaper-looking cycles
    found at lower levels; the search reports the cheapest lasso once every state and edge
    that costs that much has been explored, and its replay counts the same 3."""
    report = _dfs("demo.polite-livelock", stateful=True)
    assert report.verdict == "livelock"
    assert report.stats["min_preemptions"] == 3
    assert report.outcome is not None
    assert report.outcome.result.preemptions == 3
    assert "at 3 preemptions (stem and one turn" in report.note




# -- the bound's last level: states that cannot branch are looked up, not kept -------------------


KEEP_EVERY = dfs_oracle.KEEP_EVERY


def _keeping(name: str, keep_all: bool, monkeypatch: pytest.MonkeyPatch, bound: int,
             **params: Any) -> sf.explore.Report:
    """A stateful search up to ``bound``; ``keep_all`` keeps every state, as if none were
    forced."""
    monkeypatch.setattr(dfs_oracle, "KEEP_EVERY", 0 if keep_all else KEEP_EVERY)
    info = sf.resolve(name)
    return dfs.DfsSearch(info, params, info.settings or sf.Settings(),
                         Budget(max_schedules=20_000, seconds=SAFETY_NET), stateful=True,
                         max_preemptions=bound).explore()


def test_last_level_keeps_only_the_states_that_branch_and_proves_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _thp("thp.upstream.c17")
    every = _keeping("thp.upstream.c17", True, monkeypatch, 2, actors="writer")
    some = _keeping("thp.upstream.c17", False, monkeypatch, 2, actors="writer")
    assert every.verdict == some.verdict == "ok"
    assert every.stats["verified_preemptions"] == some.stats["verified_preemptions"] == 2
    assert every.stats["runs"] == some.stats["runs"]  # the same subtrees are run
    assert some.stats["states"] * 2 < every.stats["states"]
    assert some.stats["graph_bytes"] * 2 < every.stats["graph_bytes"]


def test_a_livelock_closing_through_states_not_kept_is_still_found(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The polite actors' cycle passes states first kept at a lower cost, and comes back to them
    on the last level, where the bound leaves one answer: a state not kept is still looked up,
    so the cycle closes, with the same stem and turn as when every state is kept."""
    every = _keeping("demo.polite-livelock", True, monkeypatch, 3)
    some = _keeping("demo.polite-livelock", False, monkeypatch, 3)
    assert every.verdict == some.verdict == "livelock"
    assert some.stats["min_preemptions"] == 3
    assert some.outcome is not None
    assert every.outcome is not None
    assert some.outcome.schedule == every.outcome.schedule
    assert some.outcome.result.preemptions == 3
    assert some.stats["states"] < every.stats["states"]


def test_a_loop_of_forced_choice_points_is_cut_not_run_to_the_step_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two actors that tick forever, each tick a progress mark: at 0 preemptions every choice
    point is forced. One in ``KEEP_EVERY`` is kept anyway, so the run meets it again and stops;
    without that the run would go on to the step bound and end in a step_bound verdict."""

    @sf.scenario("test.forced-tickers")
    def tickers() -> None:
        def tick() -> None:
            while True:
                progress("tick")
                checkpoint("tick")

        spawn(tick, name="a")
        spawn(tick, name="b")
        snapshot(lambda: None)

    report = _keeping("test.forced-tickers", False, monkeypatch, 0)
    assert report.verdict == "ok"
    # The cycle is 128 steps (the quantum's 64 for each actor): one state in 8 of it is kept.
    assert report.note == ("verified: no failure with at most 0 preemptions and no livelock "
                           "within that bound (30 states, 2 runs)")
    monkeypatch.setattr(dfs_oracle, "KEEP_EVERY", 1 << 62)
    info = sf.resolve("test.forced-tickers")
    unbounded = dfs.DfsSearch(info, {}, sf.Settings(max_steps=2000), Budget(max_schedules=10),
                              stateful=True, max_preemptions=0).explore()
    assert unbounded.verdict == "step_bound"  # the bound, not a proof
# -- the sampling engines ------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["random", "pct"])
@pytest.mark.parametrize("name", sorted(DEMO_MINIMUM))
def test_sampled_failures_shrink_to_the_exhaustive_minimum(engine: str, name: str) -> None:
    kind, minimum = DEMO_MINIMUM[name]
    report = explore(name, engine_name=engine, budget=Budget(max_schedules=500, seed=3))
    assert report.verdict == kind
    assert report.outcome is not None
    assert report.outcome.result.preemptions == minimum
    assert report.first_failure is not None
    assert sf.run(name, schedule=report.outcome.schedule).kind == kind  # replays as saved


@pytest.mark.parametrize("name", sorted(THP_MINIMUM))
def test_thp_bugs_agree_across_engines(name: str) -> None:
    _thp(name)
    kind, minimum = THP_MINIMUM[name]
    exhaustive = explore(name, engine_name="dfs", budget=Budget(max_schedules=5000))
    assert (exhaustive.verdict, exhaustive.stats["min_preemptions"]) == (kind, minimum)
    for engine in ("random", "pct"):
        report = explore(name, engine_name=engine,
                         budget=Budget(max_schedules=500, seed=1, shrink_seconds=SAFETY_NET,
                                       shrink_runs=SHRINK_RUNS))
        assert report.verdict == kind, engine
        assert report.outcome is not None
        assert report.outcome.result.preemptions == minimum, engine


@pytest.mark.parametrize("engine", ["random", "pct"])
def test_sampling_is_deterministic_per_seed(engine: str) -> None:
    a = explore("demo.abba", engine_name=engine, budget=Budget(max_schedules=200, seed=7))
    b = explore("demo.abba", engine_name=engine, budget=Budget(max_schedules=200, seed=7))
    assert a.outcome is not None
    assert b.outcome is not None
    assert a.first_failure is not None
    assert b.first_failure is not None
    assert a.first_failure[0] == b.first_failure[0]
    assert a.outcome.schedule == b.outcome.schedule
    assert a.outcome.result.trace.lines() == b.outcome.result.trace.lines()


def test_schedule_seeds_depend_on_seed_and_index_only() -> None:
    assert derive_seed(0, 1, "random") == derive_seed(0, 1, "random")
    assert len({derive_seed(s, i, "random") for s in range(3) for i in range(3)}) == 9
    assert derive_seed(0, 1, "random") != derive_seed(0, 1, "pct")


def test_clean_scenario_gives_a_sample_not_a_proof() -> None:
    report = explore("demo.spin-wait", engine_name="random", budget=Budget(max_schedules=50))
    assert report.verdict == "ok"
    assert report.schedules == 50
    assert not report.complete
    assert "a sample, not a proof" in report.note


def test_single_schedule_scenarios_stop_after_one_run() -> None:
    report = explore("demo.bounded-loop", engine_name="random", iterations=3,
                     budget=Budget(max_schedules=100))
    assert report.schedules == 1
    assert report.complete


def test_pct_priorities_run_the_highest_enabled_actor() -> None:
    """With depth 1 there are no change points: one actor runs until it cannot, then the next,
    so a lost update (which needs a switch inside an increment) never happens."""
    for seed in range(30):
        outcome = sf.run("demo.lost-update", oracle=pct.PctOracle(seed, 1, 10), n=3)
        assert outcome.kind == "ok"
        assert outcome.result.preemptions == 0


def test_pct_change_points_preempt() -> None:
    kinds = {sf.run("demo.lost-update", oracle=pct.PctOracle(seed, 2, 6)).kind
             for seed in range(40)}
    assert kinds == {"ok", "failure"}


def test_pct_is_fair_to_spinners() -> None:
    """A spinner without yields at top priority is demoted after its quantum, so the setter
    runs and the spin ends (PCT itself would starve it)."""
    for seed in range(20):
        outcome = sf.run("demo.spin-wait", oracle=pct.PctOracle(seed, 3, 50))
        assert outcome.kind == "ok"


def test_pct_rejects_a_bad_depth() -> None:
    with pytest.raises(sf.InvalidArgument, match="depth"):
        pct.search(sf.resolve("demo.abba"), {}, sf.Settings(), Budget(max_schedules=1),
                   depth=0)


def test_time_budget_stops_the_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a clock that advances 10 ms a reading (one per schedule), 0.2 s is 20 schedules."""
    readings = itertools.count()
    monkeypatch.setattr(clock, "source", lambda: next(readings) * 0.01)
    report = explore("demo.spin-wait", engine_name="random",
                     budget=Budget(max_schedules=10**9, seconds=0.2))
    assert report.stopped_by == "seconds"
    assert 15 <= report.schedules <= 20


# -- workers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["random", "pct"])
def test_workers_find_the_same_first_failure_as_one_process(engine: str) -> None:
    budget = Budget(max_schedules=400, seed=5)
    one = explore("demo.abba", engine_name=engine, budget=budget)
    two = explore("demo.abba", engine_name=engine,
                  budget=Budget(max_schedules=400, seed=5, workers=2))
    assert one.first_failure is not None
    assert two.first_failure is not None
    assert two.stats["workers"] == 2
    assert one.first_failure[0] == two.first_failure[0]
    assert one.outcome is not None
    assert two.outcome is not None
    assert one.outcome.schedule == two.outcome.schedule


@pytest.mark.parametrize("name", ["demo.lost-update", "demo.abba", "demo.polite-livelock"])
def test_dfs_workers_find_a_failure_with_the_fewest_preemptions(name: str) -> None:
    """Two processes divide the first run's subtrees; the failure they report still has the
    fewest preemptions (every worker finishes that level), and the same on every run."""
    one = explore(name, engine_name="dfs", budget=Budget(max_schedules=20_000))
    two = explore(name, engine_name="dfs", budget=Budget(max_schedules=20_000, workers=2))
    again = explore(name, engine_name="dfs", budget=Budget(max_schedules=20_000, workers=2))
    assert two.stats["workers"] == 2
    assert two.verdict == one.verdict
    assert two.stats["min_preemptions"] == one.stats["min_preemptions"]
    assert two.outcome is not None
    assert again.outcome is not None
    assert two.outcome.result.preemptions == one.stats["min_preemptions"]
    assert two.outcome.schedule == again.outcome.schedule


def test_dfs_workers_prove_the_same_bound() -> None:
    one = _dfs("demo.spin-wait", stateful=False, max_preemptions=2)
    two = explore("demo.spin-wait", engine_name="dfs",
                  budget=Budget(max_schedules=20_000, workers=2, max_preemptions=2))
    assert two.verdict == "ok"
    assert two.stats["verified_preemptions"] == 2
    assert two.note.startswith("verified: no failure with at most 2 preemptions and no "
                               "livelock within that bound (2 workers")
    assert two.livelocks_checked
    # Each worker caches the states of its own subtrees: far fewer runs than every schedule.
    assert two.schedules < one.schedules


def test_workers_fall_back_to_one_process_for_a_local_scenario() -> None:
    def local() -> None:
        spawn(lambda: checkpoint("x"), name="a")
        spawn(lambda: checkpoint("y"), name="b")

    report = explore(local, engine_name="random", budget=Budget(max_schedules=20, workers=2))
    assert report.stats["workers"] == 1
    assert report.note.startswith("ran in one process")
    assert report.schedules == 20


def test_stateful_dfs_checks_a_clean_thp_design_completely() -> None:
    name = "thp.split.tail-flags-before-unfreeze"
    _thp(name)
    report = explore(name, engine_name="dfs",
                     budget=Budget(max_schedules=50_000, seconds=SAFETY_NET))
    assert report.verdict == "ok"
    assert report.complete
    assert report.note.startswith("verified: complete state space")
    assert report.stats["states"] > 100


def test_dfs_proves_upstream_c17_with_a_writer_free_of_failures_up_to_two_preemptions() -> None:
    """The v5.17 truncate, holding two references itself, against a second retrying writer:
    every schedule with at most 2 preemptions runs clean (622 of them)."""
    from schedfuzz.scenario import resolve
    from schedfuzz.search.dfs import search

    info = resolve("thp.upstream.c17")
    report = search(info, {"actors": "writer"}, info.settings or sf.Settings(),
                    Budget(max_schedules=5_000), stateful=False, max_preemptions=2)
    assert report.verdict == "ok"
    assert report.stats["verified_preemptions"] == 2
    assert report.note.startswith("verified: no failure with at most 2 preemptions (622 runs); "
                                  "livelocks not checked")


def test_dfs_proves_upstream_c17_with_every_actor_at_no_preemption() -> None:
    """All seven actors of the scenario as specified, every free choice of who runs next when
    an actor blocks or ends: a complete proof at the first level, in seconds."""
    _thp("thp.upstream.c17")
    report = explore("thp.upstream.c17", engine_name="dfs",
                     budget=Budget(max_schedules=1 << 40, max_preemptions=0))
    assert report.verdict == "ok"
    assert report.stats["verified_preemptions"] == 0
    assert report.note == ("verified: no failure with at most 0 preemptions and no livelock "
                           "within that bound (2289 states, 3601 runs)")


def test_dfs_proves_upstream_c17_with_a_writer_and_a_faulter_up_to_two_preemptions() -> None:
    """With a faulter too, state caching keeps the proof to seconds: every state reachable
    with at most 2 preemptions is explored, and none fails. Of the 29,971 states the runs pass,
    6,599 are kept: a state where the bound leaves one answer is looked up, not kept."""
    _thp("thp.upstream.c17")
    report = explore("thp.upstream.c17", engine_name="dfs", actors="writer,faulter",
                     budget=Budget(max_schedules=1 << 40, max_preemptions=2))
    assert report.verdict == "ok"
    assert report.stats["verified_preemptions"] == 2
    assert report.note == ("verified: no failure with at most 2 preemptions and no livelock "
                           "within that bound (6599 states, 6913 runs)")
