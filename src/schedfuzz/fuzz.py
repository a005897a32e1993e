"""Hypothesis as the scheduling oracle: the ``@fuzz`` test decorator and ``check``.

A ``@fuzz`` test runs the scenario once per Hypothesis test case under a drawn ``ScheduleOracle``
(``schedfuzz.strategies``: a few deviations from the default policy, or a random walk of a few
dozen switches), so Hypothesis's shrinker minimises the failing schedule: fewest deviations
(preemptions) first, then the earliest. The ``hypothesis`` engine (``schedfuzz.engines.hypothesis``)
follows the same rules. A verdict is raised as its own exception type and an actor's exception
as itself, so Hypothesis keeps a deadlock and a livelock in one test apart; the decorator
attaches the per-actor trace and the replay line as exception notes.

Rules every test body here follows:

* A *cycling* schedule (one that repeats its deviations) stands for a livelock. When one fails
  in another way, the test case is rejected: that failure also has a finite schedule, and a
  cycle would let the shrinker settle on a short description with many preemptions ("switch at
  every step") where a few preemptions suffice.
* Every test case reports ``hypothesis.event``s, its verdict kind and a preemption bucket, so
  ``--hypothesis-show-statistics`` and HypoFuzz see how varied the schedules are.

Hypothesis's shrinking is local and can stop short of the smallest schedule (a livelock found by
switching at every step, a walk's dozen switches where two suffice), so both end with
``schedfuzz.reduce.minimal.reduce``: the schedule shrinker, then an exhaustive check of the
schedules with fewer deviations, the evidence behind the word "minimal" in a report.

Under HypoFuzz (``hypothesis fuzz``) a ``@fuzz`` test runs unchanged and a failure comes out
shrunk by Hypothesis's shrinker, with the trace and replay line, in HypoFuzz's dashboard. The
final reduction and ``SCHEDFUZZ_SAVE_DIR`` wait for Hypothesis's final replay, which HypoFuzz
does not make: the next plain pytest run makes it, replaying the failure from the shared example
database (``schedfuzz.pytest_plugin`` keys ``@fuzz`` tests as HypoFuzz does).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

import hypothesis
from hypothesis import Phase, currently_in_test_context, event, given, reject

from schedfuzz.errors import InvalidArgument, SchedfuzzError
from schedfuzz.execute import Outcome, raise_for, run
from schedfuzz.reduce.minimal import smallest
from schedfuzz.scenario import ScenarioInfo, resolve
from schedfuzz.settings import Settings
from schedfuzz.strategies import ScheduleOracle, schedules

__all__ = ["check", "cycle_without_livelock", "fuzz", "preemption_bucket", "report_events"]

SAVE_DIR_ENV = "SCHEDFUZZ_SAVE_DIR"
SEED_ENV = "SCHEDFUZZ_SEED"
MAX_SCHEDULES_ENV = "SCHEDFUZZ_MAX_SCHEDULES"
DEFAULT_MAX_DEVIATIONS = 6
MINIMISE_SECONDS = 5.0  # the decorator's reduction and minimality check, once per failure


def preemption_bucket(preemptions: int) -> str:
    """A coarse label for a preemption count: ``0``, ``1``, ``2``, ``3-4``, ``5-8``, ``9+``."""
    if preemptions <= 2:
        return str(preemptions)
    if preemptions <= 4:
        return "3-4"
    return "5-8" if preemptions <= 8 else "9+"


def report_events(outcome: Outcome) -> None:
    """Tell Hypothesis the run's verdict and preemption bucket (outside a test: nothing)."""
    if not currently_in_test_context():
        return
    event("verdict", outcome.kind)
    event("preemptions", preemption_bucket(outcome.result.preemptions))


def cycle_without_livelock(oracle: ScheduleOracle, outcome: Outcome) -> bool:
    """A cycling schedule that failed other than by a livelock (or its step bound): reject it
    (module docstring)."""
    return oracle.plan.cycle_from is not None and outcome.kind not in ("livelock", "step_bound")


def check(outcome: Outcome, oracle: ScheduleOracle) -> None:
    """Do with a run what the ``@fuzz`` test body does: for a hand-written ``@given`` test.

    Reports the events, rejects a cycling schedule that failed other than by a livelock, and
    raises the verdict with the per-actor trace and replay line as notes. On Hypothesis's final
    replay of the shrunk failure it raises the smallest failure of that kind instead, if there
    is a smaller one (``schedfuzz.reduce.minimal.smallest``, at most ``MINIMISE_SECONDS``), and
    says so.

    Example::

        @given(schedfuzz.strategies.schedules(), st.integers(2, 4))
        def test_counter(oracle, n):
            outcome = schedfuzz.run("demo.lost-update", oracle=oracle, n=n)
            schedfuzz.fuzz.check(outcome, oracle)
    """
    _raise_failure(outcome, oracle, None)


def _raise_failure(outcome: Outcome, oracle: ScheduleOracle, save_as: str | None) -> None:
    """The body of ``check``; ``save_as`` names the test whose failure ``_save`` stores."""
    report_events(outcome)
    if not outcome.failed:
        return
    if cycle_without_livelock(oracle, outcome):
        reject()
    if _is_final():
        outcome = _smallest(outcome, oracle)
    if save_as is not None:
        _save(outcome, save_as)
    raise_for(outcome)


# -- the decorator ------------------------------------------------------------------------------

def _is_final() -> bool | None:
    """Is this the final replay of a minimal failing example? None if Hypothesis cannot say.

    Reads ``current_build_context().is_final``, which Hypothesis does not document; a test pins
    it. Without it every failing run is saved under one name per test and verdict, so the last
    write, the final replay, wins.
    """
    try:
        from hypothesis.control import current_build_context

        final = getattr(current_build_context(), "is_final", None)
    except Exception:
        return None
    return final if isinstance(final, bool) else None


def _save(outcome: Outcome, test_name: str) -> None:
    """Save the shrunk failure to ``$SCHEDFUZZ_SAVE_DIR`` and say where, in a note."""
    directory = os.environ.get(SAVE_DIR_ENV)
    error = outcome.error
    if not directory or error is None:
        return
    final = _is_final()
    if final is False:
        return
    from schedfuzz import corpus  # only a failing test with a save folder needs it

    name = None if final else f"{test_name}-{outcome.kind}.json"
    try:
        path = corpus.save(outcome, directory, name=name)
    except (OSError, SchedfuzzError) as exc:
        error.add_note(f"schedfuzz: could not save the reproducer in {directory}: {exc}")
        return
    error.add_note(f"schedfuzz: reproducer saved to {path}")


def _smallest(outcome: Outcome, schedule: ScheduleOracle) -> Outcome:
    """For the final report: the same failure with fewer deviations, if one exists, saying so.

    Hypothesis's shrinking is local and now and then stops at a schedule with needless
    deviations (a walk's failure often does); the schedule shrinker and a short exhaustive
    check replace it. The replacement fails the same way, so Hypothesis sees the same kind of
    failure in its final replay.
    """
    minimal = smallest(outcome, seconds=MINIMISE_SECONDS)
    found = minimal.outcome
    if found is not outcome and found.error is not None:
        count = outcome.result.preemptions
        found.error.add_note(f"schedfuzz: shown is a smaller schedule than the drawn one, "
                             f"{schedule!r} ({count} preemption{'' if count == 1 else 's'}); "
                             f"{minimal.note}")
    return found


def _caller(fn: Callable[..., Any]) -> Callable[[Outcome], object]:
    """Call ``fn`` with the outcome if it takes one parameter, without if it takes none."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    required = [p for p in parameters if p.default is inspect.Parameter.empty
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if len(required) > 1:
        msg = (f"@fuzz test {getattr(fn, '__qualname__', fn)!r} takes {len(required)} "
               "parameters; it may take none, or one: the Outcome of each run")
        raise InvalidArgument(msg)
    return fn if required else (lambda outcome: fn())


def fuzz(scenario: str | Callable[..., Any] | ScenarioInfo, *, settings: Settings | None = None,
         max_deviations: int = DEFAULT_MAX_DEVIATIONS,
         **params: Any) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """Turn a function into a Hypothesis test over the schedules of ``scenario``.

    Each test case runs the scenario once under a drawn schedule. A verdict (deadlock, livelock,
    an actor's exception, ...) fails the test case; Hypothesis then shrinks the schedule, the
    schedule shrinker and a short exhaustive check (at most ``MINIMISE_SECONDS`` together)
    replace it by a smaller one if there is one, and the failure is raised with its per-actor
    trace and replay line as exception notes. The decorated function runs after every run
    without a verdict; it may take that run's ``Outcome`` to check more.

    The result is a plain ``@given`` test: stack ``@hypothesis.settings(...)`` on it as usual
    (which replaces these defaults: ``deadline=None``, since a long schedule is not a slow
    test, and no explain phase, whose lines would be the scheduler's), run it under
    pytest-xdist or HypoFuzz. ``SCHEDFUZZ_SEED`` (``--schedfuzz-seed``) fixes Hypothesis's seed,
    ``SCHEDFUZZ_MAX_SCHEDULES`` (``--schedfuzz-max-schedules``) sets ``max_examples`` unless
    you stack settings of your own, and ``SCHEDFUZZ_SAVE_DIR`` (``--schedfuzz-save``) saves the
    shrunk failure as a corpus file.

    Args:
        scenario: a registered name, ``module:function`` or the scenario function.
        settings: bounds of each run (default: the scenario's own).
        max_deviations: at most this many departures from the default policy per deviation
            plan (walks, ``schedfuzz.strategies``, are drawn as well).
        **params: the scenario's parameters.

    Raises:
        InvalidArgument: an unknown scenario or parameter, or a function with two parameters.

    Example::

        @schedfuzz.fuzz.fuzz("demo.lost-update", n=3)
        def test_counter_is_exact(): ...
    """
    info = resolve(scenario)
    info.check_params(params)
    strategy = schedules(max_deviations=max_deviations)

    def decorate(fn: Callable[..., Any]) -> Callable[..., None]:
        after = _caller(fn)
        name = getattr(fn, "__name__", "fuzz")

        def test(schedule: ScheduleOracle) -> None:
            outcome = run(info, oracle=schedule, settings=settings, **params)
            _raise_failure(outcome, schedule, name)
            after(outcome)

        for attribute in ("__name__", "__qualname__", "__module__", "__doc__"):
            if hasattr(fn, attribute):
                setattr(test, attribute, getattr(fn, attribute))
        _hypothesis_defaults(test, fn, info, params)
        wrapped: Callable[..., None] = given(schedule=strategy)(test)
        if os.environ.get(SEED_ENV, "").isdigit():
            wrapped = hypothesis.seed(int(os.environ[SEED_ENV]))(wrapped)
        return wrapped

    return decorate


def _hypothesis_defaults(test: Any, fn: Callable[..., Any], info: ScenarioInfo,
                         params: dict[str, Any]) -> None:
    """Give ``test`` default settings and its own database key, the way ``@given`` does.

    The settings go on the attribute ``@given`` reads, without the mark ``@settings`` leaves, so
    settings stacked on top replace them instead of being refused. Every ``@fuzz`` test shares
    the body above, and Hypothesis keys its example database by the body's source: the extra
    digest (what Hypothesis's pytest plugin sets for parametrized tests) keeps tests apart.
    Under pytest the schedfuzz plugin replaces it by the test's node id, the key HypoFuzz
    gives every test it fuzzes, so a plain pytest run replays the failures HypoFuzz found; the
    mark below tells the plugin which tests are ``@fuzz`` tests.
    """
    defaults: dict[str, Any] = {
        "deadline": None,
        "phases": [p for p in Phase if p is not Phase.explain],
    }
    if os.environ.get(MAX_SCHEDULES_ENV, "").isdigit():
        defaults["max_examples"] = max(1, int(os.environ[MAX_SCHEDULES_ENV]))
    test._hypothesis_internal_use_settings = hypothesis.settings(**defaults)
    key = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', '')}|{info.name}|"
    test._hypothesis_internal_add_digest = (key + repr(sorted(params.items()))).encode()
    test._schedfuzz_fuzz_test = True  # read by schedfuzz.pytest_plugin, which must not import us
