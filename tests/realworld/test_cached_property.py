"""gh-87634 / h5py#2064: ``functools.cached_property`` locked one RLock per descriptor, shared by
every instance of the class (CPython 3.8 to 3.11), so a getter that takes a library lock
deadlocks against a thread that holds that lock and reads the property of *another* instance.

h5py hit it: ``Dataset._extent_type`` is a ``cached_property`` whose getter takes h5py's global
``phil`` lock. The vendored 3.11.7 ``functools`` is the buggy one, 3.12.1 the fixed one (the
lock is gone). See ``cached_property/README.md``.
"""

from __future__ import annotations

import threading
from types import ModuleType

from realworld.cached_property.py311 import functools as functools_311
from realworld.cached_property.py312 import functools as functools_312
from schedfuzz.explore import Budget, explore
from schedfuzz.threads import as_scenario, model


def _h5py_like(functools: ModuleType) -> None:
    """Two datasets: ``size`` reads one's property; ``read`` holds ``phil``, reads the other's."""
    phil = threading.RLock()  # h5py's global lock

    class Dataset:
        def __init__(self, name: str) -> None:
            self.name = name

        @functools.cached_property
        def extent_type(self) -> str:
            with phil:  # h5py: @cached_property over @with_phil
                return f"simple {self.name}"

    a, b = Dataset("a"), Dataset("b")

    def size() -> None:
        assert a.extent_type == "simple a"

    def read() -> None:
        with phil:
            assert b.extent_type == "simple b"

    threads = [threading.Thread(target=size, name="size"),
               threading.Thread(target=read, name="read")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def cached_property_311() -> None:
    _h5py_like(functools_311)


def cached_property_312() -> None:
    _h5py_like(functools_312)


def test_dfs_finds_the_deadlock_at_one_preemption() -> None:
    report = explore(as_scenario(cached_property_311), engine_name="dfs",
                     budget=Budget(max_preemptions=2, max_schedules=200))
    assert report.verdict == "deadlock"
    assert report.outcome.result.preemptions == 1
    assert report.first_failure[0] <= 20
    message = str(report.outcome.error)
    # The cycle, by thread names and by where each lock was made.
    assert "size waits for RLock test_cached_property.py:" in message
    assert "held by read" in message
    assert "read waits for RLock functools.py:970 cached_property.__init__ held by size" \
        in message


def test_the_fixed_version_is_proved_over_its_whole_state_space() -> None:
    # Asked for 5 preemptions, dfs runs out of schedules at 4: it explored every reachable
    # state, a proof for any number of preemptions.
    report = model(cached_property_312, max_preemptions=5)
    assert report.proof == "complete"
    assert report.stopped_by == "exhausted"
    assert not report.inexact  # every state compared by content


def test_random_and_hypothesis_find_it_within_twenty_schedules() -> None:
    for engine in ("random", "hypothesis"):
        report = explore(as_scenario(cached_property_311), engine_name=engine,
                         budget=Budget(max_schedules=20, seed=1))
        assert report.verdict == "deadlock", engine
        assert report.outcome.result.preemptions == 1, engine
