"""Unmodified ``threading`` code under the scheduler.

A plain function that starts threads, joins them and asserts becomes a scenario::

    import threading
    from schedfuzz.threads import threaded

    @threaded
    def test_counter() -> None:
        counter = Counter()                      # the user's class, unchanged
        threads = [threading.Thread(target=counter.incr) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert counter.value == 2

The function runs as the actor ``MainThread``; each thread it starts is another actor, and
every operation of ``threading``, ``_thread``, ``queue`` and ``concurrent.futures`` is a
scheduling step with the standard library's own semantics (``schedfuzz._threads.locks``).
``time.sleep``, ``time.monotonic`` and every timeout run on a virtual clock whose timeouts the
oracle decides (``schedfuzz._threads.world``). The patches last one run
(``schedfuzz._threads.patch``). As in a real program, the run ends when ``MainThread`` and every
non-daemon thread have ended; a thread's uncaught exception fails it.

Between two such operations plain Python runs atomically: a race on ``self.value += 1`` with no
lock needs scheduling points inside the user's own code, which ``--preempt-in`` is for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schedfuzz._threads.adapt import as_scenario, threaded
from schedfuzz.budget import Budget
from schedfuzz.execute import raise_for
from schedfuzz.explore import explore
from schedfuzz.fuzz import fuzz
from schedfuzz.settings import Settings
from schedfuzz.verdict import Report

__all__ = ["as_scenario", "fuzz_threads", "model", "threaded"]


def fuzz_threads(fn: Any = None, /, *, preempt_in: tuple[str, ...] = (),
                 settings: Settings | None = None, **fuzz_options: Any) -> Any:
    """Turn an existing threaded pytest test into a schedfuzz Hypothesis test: one line.

    ::

        @fuzz_threads(preempt_in=("mylib.pool",))
        def test_pool_counts_every_job():
            ...                               # starts threads, joins them, asserts

    The result is ``schedfuzz.fuzz.fuzz`` over the test's scenario (``as_scenario``), so it
    has the same settings, profiles, corpus saving and failure output as ``@fuzz``; options
    such as ``max_deviations`` go through.
    """
    def decorate(f: Callable[..., Any]) -> Callable[..., None]:
        info = as_scenario(f, preempt_in=preempt_in, settings=settings)

        def after() -> None:
            """Nothing more to check: the test's own asserts ran in the scenario."""

        for attribute in ("__name__", "__qualname__", "__module__", "__doc__"):
            setattr(after, attribute, getattr(f, attribute, None))
        test = fuzz(info, settings=settings, **fuzz_options)(after)
        test.__schedfuzz_scenario__ = info  # type: ignore[attr-defined]
        return test

    return decorate(fn) if fn is not None else decorate


def model(fn: Callable[..., Any], *, max_preemptions: int = 2, max_schedules: int = 100_000,
          preempt_in: tuple[str, ...] = (), settings: Settings | None = None,
          **params: Any) -> Report:
    """Prove ``fn`` free of failures with at most ``max_preemptions`` preemptions, in one line
    (loom's ``loom::model``): an exhaustive ``dfs`` search of its schedules.

    Raises the first failure (with the fewest preemptions, its trace and replay line attached
    as notes), or ``AssertionError`` when ``max_schedules`` ran out before the bound was
    proved. Returns the report of the proof.
    """
    info = as_scenario(fn, preempt_in=preempt_in, settings=settings)
    report = explore(info, engine_name="dfs", settings=settings,
                     budget=Budget(max_schedules=max_schedules, max_preemptions=max_preemptions),
                     **params)
    if report.outcome is not None and report.failed:
        raise_for(report.outcome)
    # A search that ran out of schedules below the bound explored the whole state space,
    # which proves more than the bound asked for.
    if report.proof != "complete" \
            and report.stats.get("verified_preemptions", -1) < max_preemptions:
        msg = (f"{info.name}: {max_schedules} schedules did not cover every schedule with at "
               f"most {max_preemptions} preemptions ({report.note})")
        raise AssertionError(msg)
    return report
