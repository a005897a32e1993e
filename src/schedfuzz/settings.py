"""Settings: every knob of a run, its default and what it bounds, in one frozen record."""

from __future__ import annotations

import attrs

from schedfuzz.errors import InvalidArgument

__all__ = ["Settings"]


def _positive(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"Settings.{attribute.name} must be a positive int, got {value!r}"
        raise InvalidArgument(msg)


def _nonneg(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"Settings.{attribute.name} must be a non-negative int, got {value!r}"
        raise InvalidArgument(msg)


def _seconds(instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        msg = f"Settings.{attribute.name} must be a positive number of seconds, got {value!r}"
        raise InvalidArgument(msg)


@attrs.frozen
class Settings:
    """How one run of a scenario is bounded and checked.

    Attributes:
        max_steps: scheduling steps before a run that has not finished is stopped. Reaching it
            without a proved lasso gives the weaker livelock verdict, which says it is a bound.
        fair_quantum: under the default policy an actor that ran this many consecutive steps while
            others were enabled is switched out, as if it had yielded. This keeps spin-waits that
            forget ``checkpoint(yield_=True)`` from starving the actor they wait for.
        lasso_after: fingerprinting for lasso (livelock) detection starts at this step. Runs
            shorter than that pay nothing for it; a cycle repeats forever, so a late start still
            finds it, and the report re-runs the schedule to show the earliest repeat.
        lasso_every: fingerprint every this many steps (from ``lasso_after`` on). A cycle of L
            steps is still found (after at most ``lasso_every * L`` more steps), and a found
            lasso is replayed with a fingerprint at every step to report its exact, earliest
            cycle; sampling only makes the search for it cheaper.
        detect_livelock: turn lasso detection off entirely (then only the step bound remains).
        runaway_seconds: wall-clock limit for one actor between two scheduling points, and for
            one call of the scenario's own code outside actors (the scenario function, an
            invariant, an end check, the snapshot, a wait predicate); past it the run ends in a
            ``RunawayActor`` verdict that names the code and its file:line.
        spurious_wakeups: let the oracle wake sleepers of primitives that allow it (Condition,
            WaitQueue sleeps that say so) without a wake-up, as POSIX and loom do.
        max_trace_rows: rows shown in a rendered trace table before the middle is elided.
    """

    max_steps: int = attrs.field(default=50_000, validator=_positive)
    fair_quantum: int = attrs.field(default=64, validator=_positive)
    lasso_after: int = attrs.field(default=200, validator=_nonneg)
    lasso_every: int = attrs.field(default=4, validator=_positive)
    detect_livelock: bool = True
    runaway_seconds: float = attrs.field(default=10.0, validator=_seconds)
    spurious_wakeups: bool = False
    max_trace_rows: int = attrs.field(default=80, validator=_positive)
