"""Every exception a schedfuzz user can see, in one hierarchy.

``SchedfuzzError`` is the root. Below it:

* ``ScheduleFailure`` and its subclasses are *verdicts*: what a run of a scenario found.
  Each verdict kind is its own type so that Hypothesis, which tells distinct bugs apart by
  exception type and origin, keeps a deadlock and a livelock in the same test separate. An actor
  that raises is a verdict too, but schedfuzz re-raises the actor's own exception (with the trace
  attached as PEP 678 notes) rather than wrapping it, so ``pytest.raises(AssertionError)`` works.
  ``StepBound`` is the one verdict that proves nothing about the program: the run was cut at
  ``Settings.max_steps``; ``Livelock.proved`` tells a proved lasso from an unproved candidate.
* Usage errors also derive from the builtin they resemble, so ``except TypeError`` keeps working:
  ``InvalidArgument`` (a bad value handed to schedfuzz), ``NotInActor`` (an actor-only operation
  called from outside an actor), ``PrimitiveMisuse`` (releasing a lock you do not hold, ...).
* ``ReplayDiverged``: a recorded schedule no longer fits the program.
* ``SchedfuzzInternalError``: a bug in schedfuzz itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schedfuzz._core.trace import Trace
    from schedfuzz.schedule import Schedule

__all__ = [
    "CorpusError",
    "Deadlock",
    "Hang",
    "InvalidArgument",
    "Livelock",
    "MissedWakeup",
    "NotInActor",
    "PrimitiveMisuse",
    "ReplayDiverged",
    "RunawayActor",
    "SchedfuzzError",
    "SchedfuzzInternalError",
    "ScheduleFailure",
    "StepBound",
]


class SchedfuzzError(Exception):
    """Base class of every exception that schedfuzz raises on purpose."""


class InvalidArgument(SchedfuzzError, TypeError):
    """A value handed to schedfuzz is of the wrong type or out of range."""


class CorpusError(InvalidArgument):
    """A corpus file cannot be used; the message names the file and the field."""


class NotInActor(SchedfuzzError, RuntimeError):
    """An actor-only operation (a trap, a primitive) was called outside a running actor."""


class PrimitiveMisuse(SchedfuzzError, RuntimeError):
    """A modelled primitive was used against its contract, e.g. a lock released by a non-owner."""


class ReplayDiverged(SchedfuzzError):
    """A replayed schedule does not fit the program any more; the message names the step."""


class SchedfuzzInternalError(SchedfuzzError):
    """A bug in schedfuzz itself. Please file a bug with the replay line."""


class ScheduleFailure(SchedfuzzError):
    """A verdict: the run of a scenario under one schedule went wrong.

    Attributes:
        kind: the verdict name used in JSON output and corpus files.
        trace: the recorded run (``None`` until the runner attaches it).
        schedule: the decisions that reproduce it.
    """

    kind = "failure"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.trace: Trace | None = None
        self.schedule: Schedule | None = None


class Deadlock(ScheduleFailure):
    """Live actors remain, none can run, and their waits form a cycle."""

    kind = "deadlock"


class Hang(ScheduleFailure):
    """An actor is blocked forever on a condition nobody can make true, with no cycle of waits."""

    kind = "hang"


class RunawayActor(Hang):
    """An actor ran past the wall-clock limit without reaching a scheduling point."""


class MissedWakeup(ScheduleFailure):
    """An actor sleeps forever although its condition holds, or its wake-up came before it slept."""

    kind = "missed_wakeup"


class Livelock(ScheduleFailure):
    """Actors keep running without progress.

    ``proved`` is true for a *lasso*: a repeated state whose cycle is fair and makes no progress,
    so the execution can go on forever. It is false for a *candidate*: a fair, progress-free
    cycle whose replay was pumped several rounds but not shown to come back to an equal state
    (its data keeps changing, say); the message says what was not proved. A run that only ran
    out of steps is not a livelock at all but a ``StepBound``.

    Args:
        message: the verdict's text.
        proved: whether the lasso is proved; by default, whether a ``lasso`` detail is given.
        **details: ``lasso=(first_step, end_step)``, ``steps``, ...
    """

    kind = "livelock"

    def __init__(self, message: str, *, proved: bool | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.proved: bool = bool(details.get("lasso")) if proved is None else proved


class StepBound(ScheduleFailure):
    """A run reached ``Settings.max_steps`` without finishing and without a proved lasso.

    A bound, not a proof: the run might end a step later (a long loop), or never (a livelock
    whose state the fingerprint never saw repeat). Not a ``Livelock`` subclass, so that
    ``except Livelock`` and the verdict kind ``"livelock"`` mean a cycle was found. To go
    further, raise ``Settings.max_steps`` if the loop should end, or mark work with
    ``progress()`` and show the shared state with ``snapshot()`` so a repeat can be proved.
    """

    kind = "step_bound"
