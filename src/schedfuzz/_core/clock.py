"""The clock that time budgets read: ``Budget.seconds``, shrinking's limits, deadlines.

Every time limit of a search is checked against ``now()``, and only here does it come from, for
two reasons:

* One deadline for a whole exploration, worker processes included. ``time.monotonic`` is
  system-wide on the platforms schedfuzz runs on (Linux and macOS ``CLOCK_MONOTONIC`` /
  ``mach_absolute_time``, Windows ``QueryPerformanceCounter``), so an absolute deadline set in
  the parent means the same instant in a worker process.
* Tests. A test that replaces ``source`` (``monkeypatch.setattr(clock, "source", fake)``) makes
  every budget see a clock it drives, so a test of what ``--seconds`` bounds needs no timing
  assertion and passes on any machine.

Time *reported* (``Report.seconds``, rates) is measured with ``time.perf_counter`` as before;
only the limits go through this clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["now", "source"]

source: Callable[[], float] = time.monotonic


def now() -> float:
    """The current time of the budget clock, in seconds (only differences mean anything)."""
    return source()
