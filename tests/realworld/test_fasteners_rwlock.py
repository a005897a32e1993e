"""fasteners#86: a writer that takes a read lock deadlocks once another writer is pending
(fasteners 0.16 to 0.17.2; fixed in 0.17.3).

``ReaderWriterLock.read_lock`` lets the current writer in only while no other writer is
pending: it waits on the lock's condition otherwise (a check added in 0.16 to give pending
writers priority over new readers). A thread that holds the write lock and takes a read lock,
which the class allows (it forbids reading only to a writer still waiting for the write lock),
then waits for the pending writer, which waits for it. The vendored 0.17.2 is the buggy
release, 0.17.3 the fixed one (the current writer may always read). See
``fasteners_rwlock/README.md``.
"""

from __future__ import annotations

import importlib
import sys
import threading
from pathlib import Path
from types import ModuleType

from schedfuzz.explore import Budget, explore
from schedfuzz.threads import as_scenario, model


def _import_fasteners(version: str) -> ModuleType:
    """``fasteners.lock`` of the vendored release: the package imports itself as ``fasteners``,
    so it is imported from its folder and then taken out of ``sys.modules`` again, leaving the
    name free for the other release."""
    folder = str(Path(__file__).parent / "fasteners_rwlock" / version)
    sys.path.insert(0, folder)
    try:
        return importlib.import_module("fasteners.lock")
    finally:
        sys.path.remove(folder)
        for name in [n for n in sys.modules if n == "fasteners" or n.startswith("fasteners.")]:
            del sys.modules[name]


lock_0_17_2 = _import_fasteners("v0_17_2")
lock_0_17_3 = _import_fasteners("v0_17_3")


def _writer_reads_while_another_writer_waits(lock: ModuleType) -> None:
    """The reproducer of fasteners#86: one thread takes the write lock and then a read lock,
    another only the write lock."""
    rw = lock.ReaderWriterLock()

    def write_then_read() -> None:
        with rw.write_lock(), rw.read_lock():
            pass

    def write() -> None:
        with rw.write_lock():
            pass

    threads = [threading.Thread(target=write_then_read, name="writer-reader"),
               threading.Thread(target=write, name="writer")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def fasteners_0_17_2() -> None:
    _writer_reads_while_another_writer_waits(lock_0_17_2)


def fasteners_0_17_3() -> None:
    _writer_reads_while_another_writer_waits(lock_0_17_3)


def test_the_two_releases_differ_by_the_fix_only() -> None:
    assert lock_0_17_2 is not lock_0_17_3
    assert lock_0_17_2.__file__ != lock_0_17_3.__file__
    assert "fasteners" not in sys.modules  # nothing left under the package's own name


def test_dfs_finds_the_hang_at_one_preemption() -> None:
    report = explore(as_scenario(fasteners_0_17_2), engine_name="dfs",
                     budget=Budget(max_preemptions=2, max_schedules=200))
    # Every thread waits forever. Both wait on the lock's condition, which names no holder, so
    # schedfuzz sees no cycle of waits and calls it a hang rather than a deadlock.
    assert report.verdict == "hang"
    assert report.outcome.result.preemptions == 1  # "writer" queues while the writer holds
    assert report.first_failure[0] <= 20
    message = str(report.outcome.error)
    assert "writer-reader: blocked in Condition.wait (lock.py:178 ReaderWriterLock.read_lock)" \
        in message
    assert "writer: blocked in Condition.wait (lock.py:225 ReaderWriterLock.write_lock)" \
        in message


def test_the_fixed_release_is_proved_over_its_whole_state_space() -> None:
    # Asked for 6 preemptions, dfs runs out of schedules first: every reachable state
    # explored, a proof for any number of preemptions.
    report = model(fasteners_0_17_3, max_preemptions=6, max_schedules=5_000)
    assert report.proof == "complete"
    assert not report.inexact


def test_random_and_hypothesis_find_it_within_twenty_schedules() -> None:
    for engine in ("random", "hypothesis"):
        report = explore(as_scenario(fasteners_0_17_2), engine_name=engine,
                         budget=Budget(max_schedules=20, seed=1))
        assert report.verdict == "hang", engine
        assert report.outcome.result.preemptions == 1, engine
