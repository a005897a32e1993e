"""Exploration: run many schedules of a scenario under one engine, shrink the first failure.

Every engine (``hypothesis``, ``random``, ``pct``, ``dfs``) is a function with one signature,
registered by name, and returns a ``Report``. ``explore`` resolves the scenario, checks the
parameters and dispatches. The CLI, the pytest plugin and the scenario tables all go through here,
so the same budget, the same report and the same JSON come out of every engine.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from schedfuzz._core import clock
from schedfuzz.errors import InvalidArgument, SchedfuzzInternalError
from schedfuzz.execute import Outcome
from schedfuzz.scenario import ScenarioInfo, resolve
from schedfuzz.settings import Settings

__all__ = ["ENGINES", "PROGRESS", "PROOFS", "Budget", "Report", "conclude", "explore",
           "met_inexact", "register_engine"]


# Schedules a search runs at most when the budget names neither a count nor a time.
DEFAULT_MAX_SCHEDULES = 1000
# "No limit" for a count that must stay an int (Hypothesis's max_examples, a range's end).
UNLIMITED = 1 << 62

_COUNTS = {"max_schedules": 1, "workers": 1, "seed": 0, "max_preemptions": 0, "shrink_runs": 0}
# Times: must they be above 0? (``checkpoint_every=0`` saves between every two runs, spaced out
# by ``SAVE_SHARE`` only; ``shrink_seconds=0`` turns shrinking off.)
_TIMES = {"seconds": True, "search_seconds": True, "checkpoint_every": False,
          "shrink_seconds": False}


def _check_budget(instance: Budget, attribute: attrs.Attribute[Any], value: Any) -> None:
    """One rule per kind of field, with one wording for every bad value (the CLI's too)."""
    name = attribute.name
    if value is None and name in ("max_schedules", "seconds", "max_preemptions", "deadline",
                                  "shrink_runs", "search_seconds"):
        return
    if name == "checkpoint":
        if value is not None and not isinstance(value, str):
            msg = f"Budget.checkpoint must be a file path (str) or None, got {value!r}"
            raise InvalidArgument(msg)
        return
    if name == "deadline":  # a clock reading: any finite number
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
                value):
            msg = f"Budget.deadline must be a finite clock reading or None, got {value!r}"
            raise InvalidArgument(msg)
        return
    if name in _COUNTS:
        least = _COUNTS[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            msg = f"Budget.{name} must be an int of at least {least}, got {value!r}"
            raise InvalidArgument(msg)
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
            value) or value < 0 or (value == 0 and _TIMES.get(name, False)):
        what = "a positive" if _TIMES.get(name, False) else "a non-negative"
        msg = f"Budget.{name} must be {what} finite number of seconds, got {value!r}"
        raise InvalidArgument(msg)


@attrs.frozen
class Budget:
    """How much exploring to do. The first limit reached stops the search.

    ``seconds`` bounds the whole exploration: the search, the shrinking of a failure it finds
    and the worker processes of a split search all end by one deadline, which ``explore`` sets
    when it starts (``deadline``). Time limits are checked between two runs, so the command
    ends after the deadline by at most one run (bounded by ``Settings.max_steps``), the replay
    that rebuilds a failure found, and writing the report (or a dfs checkpoint).

    Attributes:
        max_schedules: schedules the search runs at most. None (the default) means
            ``DEFAULT_MAX_SCHEDULES`` (1,000) when ``seconds`` is None, and no count limit when
            it is given: ``seconds`` alone means "search until the time is up". After
            construction it is always an int.
        seconds: wall-clock limit of the whole exploration, shrinking included (see above), or
            None for no time limit. A positive finite number.
        seed: seeds every random choice of the engine; the same seed, the same search.
        shrink_seconds: wall-clock limit for shrinking a failure, within what is left of
            ``seconds``; 0 turns shrinking off.
        workers: processes to use (engines that support it).
        max_preemptions: for the ``dfs`` engine, the last level to explore: the search stops
            once every schedule with at most this many preemptions has run (a proof of that
            bound), or None to go on until another limit stops it.
        checkpoint: for the ``dfs`` engine, a file that holds the unfinished search (with
            several workers, one file each: ``FILE.1-of-N``, ...): resumed from if it exists,
            written every ``checkpoint_every`` seconds and when the budget runs out, removed
            when the search finishes (``schedfuzz.engines.dfs_checkpoint``).
        checkpoint_every: seconds between two saves of the checkpoint (more when a save
            takes more than a twentieth of that).
        search_seconds: a limit for the search alone, within ``seconds``, or None (the
            default: the search may use all of ``seconds``). For a caller that gives the search
            and the shrinking each their own time: ``seconds=S + T, search_seconds=S,
            shrink_seconds=T``.
        shrink_runs: runs that shrinking a failure may take at most, or None (the default)
            for no run limit. With it the shrunk failure is the same on every machine (the
            seconds limits then serve as a safety net), which tests that pin a shrunk schedule
            need.
        deadline: the ``schedfuzz._core.clock`` time at which the exploration ends, set by
            ``explore`` from ``seconds``; None: an engine called directly counts ``seconds``
            from its own start (``ends_at``).
    """

    max_schedules: int = attrs.field(  # type: ignore[assignment]  # None is resolved below
        default=None, validator=_check_budget)
    seconds: float | None = attrs.field(default=None, validator=_check_budget)
    seed: int = attrs.field(default=0, validator=_check_budget)
    shrink_seconds: float = attrs.field(default=30.0, validator=_check_budget)
    workers: int = attrs.field(default=1, validator=_check_budget)
    max_preemptions: int | None = attrs.field(default=None, validator=_check_budget)
    checkpoint: str | None = attrs.field(default=None, validator=_check_budget)
    checkpoint_every: float = attrs.field(default=60.0, validator=_check_budget)
    search_seconds: float | None = attrs.field(default=None, kw_only=True,
                                              validator=_check_budget)
    shrink_runs: int | None = attrs.field(default=None, kw_only=True, validator=_check_budget)
    deadline: float | None = attrs.field(default=None, kw_only=True, validator=_check_budget)

    def __attrs_post_init__(self) -> None:
        if self.max_schedules is None:
            timed = self.seconds is not None or self.search_seconds is not None
            cap = UNLIMITED if timed else DEFAULT_MAX_SCHEDULES
            object.__setattr__(self, "max_schedules", cap)

    def ends_at(self, started: float) -> float | None:
        """The clock time the search must end by: ``deadline``, else ``started + seconds``
        (``started`` read from ``schedfuzz._core.clock``), else None (no time limit)."""
        if self.deadline is not None:
            return self.deadline
        return None if self.seconds is None else started + self.seconds

    def search_ends_at(self, started: float) -> float | None:
        """The clock time the search (not the shrinking) must end by: ``ends_at``, or
        ``started + search_seconds`` if that is sooner."""
        ends = self.ends_at(started)
        if self.search_seconds is None:
            return ends
        alone = started + self.search_seconds
        return alone if ends is None else min(ends, alone)

    def left(self) -> float | None:
        """Seconds left before ``deadline`` (never below 0), or None without one."""
        return None if self.deadline is None else max(0.0, self.deadline - clock.now())

    def shrink_time(self) -> float:
        """The time shrinking a failure found now may take: ``shrink_seconds``, or what is
        left of ``seconds`` if that is less."""
        left = self.left()
        return self.shrink_seconds if left is None else min(self.shrink_seconds, left)


# What a search can prove about the schedules it ran without a failure, strongest first.
PROOFS = ("complete", "bounded", "sampled", "none")


@attrs.define(eq=False)
class Report:
    """What an exploration found, and what it proved.

    What was proved is data, not prose: ``proof``, ``proof_bound``, ``livelocks_checked``,
    ``inexact`` and ``stopped_by`` are the truth, and ``note`` words them for people (the CLI's
    text and ``--json`` show the same fields). Engines set them with ``conclude``, one rule for
    all.

    Attributes:
        verdict: ``"ok"`` or the verdict kind of the failure found (``"step_bound"`` for a run
            cut at ``Settings.max_steps``: a bound, not a proof of anything).
        schedules: schedules run by the search (not counting shrinking).
        seconds: wall-clock time of the whole exploration, shrinking included; for a search
            resumed from a checkpoint, the earlier sessions' time too (``resumed_seconds``),
            as ``schedules`` counts their runs.
        outcome: the (shrunk) failing run, or None.
        first_failure: ``(schedules, seconds)`` at which the first failure was seen.
        note: the proof and extra facts in words, e.g. ``"verified: no failure with at most 2
            preemptions"``; derived from the fields below, never the other way round.
        proof: what the runs without a failure prove: ``"complete"`` (every schedule, or the
            whole state space, explored), ``"bounded"`` (every schedule with at most
            ``proof_bound`` preemptions), ``"sampled"`` (some schedules, no proof) or
            ``"none"`` (a failure was found, or not even the first level was finished).
        proof_bound: for a ``"bounded"`` proof, its preemption count (deviations from the
            default policy for a search priced that way); else None.
        livelocks_checked: for a ``"complete"`` or ``"bounded"`` proof, whether it covers
            livelocks too (a stateful search looked for fair cycles among exactly compared
            states, or every schedule ran to its end); a stateless bounded proof does not: a
            livelock can need more preemptions than any bound.
        stopped_by: why the search ended: ``"exhausted"`` (nothing left to explore),
            ``"max_preemptions"`` (the last level of a bounded proof done), ``"failure"``,
            ``"max_schedules"``, ``"seconds"``, ``"interrupted"`` (a signal), or
            ``"no_new_schedules"`` (Hypothesis ended its search before ``max_schedules``).
        inexact: values the runs met that the fingerprint cannot compare by content (type and
            where), which no state-space or livelock claim may rest on.
        livelock_proved: for a ``"livelock"`` verdict, whether it is a proved lasso (True) or
            an unproved candidate (False); None for every other verdict.
        resumed_seconds: the part of ``seconds`` spent before the search was last resumed.
    """

    scenario: ScenarioInfo
    params: dict[str, Any]
    engine: str
    verdict: str = "ok"
    schedules: int = 0
    seconds: float = 0.0
    outcome: Outcome | None = None
    first_failure: tuple[int, float] | None = None
    note: str = ""
    resumed_seconds: float = 0.0
    stats: dict[str, Any] = attrs.field(factory=dict)
    proof: str = "none"
    proof_bound: int | None = None
    livelocks_checked: bool = False
    stopped_by: str = ""
    inexact: tuple[str, ...] = ()
    livelock_proved: bool | None = None

    @property
    def failed(self) -> bool:
        return self.outcome is not None and self.outcome.failed

    @property
    def complete(self) -> bool:
        """The whole space was explored without a failure (``proof == "complete"``)."""
        return self.proof == "complete"

    @property
    def verified(self) -> bool:
        """A proof, not a sample: ``proof`` is ``"complete"`` or ``"bounded"``."""
        return self.proof in ("complete", "bounded")

    def to_json(self) -> dict[str, Any]:
        out = self.outcome.result if self.outcome is not None else None
        first = self.first_failure
        rate = round(self.schedules / self.seconds, 1) if self.seconds else None
        return {
            "scenario": self.scenario.name,
            "params": dict(self.params.items()),
            "engine": self.engine,
            "verdict": self.verdict,
            "expected": self.scenario.expect,
            "schedules": self.schedules,
            "seconds": round(self.seconds, 3),
            "schedules_per_second": rate,
            "first_failure_schedules": first[0] if first else None,
            "first_failure_seconds": round(first[1], 3) if first else None,
            "preemptions": out.preemptions if out is not None else None,
            "steps": out.steps if out is not None else None,
            "schedule": self.outcome.schedule.encode() if self.outcome is not None else None,
            "proof": self.proof,
            "proof_bound": self.proof_bound,
            "livelocks_checked": self.livelocks_checked,
            "stopped_by": self.stopped_by,
            "inexact": list(self.inexact),
            "livelock_proved": self.livelock_proved,
            "complete": self.complete,
            "note": self.note,
            **({"stats": self.stats} if self.stats else {}),
        }


INEXACT_KEPT = 5  # descriptions of uncomparable values a report keeps: enough to name the fix


def met_inexact(seen: list[str], found: Iterable[str]) -> None:
    """Add what one run met that the fingerprint cannot compare (``RunResult.inexact``) to
    ``seen``, without repeats and at most ``INEXACT_KEPT`` in all."""
    for what in found:
        if what not in seen and len(seen) < INEXACT_KEPT:
            seen.append(what)


def conclude(report: Report, proof: str, stopped_by: str, *, bound: int | None = None,
             livelocks_checked: bool = False, inexact: Iterable[str] = ()) -> Report:
    """Record what a search proved and why it ended: the one way every engine sets them.

    The rules hold here, so no engine words a stronger claim than its search supports: a
    search that found a failure proves nothing about the absence of one (``"none"``); only a
    proof (complete or bounded) can cover livelocks; a bounded proof has a bound. Whether
    uncomparable values (``inexact``) weaken a proof is the engine's call (a stateful search
    cannot claim its state space with them; a stateless one relies on no state identity), but
    they are always reported. ``livelock_proved`` comes from the outcome's verdict.

    Returns:
        ``report``, for chaining.
    """
    if proof not in PROOFS:
        msg = f"proof {proof!r} is not one of {', '.join(PROOFS)}"
        raise SchedfuzzInternalError(msg)
    if report.failed:
        proof = "none"
    if proof == "bounded" and (bound is None or bound < 0):
        proof = "none"
    report.proof = proof
    report.proof_bound = bound if proof == "bounded" else None
    report.livelocks_checked = livelocks_checked and report.verified
    report.stopped_by = stopped_by
    report.inexact = tuple(dict.fromkeys(inexact))
    report.livelock_proved = None if report.outcome is None else report.outcome.livelock_proved
    return report


# What the running search has done so far, for a progress display in another thread (the CLI's
# ticker): engines set a few counts (``schedules``, ``level``, ``states``) as they go, cheaply;
# ``explore`` clears it when a search starts. Only the process's own search shows here.
PROGRESS: dict[str, int] = {}

EngineFn = Callable[[ScenarioInfo, dict[str, Any], Settings, Budget], Report]
ENGINES: dict[str, EngineFn] = {}
# Engines living in other modules, imported on first use so `import schedfuzz` stays cheap.
_LAZY = {
    "hypothesis": "schedfuzz.hypothesis_engine",
    "random": "schedfuzz.engines.random_walk",
    "pct": "schedfuzz.engines.pct",
    "dfs": "schedfuzz.engines.dfs",
}


# Engines that split their search among ``Budget.workers`` processes (the lazy ones named here,
# so that the check needs no import).
PARALLEL: set[str] = {"random", "pct", "dfs"}


def register_engine(name: str, *, parallel: bool = False) -> Callable[[EngineFn], EngineFn]:
    """Register an engine function under ``name``; ``parallel`` if it uses ``Budget.workers``."""

    def register(fn: EngineFn) -> EngineFn:
        ENGINES[name] = fn
        if parallel:
            PARALLEL.add(name)
        return fn

    return register


def engine(name: str) -> EngineFn:
    if name not in ENGINES and name in _LAZY:
        importlib.import_module(_LAZY[name])
    try:
        return ENGINES[name]
    except KeyError:
        known = ", ".join(sorted(set(ENGINES) | set(_LAZY)))
        msg = f"unknown engine {name!r}; use one of {known}"
        raise InvalidArgument(msg) from None


def explore(scenario: str | Callable[..., Any] | ScenarioInfo, *, engine_name: str = "hypothesis",
            budget: Budget | None = None, settings: Settings | None = None,
            **params: Any) -> Report:
    """Search the schedules of ``scenario`` with one engine and shrink the first failure.

    ``budget.seconds`` bounds all of it, shrinking included (``Budget``).

    Example::

        report = explore("demo.abba", engine_name="random", budget=Budget(max_schedules=500))
        if report.failed:
            print(schedfuzz.explain(report.outcome))
    """
    info = resolve(scenario)
    info.check_params(params)
    fn = engine(engine_name)
    budget = budget or Budget()
    if budget.workers > 1 and engine_name not in PARALLEL:
        splits = ", ".join(sorted(PARALLEL)) or "none"
        msg = (f"Budget.workers={budget.workers}: the {engine_name} engine runs in one process "
               f"(engines that split among workers: {splits})")
        raise InvalidArgument(msg)
    started = time.perf_counter()
    if budget.seconds is not None and budget.deadline is None:
        # One deadline for the search, its shrinking and its worker processes.
        budget = attrs.evolve(budget, deadline=clock.now() + budget.seconds)
    PROGRESS.clear()
    report = fn(info, params, settings or info.settings or Settings(), budget)
    report.seconds = report.resumed_seconds + time.perf_counter() - started
    return report
