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
scheduling step with the standard library's own semantics (``schedfuzz.threads.locks``).
``time.sleep``, ``time.monotonic`` and every timeout run on a virtual clock whose timeouts the
oracle decides (``schedfuzz.threads.world``). The patches last one run
(``schedfuzz.threads.patch``). As in a real program, the run ends when ``MainThread`` and every
non-daemon thread have ended; a thread's uncaught exception fails it.

Between two such operations plain Python runs atomically: a race on ``self.value += 1`` with no
lock needs scheduling points inside the user's own code, which ``--preempt-in`` is for.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from schedfuzz.scenario import ScenarioInfo, spawn
from schedfuzz.settings import Settings
from schedfuzz.threads import patch

if TYPE_CHECKING:
    from schedfuzz.explore import Report

__all__ = ["as_scenario", "fuzz_threads", "model", "threaded"]

F = TypeVar("F", bound=Callable[..., Any])


def _main(fn: Callable[..., Any], params: dict[str, Any]) -> None:
    """The ``MainThread`` actor: the user's function, then what interpreter shutdown does for
    threads (``concurrent.futures`` wakes and joins its idle workers)."""
    fn(**params)
    futures = sys.modules.get("concurrent.futures.thread")
    if futures is not None:  # its exit hook, for this run's workers only
        ours = [(t, q) for t, q in list(futures._threads_queues.items())
                if getattr(t, "_schedfuzz_actor", None) is not None]
        for _, work_queue in ours:
            work_queue.put(None)
        for thread, _ in ours:
            thread.join()


def _forget_workers() -> None:
    """Undo what ``_main``'s shutdown left in ``concurrent.futures`` for later runs."""
    futures = sys.modules.get("concurrent.futures.thread")
    if futures is None:
        return
    for t in list(futures._threads_queues):
        if getattr(t, "_schedfuzz_actor", None) is not None:
            del futures._threads_queues[t]


def as_scenario(fn: Callable[..., Any], *, name: str | None = None, expect: str | None = None,
                settings: Settings | None = None,
                preempt_in: tuple[str, ...] = ()) -> ScenarioInfo:
    """The scenario that runs the plain threaded function ``fn`` as ``MainThread``.

    Its parameters are ``fn``'s; its ``ref`` is ``fn``'s ``module:function``, and ``fn`` is
    marked, so a corpus file naming it finds this scenario again. ``preempt_in`` names the
    modules whose own code gets scheduling points (``schedfuzz.threads.preempt``).
    """
    existing = getattr(fn, "__schedfuzz_scenario__", None)
    if existing is not None and getattr(existing.fn, "__schedfuzz_threaded__", False) \
            and existing.fn.__schedfuzz_preempt_in__ == tuple(preempt_in):
        return existing  # type: ignore[no-any-return]
    preempt_in = tuple(preempt_in)

    @functools.wraps(fn)
    def setup(**params: Any) -> None:
        patch.install(preempt_in)
        from schedfuzz._core.traps import current_runner
        current_runner().cleanups.append(_forget_workers)
        spawn(_main, fn, params, name="MainThread")

    setup.__schedfuzz_threaded__ = True  # type: ignore[attr-defined]
    setup.__schedfuzz_preempt_in__ = preempt_in  # type: ignore[attr-defined]
    doc = (fn.__doc__ or "").strip().splitlines()
    info = ScenarioInfo(name or f"{fn.__module__}:{fn.__qualname__}", setup, expect,
                        doc[0] if doc else "", settings)
    fn.__schedfuzz_scenario__ = info  # type: ignore[attr-defined]
    setup.__schedfuzz_scenario__ = info  # type: ignore[attr-defined]
    return info


@overload
def threaded(fn: F, /) -> F: ...
@overload
def threaded(*, name: str | None = ..., expect: str | None = ...,
             settings: Settings | None = ...,
             preempt_in: tuple[str, ...] = ...) -> Callable[[F], F]: ...
def threaded(fn: Any = None, /, *, name: str | None = None, expect: str | None = None,
             settings: Settings | None = None, preempt_in: tuple[str, ...] = ()) -> Any:
    """Mark a plain threaded function as a scenario (see the module docstring). It stays
    callable as it was; ``schedfuzz.explore(fn)``, ``schedfuzz.run(fn)`` and the CLI's
    ``explore MODULE:FUNCTION`` run it under the scheduler."""

    def mark(f: F) -> F:
        from schedfuzz.scenario import _REGISTRY
        info = as_scenario(f, name=name, expect=expect, settings=settings,
                           preempt_in=preempt_in)
        _REGISTRY[info.name] = info
        return f

    return mark(fn) if fn is not None else mark


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
    from schedfuzz.fuzz import fuzz

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
    from schedfuzz.execute import raise_for
    from schedfuzz.explore import Budget, explore

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
