"""Running a scenario once: under any oracle, from a recorded schedule, and explaining the result.

``run`` is the one entry every engine goes through (Hypothesis, random, PCT, exhaustive, replay).
It adds to the raw run loop what a user needs from a verdict:

* a proved livelock is *settled*: its schedule is replayed with fingerprints from step 0, which
  confirms the lasso (the same cycle comes back) and finds its earliest repeat, so the report
  shows the shortest stem;
* ``explain`` renders the message, the per-actor table and the replay line;
* ``replay`` raises the verdict as an exception, with the explanation attached as notes.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

import attrs

from schedfuzz._core.oracle import Oracle, ReplayOracle
from schedfuzz._core.runner import Runner, RunResult
from schedfuzz.errors import Livelock, ReplayDiverged, ScheduleFailure
from schedfuzz.livelock import pump
from schedfuzz.scenario import ScenarioInfo, findable_name, resolve
from schedfuzz.schedule import Schedule
from schedfuzz.settings import Settings

__all__ = ["Outcome", "explain", "nondeterministic", "replay", "replay_line", "run"]


@attrs.define(eq=False)
class Outcome:
    """A finished run with the scenario it ran and the schedule that reproduces it."""

    info: ScenarioInfo
    params: dict[str, Any]
    result: RunResult
    schedule: Schedule
    settings: Settings

    @property
    def kind(self) -> str:
        return self.result.kind

    @property
    def error(self) -> BaseException | None:
        return self.result.error

    @property
    def failed(self) -> bool:
        return self.result.error is not None

    @property
    def livelock_proved(self) -> bool | None:
        """For a livelock, whether it is a proved lasso (``Livelock.proved``); else None. A
        ``"step_bound"`` kind is no livelock: it proves nothing, and is None here too."""
        error = self.result.error
        return error.proved if isinstance(error, Livelock) else None


def _settings_for(info: ScenarioInfo, settings: Settings | None) -> Settings:
    return settings or info.settings or Settings()


def run(scenario: str | Callable[..., Any] | ScenarioInfo, *, oracle: Oracle | None = None,
        schedule: Schedule | str | None = None, settings: Settings | None = None,
        widths: list[int] | None = None, **params: Any) -> Outcome:
    """Run ``scenario`` once and return its ``Outcome`` (never raises a verdict).

    Args:
        scenario: a registered name, ``module:function`` or the function.
        oracle: where decisions come from (default: the default policy).
        schedule: replay these decisions instead (a ``Schedule`` or its ``sf1.`` text).
        settings: bounds; defaults to the scenario's own, else ``Settings()``.
        widths: the recorded number of enabled actors per choice point, to detect divergence.
        **params: the scenario's parameters.
    """
    info = resolve(scenario)
    info.check_params(params)
    settings = _settings_for(info, settings)
    if schedule is not None:
        if isinstance(schedule, str):
            schedule = Schedule.decode(schedule)
        oracle = ReplayOracle(schedule.decisions, widths, schedule.cycle_start)
    result = Runner(info.fn, params, oracle, settings).run()
    cycle_start = None
    if result.lasso is not None:
        result, cycle_start = _settle(info, params, settings, result)
    elif (result.kind == "step_bound" and isinstance(oracle, ReplayOracle)
          and oracle.cycle_start is not None):
        # A cycle replayed to the step bound: a livelock whose data grows, if the cycle held.
        cycling = Schedule(oracle.decisions, oracle.cycle_start)
        pumped = pump.settle(info, params, settings, cycling, oracle.widths)
        if pumped is not None:
            result, cycle_start = pumped, cycling.cycle_start
    return Outcome(info, params, result, Schedule(result.decisions, cycle_start), settings)


def _settle(info: ScenarioInfo, params: dict[str, Any], settings: Settings,
            result: RunResult) -> tuple[RunResult, int]:
    """Confirm a lasso by replaying it with fingerprints from step 0 (earliest repeat)."""
    assert result.lasso is not None  # internal: only called for a lasso
    _, _, d_first, _ = result.lasso
    eager = attrs.evolve(settings, lasso_after=0, lasso_every=1)
    again = Runner(info.fn, params, ReplayOracle(result.decisions, None, d_first), eager).run()
    if again.lasso is not None and isinstance(again.error, Livelock):
        return again, again.lasso[2]
    if isinstance(result.error, ScheduleFailure):
        result.error.add_note("note: replaying this lasso did not repeat it; hidden state the "
                              "fingerprint cannot see may have changed (treat as unconfirmed)")
    if isinstance(result.error, Livelock):
        result.error.proved = False  # a lasso its own replay does not repeat proves nothing
    return result, d_first


def replay_line(outcome: Outcome) -> str:
    return _replay_command(outcome.info, outcome.params, outcome.schedule)


def _replay_command(info: ScenarioInfo, params: dict[str, Any], schedule: Schedule) -> str:
    options = "".join(f" -p {shlex.quote(f'{k}={v!r}')}" for k, v in params.items())
    if getattr(info.fn, "__schedfuzz_threaded__", False):  # a plain threaded function
        options += " --threads"
        preempt_in = getattr(info.fn, "__schedfuzz_preempt_in__", ())
        if preempt_in:
            options += f" --preempt-in {','.join(preempt_in)}"
    return f"schedfuzz replay-one {findable_name(info)}{options} --schedule {schedule.encode()}"


def nondeterministic(info: ScenarioInfo, params: dict[str, Any], what: str,
                     schedule: Schedule | None = None) -> ReplayDiverged:
    """The error every engine raises for a scenario whose runs its decisions do not decide:
    ``what`` the same decisions did twice, and the ``schedule`` that shows it when replayed
    twice. A search over such a scenario would prove nothing, so it is an error, not a verdict.
    """
    show = "" if schedule is None else (
        f" (`{_replay_command(info, params, schedule)}`, run twice, shows two traces)")
    return ReplayDiverged(
        f"{info.name} is not deterministic: {what}. Its actors depend on something the "
        "scheduler does not decide (random numbers, the clock, set or id() order, state left "
        "by an earlier run), so no search over its schedules proves anything: make that part "
        "deterministic, a parameter of the scenario, or a value from schedfuzz.choose()"
        f"{show}")


def explain(outcome: Outcome, *, message: bool = True) -> str:
    """The human report of a run: verdict message, per-actor trace table, replay line.

    With ``message=False`` the verdict line is left out (it is the exception's own text when the
    report is attached to the exception as a note)."""
    result = outcome.result
    error = result.error
    lines = []
    if message and error is None:
        lines.append(f"ok: {outcome.info.name} finished in {result.steps} steps")
    elif message and error is not None:
        lines.append(error.message if isinstance(error, ScheduleFailure) else (
            f"{type(error).__name__}: {error}" + (f" (in actor {result.actor})"
                                                  if result.actor else "")))
    cycle = result.lasso[:2] if result.lasso else None
    if lines:
        lines.append("")
    lines.append(result.trace.table(max_rows=outcome.settings.max_trace_rows, cycle=cycle))
    lines.append("")
    plural = "" if result.preemptions == 1 else "s"
    lines.append(f"{result.steps} steps, {result.preemptions} preemption{plural}, "
                 f"{len(result.decisions)} choice points")
    lines.append("replay: " + replay_line(outcome))
    return "\n".join(lines)


def replay(scenario: str | Callable[..., Any] | ScenarioInfo, schedule: Schedule | str, *,
           settings: Settings | None = None, **params: Any) -> Outcome:
    """Replay ``schedule`` and raise its verdict, if any, with the trace attached as notes.

    Raises:
        ScheduleFailure: the verdict of the replayed run (or the actor's own exception).
        ReplayDiverged: the schedule does not fit the program any more.
    """
    outcome = run(scenario, schedule=schedule, settings=settings, **params)
    raise_for(outcome)
    return outcome


def raise_for(outcome: Outcome) -> None:
    """Raise the outcome's verdict with ``explain`` as a PEP 678 note; do nothing if ok."""
    error = outcome.result.error
    if error is None:
        return
    if isinstance(error, ScheduleFailure):
        error.schedule = outcome.schedule
    if not isinstance(error, ReplayDiverged):
        result = outcome.result
        if result.actor is not None and not isinstance(error, ScheduleFailure):
            error.add_note(f"raised in actor {result.actor} at step {result.steps - 1}")
        error.add_note(explain(outcome, message=False))
    raise error
