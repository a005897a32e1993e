"""Verdicts: what a run or a search found, what it proved, and when two failures are the same.

``FailureKey`` is the one answer to "is this the same failure?" that every shrinker, engine,
replay and corpus check asks (like Hypothesis's ``InterestingOrigin``): the verdict kind, the
exception type that carries it, and for a livelock whether it is a proved lasso. ``Report`` is
what an exploration returns: the failure, and what the runs without one prove, as typed fields
that the CLI, ``--json``, the tables and corpus files all read (``conclude`` sets them, one rule
for every engine).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from schedfuzz._core.runner import RunResult
from schedfuzz.errors import Livelock, SchedfuzzInternalError
from schedfuzz.execute import Outcome
from schedfuzz.scenario import ScenarioInfo

__all__ = ["INEXACT_KEPT", "PROOFS", "FailureKey", "Report", "conclude", "error_name",
           "met_inexact", "same_failure"]


def error_name(error: BaseException | None) -> str:
    """The name a failure's exception type goes by in keys and corpus files ("" for none)."""
    return "" if error is None else type(error).__qualname__


@attrs.frozen
class FailureKey:
    """What makes two failures the same failure.

    Attributes:
        kind: the verdict kind (``"failure"``, ``"deadlock"``, ``"livelock"``, ...).
        error: the exception type's name (``error_name``): an ``AssertionError`` and a
            ``KeyError`` are two bugs even in one scenario.
        proved: for a livelock, whether it is a proved lasso (``Livelock.proved``); None for
            every other kind.
    """

    kind: str
    error: str
    proved: bool | None = None

    @classmethod
    def of(cls, failure: Outcome | RunResult) -> FailureKey:
        """The key of a run's verdict."""
        result = failure.result if isinstance(failure, Outcome) else failure
        error = result.error
        proved = bool(error.proved) if isinstance(error, Livelock) and result.kind == "livelock" \
            else None
        return cls(result.kind, error_name(error), proved)

    def shown_by(self, other: FailureKey) -> bool:
        """Does a run with key ``other`` show this failure: the same kind and exception type,
        and a proved lasso again where this one is proved? (A proof may be gained on the way,
        as a shrinker finds a lasso for a candidate, never lost.)"""
        return (other.kind == self.kind and other.error == self.error
                and (not self.proved or bool(other.proved)))


def same_failure(reference: Outcome | RunResult, candidate: Outcome | RunResult) -> bool:
    """Does ``candidate`` fail the way ``reference`` does (``FailureKey.shown_by``)?"""
    return FailureKey.of(reference).shown_by(FailureKey.of(candidate))


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
