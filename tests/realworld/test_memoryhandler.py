"""bpo-41503: ``logging.handlers.MemoryHandler.setTarget`` raced with ``flush`` (CPython 3.7).

``flush`` checks ``self.target`` under the handler's lock and then calls
``self.target.handle(record)`` for each buffered record; ``setTarget`` stored the new target
without taking that lock, so ``setTarget(None)`` between the check and the call made ``flush``
raise ``AttributeError``. The vendored 3.7.16 module is the buggy one, 3.8.18 the fixed one
(``setTarget`` takes the lock). See ``memoryhandler/README.md``.
"""

from __future__ import annotations

import logging
import threading
from types import ModuleType

from realworld.memoryhandler.py37 import handlers as handlers_37
from realworld.memoryhandler.py38 import handlers as handlers_38
from schedfuzz.explore import Budget, explore
from schedfuzz.threads import as_scenario, model

BUGGY = ("realworld.memoryhandler.py37.handlers",)
FIXED = ("realworld.memoryhandler.py38.handlers",)


def _flush_while_retargeting(handlers: ModuleType) -> None:
    """One buffered record; one thread flushes it while another detaches the target."""
    target = handlers.BufferingHandler(capacity=100)
    memory = handlers.MemoryHandler(capacity=10, target=target)
    memory.handle(logging.makeLogRecord({"msg": "buffered", "levelno": logging.INFO}))
    threads = [threading.Thread(target=memory.flush, name="flush"),
               threading.Thread(target=memory.setTarget, args=(None,), name="setTarget")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def memoryhandler_37() -> None:
    _flush_while_retargeting(handlers_37)


def memoryhandler_38() -> None:
    _flush_while_retargeting(handlers_38)


def test_dfs_finds_the_race_at_one_preemption() -> None:
    report = explore(as_scenario(memoryhandler_37, preempt_in=BUGGY), engine_name="dfs",
                     budget=Budget(max_preemptions=2, max_schedules=200))
    assert report.verdict == "failure"
    result = report.outcome.result
    assert isinstance(report.outcome.error, AttributeError)
    assert "'NoneType' object has no attribute 'handle'" in str(report.outcome.error)
    assert result.actor == "flush"
    assert result.preemptions == 1  # dfs goes level by level: no schedule with 0 fails
    assert report.first_failure[0] <= 50
    rows = [label for _, label, _ in result.trace.rows]
    assert "handlers.py:1314" in rows  # flush's `self.target.handle(record)` line


def test_the_race_needs_the_line_level_points() -> None:
    # Without points inside the module, flush runs between two lock steps as one step.
    report = explore(as_scenario(memoryhandler_37), engine_name="dfs",
                     budget=Budget(max_preemptions=2, max_schedules=200))
    assert report.verdict == "ok"


def test_the_fixed_version_is_proved_within_two_preemptions() -> None:
    report = model(memoryhandler_38, max_preemptions=2, max_schedules=5_000, preempt_in=FIXED)
    assert report.proof == "bounded"
    assert report.stats["verified_preemptions"] == 2


def test_random_and_hypothesis_find_it_within_fifty_schedules() -> None:
    for engine in ("random", "hypothesis"):
        report = explore(as_scenario(memoryhandler_37, preempt_in=BUGGY), engine_name=engine,
                         budget=Budget(max_schedules=50, seed=1))
        assert report.verdict == "failure", engine
        assert isinstance(report.outcome.error, AttributeError), engine
        assert report.outcome.result.preemptions == 1, engine  # shrunk to the fewest
