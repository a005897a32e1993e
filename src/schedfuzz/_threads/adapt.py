"""Plain threaded functions as scenarios: ``as_scenario`` and the ``threaded`` marker.

The function runs as the actor ``MainThread`` with ``threading`` and its friends patched for the
run (``patch``); each thread it starts is another actor. The public face, with the testing entry
points, is ``schedfuzz.threads``.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar, overload

from schedfuzz._core.traps import current_runner
from schedfuzz._threads import patch
from schedfuzz.scenario import _REGISTRY, ScenarioInfo, spawn
from schedfuzz.settings import Settings

__all__ = ["as_scenario", "threaded"]


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
    modules whose own code gets scheduling points (``schedfuzz._threads.preempt``).
    """
    existing = getattr(fn, "__schedfuzz_scenario__", None)
    if existing is not None and getattr(existing.fn, "__schedfuzz_threaded__", False) \
            and existing.fn.__schedfuzz_preempt_in__ == tuple(preempt_in):
        return existing  # type: ignore[no-any-return]
    preempt_in = tuple(preempt_in)

    @functools.wraps(fn)
    def setup(**params: Any) -> None:
        patch.install(preempt_in)
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
        info = as_scenario(f, name=name, expect=expect, settings=settings,
                           preempt_in=preempt_in)
        _REGISTRY[info.name] = info
        return f

    return mark(fn) if fn is not None else mark
