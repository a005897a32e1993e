"""What Hypothesis costs as the scheduling oracle, measured against Hypothesis's own floor.

Three figures, measured side by side in one process with the same Hypothesis settings:

* ``hypothesis_floor_cases_per_s``: test cases per second of an empty ``@given(st.integers())``
  test, the least a Hypothesis test case can cost;
* ``hypothesis_cases_per_s``: test cases per second of ``@given(schedfuzz.strategies.schedules())``
  whose body runs a 3-actor scenario of about 100 scheduling steps under the drawn schedule;
* ``hypothesis_ratio``: the second over the first (the target is at least 0.5: drawing and
  running a schedule costs less than one more empty test case).

Also reported, to show where the time goes: ``scenario_runs_per_s`` (the same scenario under the
default policy, no Hypothesis), ``scenario_steps`` (its steps per run),
``hypothesis_default_cases_per_s`` (``@given(st.integers())`` running the scenario under the
default policy: the best any schedule strategy could do with this scheduler, so
``hypothesis_cases_per_s`` over it is what the schedule strategy itself costs) and
``hypothesis_plan_ratio`` (as ``hypothesis_ratio``, for ``schedules(walk=0)``: deviation plans
only). Three schedules in four are walks, whose runs interleave the workers finely: the lock is
contended more often, so a walk's run takes about 15% more steps than a plan's.

The machine may be shared, so each figure is the best of several alternating rounds.
Run ``python benchmarks/bench_hypothesis.py [--quick]`` for one JSON object.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

import schedfuzz
from schedfuzz.strategies import ScheduleOracle, schedules

__all__ = ["measure", "three_workers"]

ROUNDS = 8


def three_workers(rounds: int = ROUNDS) -> None:
    """Three actors add to a counter under a lock: about 100 scheduling steps, no bug."""
    counter = schedfuzz.AtomicInt(0, "counter")
    lock = schedfuzz.Lock("lock")

    def worker() -> None:
        for _ in range(rounds):
            with lock:
                counter.store(counter.load() + 1)

    for i in range(3):
        schedfuzz.spawn(worker, name=f"w{i}")


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, database=None, deadline=None, derandomize=False,
                    phases=(Phase.generate,), suppress_health_check=list(HealthCheck),
                    verbosity=Verbosity.quiet)


def _floor(examples: int) -> Callable[[], None]:
    @seed(0)
    @_settings(examples)
    @given(st.integers())
    def floor(value: int) -> None:
        pass

    return floor  # type: ignore[no-any-return]


def _schedules(examples: int, failures: list[str], walk: bool = True) -> Callable[[], None]:
    @seed(0)
    @_settings(examples)
    @given(schedules() if walk else schedules(walk=0))
    def schedule_cases(oracle: ScheduleOracle) -> None:
        outcome = schedfuzz.run(three_workers, oracle=oracle)
        if outcome.failed:  # the scenario has no bug: a verdict here is a bug in schedfuzz
            failures.append(f"{outcome.kind}: {outcome.error}")

    return schedule_cases  # type: ignore[no-any-return]


def _default_runs(examples: int) -> Callable[[], None]:
    @seed(0)
    @_settings(examples)
    @given(st.integers())
    def default_cases(value: int) -> None:
        schedfuzz.run(three_workers)

    return default_cases  # type: ignore[no-any-return]


def _rate(test: Callable[[], None], examples: int) -> float:
    started = time.perf_counter()
    test()
    return examples / (time.perf_counter() - started)


def measure(quick: bool = False) -> dict[str, Any]:
    """Measure the figures above; ``quick`` takes a few seconds, the full run a minute or two."""
    examples, rounds = (300, 3) if quick else (2000, 5)
    failures: list[str] = []
    floor, cases, plans, default = 0.0, 0.0, 0.0, 0.0
    for _ in range(rounds):  # alternate, keep the best: other load on the machine only slows
        floor = max(floor, _rate(_floor(examples), examples))
        cases = max(cases, _rate(_schedules(examples, failures), examples))
        plans = max(plans, _rate(_schedules(examples, failures, walk=False), examples))
        default = max(default, _rate(_default_runs(examples), examples))
    if failures:
        msg = f"the benchmark scenario failed under some schedule: {failures[0]}"
        raise AssertionError(msg)
    runs, started, steps = 0, time.perf_counter(), 0
    while runs < examples:
        steps += schedfuzz.run(three_workers).result.steps
        runs += 1
    bare = runs / (time.perf_counter() - started)
    return {
        "hypothesis_floor_cases_per_s": round(floor, 1),
        "hypothesis_cases_per_s": round(cases, 1),
        "hypothesis_ratio": round(cases / floor, 3),
        "hypothesis_plan_ratio": round(plans / floor, 3),
        "hypothesis_default_cases_per_s": round(default, 1),
        "scenario_runs_per_s": round(bare, 1),
        "scenario_steps": steps // runs,
    }


if __name__ == "__main__":
    print(json.dumps(measure(quick="--quick" in sys.argv[1:])))
