"""schedfuzz: property-based concurrency fuzzing with controlled scheduling.

Actors are greenlets; only the scheduler decides who runs next, and each of its decisions comes
from one oracle (Hypothesis, a replayed schedule, a seeded random walk, PCT, exhaustive search).
See the README for a guided tour.
"""

from schedfuzz._core.oracle import (
    DefaultOracle,
    Oracle,
    RandomOracle,
    ReplayOracle,
    RunView,
    ScriptOracle,
)
from schedfuzz._core.traps import (
    annotate,
    block_until,
    checkpoint,
    choose,
    current_actor,
    progress,
)
from schedfuzz.atomics import AtomicFlags, AtomicInt
from schedfuzz.errors import (
    CorpusError,
    Deadlock,
    Hang,
    InvalidArgument,
    Livelock,
    MissedWakeup,
    NotInActor,
    PrimitiveMisuse,
    ReplayDiverged,
    RunawayActor,
    SchedfuzzError,
    SchedfuzzInternalError,
    ScheduleFailure,
    StepBound,
)
from schedfuzz.execute import Outcome, explain, replay, run
from schedfuzz.scenario import (
    ScenarioInfo,
    at_end,
    invariant,
    registry,
    resolve,
    scenario,
    snapshot,
    spawn,
)
from schedfuzz.schedule import Schedule
from schedfuzz.settings import Settings
from schedfuzz.sync import (
    Condition,
    Event,
    Lock,
    Semaphore,
    Waiter,
    WaitQueue,
    signal,
    signal_pending,
)

__all__ = [
    "AtomicFlags",
    "AtomicInt",
    "Condition",
    "CorpusError",
    "Deadlock",
    "DefaultOracle",
    "Event",
    "Hang",
    "InvalidArgument",
    "Livelock",
    "Lock",
    "MissedWakeup",
    "NotInActor",
    "Oracle",
    "Outcome",
    "PrimitiveMisuse",
    "RandomOracle",
    "ReplayDiverged",
    "ReplayOracle",
    "RunView",
    "RunawayActor",
    "ScenarioInfo",
    "SchedfuzzError",
    "SchedfuzzInternalError",
    "Schedule",
    "ScheduleFailure",
    "ScriptOracle",
    "Semaphore",
    "Settings",
    "StepBound",
    "WaitQueue",
    "Waiter",
    "annotate",
    "at_end",
    "block_until",
    "checkpoint",
    "choose",
    "current_actor",
    "explain",
    "invariant",
    "progress",
    "registry",
    "replay",
    "resolve",
    "run",
    "scenario",
    "signal",
    "signal_pending",
    "snapshot",
    "spawn",
]


def __getattr__(name: str) -> object:
    # The Hypothesis layer is imported on first use, so `import schedfuzz` stays light and never
    # imports Hypothesis: `schedfuzz.fuzz.fuzz(...)` and `schedfuzz.strategies.schedules()` work.
    if name in ("fuzz", "strategies", "explore", "corpus"):
        import importlib

        return importlib.import_module(f"schedfuzz.{name}")
    msg = f"module 'schedfuzz' has no attribute {name!r}"
    raise AttributeError(msg)
