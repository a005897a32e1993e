"""Budgets: how much exploring to do, and what the running search has done so far.

A ``Budget`` is the one limit every engine obeys (schedules, seconds, preemptions, workers,
shrinking). ``PROGRESS`` is the few counts a running search publishes for a progress display.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from schedfuzz._core import clock
from schedfuzz.errors import InvalidArgument

__all__ = ["DEFAULT_MAX_SCHEDULES", "PROGRESS", "UNLIMITED", "Budget"]


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
            when the search finishes (``schedfuzz.search.checkpoint``).
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


# What the running search has done so far, for a progress display in another thread (the CLI's
# ticker): engines set a few counts (``schedules``, ``level``, ``states``) as they go, cheaply;
# ``explore`` clears it when a search starts. Only the process's own search shows here.
PROGRESS: dict[str, int] = {}
