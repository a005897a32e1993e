"""State fingerprints: equal states compare equal, history does not count, hidden state does."""

from __future__ import annotations

import os
import subprocess
import sys

import greenlet

import pytest
import schedfuzz as sf
from schedfuzz import ScriptOracle, checkpoint, spawn
from schedfuzz._core import framestack
from schedfuzz._core.codekey import code_key
from schedfuzz._core.freeze import freeze


def test_closures_compare_by_code_and_captured_values() -> None:
    def make(x: int) -> object:
        return lambda: x

    assert freeze(make(1)) == freeze(make(1))
    assert freeze(make(1)) != freeze(make(2))


def test_code_is_named_by_its_place_and_what_it_does() -> None:
    """Code objects by file, line, name and a digest of their bytecode and constants (the same
    in any process): two lambdas on one line that differ in behaviour never share a key, two
    that do not may."""
    one, two, also_one = (lambda: 1), (lambda: 2), (lambda: 1)
    assert code_key(one.__code__) != code_key(two.__code__)
    assert freeze(one) != freeze(two)
    assert code_key(one.__code__) == code_key(also_one.__code__)
    line = one.__code__.co_firstlineno
    assert code_key(one.__code__).startswith(
        f"{__file__}:{line}:test_code_is_named_by_its_place_and_what_it_does.<locals>.<lambda>:")
    assert freeze({3, 1, 2}) == ("S", (1, 2, 3))  # sets in one order, whatever the hash seed


def test_fingerprints_are_the_same_in_every_process() -> None:
    """What a saved search needs to find its states again: code, builtins (an iterator's
    recipe names ``iter``), classes and sets frozen alike under any PYTHONHASHSEED."""
    script = ("import schedfuzz._core.freeze as f, schedfuzz.sync as s; "
              "it = iter(range(5)); next(it); "
              "print(repr(f.freeze([s.Lock.acquire, it, len, [1].append, {'a', 'b', 'c'}, "
              "s.Lock])))")
    seen = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)},
                           check=True).stdout for seed in (1, 2, 3)}
    assert len(seen) == 1
    assert "'id'" not in seen.pop()


def test_iterators_show_their_position() -> None:
    it = iter(range(5))
    before = freeze(it)
    next(it)
    assert freeze(it) != before


def test_cycles_in_object_graphs_are_cut() -> None:
    a: dict[str, object] = {}
    a["self"] = a
    assert freeze(a) == freeze(a)


def test_livelock_through_blocking_waits_is_proved() -> None:
    """Two actors hand a lock back and forth forever: every iteration makes new waiters and new
    lambdas, yet the state repeats, so the lasso is found."""

    def scenario() -> None:
        lock = sf.Lock("L")

        def worker() -> None:
            while True:
                with lock:
                    checkpoint("work", yield_=True)

        spawn(worker, name="a")
        spawn(worker, name="b")

    outcome = sf.run(scenario, oracle=ScriptOracle(["a", "a", "b"]))
    assert outcome.kind == "livelock"
    assert isinstance(outcome.error, sf.Livelock)
    assert outcome.error.proved
    first, end = outcome.result.lasso[:2]  # type: ignore[index]
    assert {aid for aid, _, _ in outcome.result.trace.rows[first:end]} == {0, 1}


def test_loop_counter_in_a_local_keeps_states_apart() -> None:
    def scenario() -> None:
        def counter() -> None:
            n = 0
            while n < 3_000:
                n += 1
                checkpoint("tick")

        spawn(counter, name="counter")

    assert sf.run(scenario).kind == "ok"


def test_a_for_loop_over_equal_items_is_no_livelock() -> None:
    """The loop's iterator lives on the frame's value stack, not in its locals: without it,
    every turn of ``for _ in [None] * 300`` looked the same and the run a livelock."""
    def scenario() -> None:
        def worker() -> None:
            for _ in [None] * 300:
                checkpoint("tick")

        spawn(worker, name="a")
        spawn(worker, name="b")

    if not framestack.supported:
        pytest.skip("the value stack is read on CPython 3.11 to 3.13 only")
    outcome = sf.run(scenario, settings=sf.Settings(lasso_after=0))
    assert outcome.kind == "ok"
    assert outcome.result.steps == 602


def test_the_value_stack_of_a_suspended_frame_is_read() -> None:
    if not framestack.supported:
        pytest.skip("the value stack is read on CPython 3.11 to 3.13 only")

    class Exit:
        def __enter__(self) -> Exit:
            return self

        def __exit__(self, *args: object) -> None:
            pass

    def trap() -> int:
        return greenlet.getcurrent().parent.switch()  # type: ignore[no-any-return]

    def body(a: int) -> None:
        for _ in iter([7, 7]):
            trap()
        with Exit():
            trap()
        _ = a + trap()
        trap()

    g = greenlet.greenlet(body)
    g.switch(5)
    assert framestack.stack_of(g.gr_frame) is None  # the running frame: no recorded height
    seen = []
    for _ in range(5):
        stack = framestack.stack_of(g.gr_frame.f_back)
        assert stack is not None
        seen.append(freeze(stack))  # now: the objects change as the frame goes on
        g.switch(1)
    first, second, in_with, half_sum, plain = seen
    assert first != second  # the iterator moved on
    assert "iter" in repr(first)
    assert len(in_with) == 1  # the bound __exit__
    assert "Exit" in repr(in_with)
    assert half_sum == (5,)  # the left operand, waiting for the right one
    assert plain == ()


def test_a_state_outline_is_its_fingerprint_without_the_frames_values() -> None:
    """At every choice point of a c17 run with every actor, the outline computed alone equals
    the one taken from the fingerprint: a stateful search relies on it to skip the fingerprint
    of a state whose outline no kept state has."""
    if "thp.upstream.c17" not in sf.registry():
        pytest.skip("thpmodel not installed")
    from schedfuzz._core.fingerprint import outline_of
    from schedfuzz._core.oracle import Oracle
    from schedfuzz._core.runner import Runner

    outlines = []

    class Check(Oracle):
        def choose_actor(self, n: int) -> int:
            runner = self.run
            assert runner is not None
            outline = runner.outline()
            assert outline == outline_of(runner.fingerprint())
            outlines.append(outline)
            return 0

    info = sf.resolve("thp.upstream.c17")
    Runner(info.fn, {}, Check(), sf.Settings()).run()
    assert len(set(map(repr, outlines))) > 20  # a real run: the outline follows the actors
    # each frame as code and offset only
    assert all(len(frame) == 2 for o in outlines for actor in o[3] for frame in actor[4])
