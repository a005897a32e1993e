"""Exact state: every value the fingerprint meets is compared by content, or the state is
marked inexact (``fingerprint.Inexact``) and never taken for equal to another."""

from __future__ import annotations

import collections
import itertools
import threading
from typing import Any

import pytest
import schedfuzz as sf
from schedfuzz import ScriptOracle, checkpoint, spawn
from schedfuzz._core import framestack
from schedfuzz._core.freeze import Inexact, Memo, freeze
from schedfuzz._core.runner import Runner
from schedfuzz.explore import Budget, explore

needs_stack = pytest.mark.skipif(not framestack.supported,
                                 reason="the value stack is read on CPython 3.11 to 3.13 only")


def _fingerprints(scenario: Any, answers: list[int]) -> list[Any]:
    """The runner's fingerprint at each choice point of a run answered by ``answers``."""
    seen = []

    class Answer(sf.Oracle):
        def choose_actor(self, n: int) -> int:
            assert self.run is not None
            seen.append(self.run.fingerprint())
            return answers[len(seen) - 1] if len(seen) <= len(answers) else 0

        choose_value = choose_actor

    Runner(scenario, {}, Answer(), sf.Settings()).run()
    return seen


def _deque_by_choice() -> None:
    """A value put in a deque decides whether a check fails later, once both actors run."""
    q: collections.deque[str] = collections.deque()
    done: list[bool] = []

    def checker() -> None:
        while not done:
            checkpoint("spin", yield_=True)
        assert q[0] == "ok", list(q)

    def worker() -> None:
        q.append(sf.choose(["ok", "bad"]))
        spawn(checker, name="checker")
        checkpoint("appended")
        done.append(True)

    sf.snapshot(lambda: (q, done))
    spawn(worker, name="worker")


def test_a_deques_content_tells_two_states_apart() -> None:
    """After either value, the actors are at the same places: only the deque differs."""
    ok = _fingerprints(_deque_by_choice, [0])
    bad = _fingerprints(_deque_by_choice, [1])
    assert ok[1][3] == bad[1][3]  # the same positions
    assert ok[1][2] != bad[1][2]  # ... but not the same deque
    assert freeze(collections.deque("ab")) != freeze(collections.deque("ba"))
    assert freeze(collections.deque("ab", maxlen=2)) != freeze(collections.deque("ab"))
    assert freeze(collections.deque("ab")) == freeze(collections.deque("ab"))


def test_dfs_finds_the_failure_behind_a_deques_content() -> None:
    """The old fingerprint froze the deque by identity: the state after "bad" equalled the one
    after "ok", the search pruned it and said "verified: complete state space ... no
    failure" (with a list it found the failure)."""
    report = explore(_deque_by_choice, engine_name="dfs",
                     budget=Budget(max_schedules=500, shrink_seconds=0))
    assert report.verdict == "failure"
    assert report.outcome is not None
    assert "bad" in str(report.outcome.error)


def _drain_deque() -> None:
    q = collections.deque([None] * 2000)

    def worker() -> None:
        while q:
            q.popleft()
            checkpoint("pop")

    spawn(worker, name="w")


def _iterate_generator() -> None:
    def items() -> Any:
        i = 0
        while i < 2000:
            yield None
            i += 1

    g = items()

    def worker() -> None:
        while next(g, 1) is None:
            checkpoint("tick")

    spawn(worker, name="w")


def _repeat() -> None:
    def worker() -> None:
        for _ in itertools.repeat(None, 2000):
            checkpoint("tick")

    spawn(worker, name="w")


class _Node:
    def __init__(self, nxt: _Node | None) -> None:
        self.nxt = nxt


def _linked_list() -> None:
    head = None
    for _ in range(2000):
        head = _Node(head)
    box = [head]

    def worker() -> None:
        while box[0] is not None:
            box[0] = box[0].nxt
            checkpoint("walk")

    sf.snapshot(lambda: box)
    spawn(worker, name="w")


@needs_stack
@pytest.mark.parametrize("scenario", [_drain_deque, _iterate_generator, _repeat, _linked_list])
def test_a_terminating_loop_over_hidden_content_is_no_livelock(scenario: Any) -> None:
    """Each turn changes only a deque's, a generator's, an itertools object's or a long linked
    list's content: the old fingerprint saw none of it and proved a livelock at step 200."""
    outcome = sf.run(scenario)
    assert outcome.kind == "ok"
    assert outcome.result.inexact == ()
    report = explore(scenario, engine_name="random",
                     budget=Budget(max_schedules=1, seed=0, shrink_seconds=0))
    assert report.verdict == "ok"


def test_a_local_counter_loop_ends_on_every_interpreter() -> None:
    """On 3.13 ``f_locals`` is a proxy, which the old fingerprint froze as an opaque object:
    every local vanished and this loop was a livelock there (not on 3.11 or 3.12)."""
    def scenario() -> None:
        def worker() -> None:
            n = 0
            while n < 3000:
                n += 1
                checkpoint("tick")

        spawn(worker, name="w")

    outcome = sf.run(scenario)
    assert outcome.kind == "ok"
    assert outcome.result.steps == 3001


_count = 0
_flag = False


def _bump() -> None:
    global _count
    _count += 1


def _global_counter() -> None:
    global _count
    _count = 0

    def worker() -> None:
        while _count < 2000:
            _bump()  # the counter lives in a global, changed only through a helper
            checkpoint("tick")

    spawn(worker, name="w")


def _global_flag() -> None:
    global _flag
    _flag = False

    def worker() -> None:
        while not _flag:
            checkpoint("spin")

    spawn(worker, name="w")


def _bump_below(limit: int) -> bool:
    global _count
    _count += 1
    return _count < limit


def _global_counter_through_an_argument() -> None:
    global _count
    _count = 0

    def worker(step: Any) -> None:
        while step(2000):  # the counter is read only by the function held in ``step``
            checkpoint("tick")

    spawn(worker, _bump_below, name="w")


def _closure_counter() -> None:
    count = 0

    def worker() -> None:
        nonlocal count
        while count < 3000:
            count += 1
            checkpoint("tick")

    spawn(worker, name="w")


@pytest.mark.parametrize("scenario", [_global_counter, _global_counter_through_an_argument,
                                      _closure_counter])
def test_a_loop_on_a_global_or_closure_counter_ends(scenario: Any) -> None:
    """A counter in a module global (read directly, through a helper the loop calls, or only
    by a function held in a local) or a closure cell: each turn is a new state."""
    outcome = sf.run(scenario)
    assert outcome.kind == "ok"
    assert outcome.result.inexact == ()


def test_a_spin_on_a_global_flag_is_a_proved_livelock() -> None:
    outcome = sf.run(_global_flag)
    assert outcome.kind == "livelock"
    assert outcome.result.lasso is not None
    assert outcome.result.inexact == ()


def test_an_uncomparable_value_is_named_with_its_place_and_never_equal() -> None:
    def scenario() -> None:
        def worker() -> None:
            lk = threading.Lock()
            while True:
                checkpoint("spin", yield_=True)
                assert lk is not None

        spawn(worker, name="a")
        spawn(worker, name="b")

    outcome = sf.run(scenario, oracle=ScriptOracle(["a", "b"]),
                     settings=sf.Settings(max_steps=400))
    assert outcome.kind != "livelock"  # the state repeats, but holds a lock it cannot compare
    (what,) = outcome.result.inexact
    assert what.startswith("`_thread.lock` in local 'lk' of ")
    assert "test_exact_state.py:" in what
    lock = threading.Lock()
    memo = Memo()
    first, second = freeze([lock], memo), freeze([lock], memo)
    assert isinstance(first[1][0], Inexact)
    assert first != second
    assert first != freeze([lock])
    assert [t.what for t in memo.met] == ["`_thread.lock`", "`_thread.lock`"]


def test_snapshot_values_that_cannot_be_compared_say_so() -> None:
    lock = threading.Lock()

    def scenario() -> None:
        def worker() -> None:
            while True:
                checkpoint("spin")

        sf.snapshot(lambda: lock)
        spawn(worker, name="a")

    outcome = sf.run(scenario, settings=sf.Settings(max_steps=400))
    assert outcome.kind != "livelock"
    (what,) = outcome.result.inexact
    assert what.startswith("`_thread.lock` in snapshot() at test_exact_state.py:")


def test_content_of_standard_values() -> None:
    import array
    import enum

    class Color(enum.Enum):
        RED = 1
        BLUE = 2

    pairs = [
        (array.array("i", [1]), array.array("i", [2])),
        (bytearray(b"a"), bytearray(b"b")),
        (collections.defaultdict(list), collections.defaultdict(int)),
        (collections.Counter(a=1), collections.Counter(a=2)),
        (collections.OrderedDict(a=1, b=2), collections.OrderedDict(b=2, a=1)),
        (collections.ChainMap({1: 2}), collections.ChainMap({1: 3})),
        (Color.RED, Color.BLUE),
        (iter({"a": 1, "b": 2}), iter({"a": 1})),
    ]
    for one, other in pairs:
        assert freeze(one) != freeze(other), one
        assert freeze(one) == freeze(one), one
    it = itertools.count()
    before = freeze(it)
    next(it)
    assert freeze(it) != before


def test_any_depth_without_recursion() -> None:
    def chain(n: int, end: int) -> _Node:
        node = _Node(None)
        node.nxt = end  # type: ignore[assignment]
        for _ in range(n):
            node = _Node(node)
        return node

    deep, other = freeze(chain(20_000, 1)), freeze(chain(20_000, 2))
    assert deep != other
    assert deep == freeze(chain(20_000, 1))
    hash(deep)  # the image is nested a few dozen levels at most
    nested: list[Any] = []
    cur = nested
    for _ in range(5000):
        cur.append([])
        cur = cur[0]
    cur.append(nested)  # and a cycle at the bottom
    assert freeze(nested) == freeze(nested)


_TABLE = {"a": 1}
_LEVEL: Any = 1


def _reads_globals() -> None:
    def worker() -> None:
        for _ in range(3):
            checkpoint("look", table=_TABLE["a"], level=_LEVEL)

    spawn(worker, name="a")
    spawn(worker, name="b")


def test_pinned_globals_still_tell_states_apart() -> None:
    """Globals that rarely change are left out of a state while they hold the object they held
    when first read (``_ModulePins``): a table changed in place, a name bound to an equal value
    of another type, and the first values again are each told apart, or not, exactly."""
    global _LEVEL
    states = []
    for change in (None, "table", "level", "back"):
        if change == "table":
            _TABLE["a"] = 2
        elif change == "level":
            _LEVEL = True  # equal to 1, but not the same state
        elif change == "back":
            _TABLE["a"] = 1
            _LEVEL = 1
        states.append(_fingerprints(_reads_globals, [])[2][3])  # both actors under way
    first, table_changed, level_changed, back = states
    assert table_changed != first
    assert level_changed != table_changed
    assert back == first


class _Node:
    def __init__(self, nxt: object) -> None:
        self.nxt = nxt


def _chain(n: int) -> object:
    head = None
    for _ in range(n):
        head = _Node(head)
    return head


def test_a_big_state_is_sampled_less_often_and_its_livelock_still_found(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Freezing 1,500 nodes at every fourth step would cost more than the run: past
    ``BIG_STATE`` objects the lasso check's interval doubles, counted in objects, so every
    machine samples the same steps, and a cycle still comes round to a sampled step."""
    from schedfuzz._core.runner import BIG_STATE, Runner

    calls = []
    real = Runner.fingerprint

    def counted(self: Runner) -> object:
        calls.append(self.step)
        return real(self)

    monkeypatch.setattr(Runner, "fingerprint", counted)

    def walk() -> None:
        state = {"at": _chain(1_500)}

        def walker() -> None:
            while state["at"] is not None:
                state["at"] = state["at"].nxt
                sf.checkpoint("step", yield_=True)

        sf.spawn(walker, name="walker")

    assert sf.run(walk).kind == "ok"
    assert BIG_STATE < 1_500
    assert len(calls) < 20  # every fourth step would be 325
    assert calls[1] - calls[0] < calls[-1] - calls[-2]

    def spin() -> None:
        big = {"list": _chain(1_000), "flag": False}

        def spinner() -> None:
            while not big["flag"]:
                sf.checkpoint("spin", yield_=True)

        sf.spawn(spinner, name="a")
        sf.spawn(spinner, name="b")

    outcome = sf.run(spin)
    assert outcome.kind == "livelock"
    assert outcome.error.proved
