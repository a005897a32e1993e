"""Schedule plans: a schedule as its deviations from the default policy, decoded from bytes.

A ``SchedulePlan`` is a list of deviations (``Deviation``: "after ``gap`` default answers,
answer ``choice``"), optionally cycling; a ``ScheduleOracle`` follows one through a run. Plans are
decoded from bytes, so Hypothesis can draw and shrink them (``schedfuzz.strategies``), in two
encodings: a *deviation plan* of a few records, and a *walk* of many.

Deviation plans. The bytes are read as a list of deviation records::

    bytes:   [hi lo] [hi lo] ... [hi lo] [c]?
    record:  w = hi << 8 | lo
             gap    = GAP(w >> 2)      default answers (0) before this deviation
             choice = 1 + (w & 3)      the answer, taken as 1 + (choice - 1) % (n - 1) among the
                                       n - 1 other enabled actors
    [c]:     an odd trailing byte makes the records *cycle*: after the last one, they repeat from
             record ``c % len(records)``; in those records gap = GAP(16383 - (w >> 2))
             (see "Cycles" below)

At the choice points (two or more actors enabled) the oracle answers 0, "follow the default
policy", except after ``gap`` such answers, where it answers the record's choice, and then goes on
with the next record. After the last record it answers 0 for ever and says it is ``exhausted``,
so the rest of the run follows the fair default policy.

Why this shape shrinks well. Hypothesis shrinks a byte string shortlex: first shorter, then
lexicographically smaller, byte by byte. Deleting a record deletes one deviation, so the shrinker
minimises the number of departures from the default policy (each preemption is one) before
anything else; lowering a record's high byte lowers its gap (the deviation moves earlier), its low
byte its choice (a nearer actor). The empty string is the default schedule, the simplest of all.

``GAP`` is monotone, so a smaller byte never means a later deviation, and skewed so random bytes
give useful schedules for small and large programs alike: half of the values give the gaps 0-15,
the smaller ones likelier (a quarter of all records have gap 0: most concurrency bugs need a
switch right at some step, and a livelock a switch at almost every step); the other half cover 16
to about 65,000 on a logarithmic scale (each doubling equally likely). Integer arithmetic only:
the same bytes give the same schedule on any machine. (Measured on the demo programs, the skew
towards 0 finds their bugs four times sooner than gaps 0-15 equally likely.)

Cycles. An adversarial livelock needs deviations for ever: two polite actors back off forever
only if each is preempted inside every one of its attempts, which no finite list of deviations
sustains once the fair default policy takes over. A cycling plan keeps deviating long enough for
the lasso detector (which starts at ``Settings.lasso_after``) to see the state repeat, then stops
cycling and lets the default policy run: a cycle that only starves an actor then ends, so no
unfair schedule can masquerade as a livelock, and a step-bound verdict is always reached under the
fair default policy.

Inside the cycle the gap field is read the other way round. The simplest cycle is the *sparsest*
(fewest preemptions per round), and the shrinker only ever lowers bytes; read directly, lowering
would make a cycle denser, down to "switch at every step". Read reversed, it makes the cycle
sparser for as long as the livelock holds. Random bytes give the same spread of gaps either way.
(Measured on the model's two-writer livelock: 7 to 11 preemptions in the shrunk lasso instead of
42.) A cycle still cannot shrink into one with *more* records, such as the polite pair's two
switches per round after "switch at every step"; ``schedfuzz.reduce.minimal`` covers that case.

Walks. A walk switches at each choice point with some probability ``p``, for its first
``WALK_SWITCHES`` switches; its bytes are a density and one-byte records::

    bytes:   [d] [r] [r] ... [r]
    span   = isqrt(256 * (d + 1))       p = span / 256, from 1/16 to 1
    record:  r = 0                      no deviation (a deleted record)
             gap    = WALK_GAP(span, (r - 1) // 12)
             choice = 1 + (r - 1) % 12  taken modulo the other enabled actors, as a plan's

Switching at each choice point with probability ``p`` is the same as waiting a geometric number
of choice points (``P(gap = g) = (1 - p)**g * p``) between switches, so ``WALK_GAP`` is that
distribution's quantile at the middle of the record's gap level (22 levels, ``walk_gaps``,
integer arithmetic). ``d`` spreads the walks from sparse to dense, the denser likelier (the
square root). Twelve answers spread evenly over 1, 2, 3, 4 or 6 other actors.

A walk is a plan whose records fill their bytes densely, so it shrinks as a plan does: a record
lowered to 0 deletes a deviation and the later ones move up, a lower level moves it earlier, a
lower choice picks a nearer actor. (One byte per *choice point* would shrink badly: deleting a
switch would not move the others, and Hypothesis edits one byte at a time.) A walk does not
cycle: a cycle stands for a livelock, and a cycling walk that found another failure would be
rejected (``schedfuzz.fuzz``).
"""

from __future__ import annotations

import functools
import math

import attrs

from schedfuzz._core.oracle import Oracle, RunView
from schedfuzz.errors import InvalidArgument
from schedfuzz.settings import Settings

__all__ = [
    "WALK_SWITCHES",
    "Deviation",
    "ScheduleOracle",
    "SchedulePlan",
    "gap_of",
    "walk_gaps",
]

WALK_SWITCHES = 32  # records of a walk; the model's lock races need about 20 switches
_WALK_CHOICES = 12  # a walk's answers 1..12: uniform modulo 1, 2, 3, 4 or 6 other actors
_WALK_LEVELS = 22  # gap levels of a walk record: (r - 1) // 12 for r = 1..255
_SMALL = 8192  # values of the 14-bit gap field below this give the small gaps 0..15
_CHOICES = 4  # choices a record can express; taken modulo the other enabled actors
_FOREVER = 1 << 62  # a countdown no run reaches
_GAP_MAX = (1 << 14) - 1


def gap_of(value: int) -> int:
    """The gap encoded by a record's 14-bit gap field (monotone; see the module docstring)."""
    if not 0 <= value < 1 << 14:
        msg = f"a gap field is a 14-bit value, got {value!r}"
        raise InvalidArgument(msg)
    if value < _SMALL:
        return (value * value) >> 22  # 0..15, the smaller ones likelier
    u = value - _SMALL
    octave, fraction = u >> 9, u & 511
    # piecewise-linear 2**x: 16 octaves of 512 steps, from 16 up to about 16 + 65,000
    return 16 + (((512 + fraction) << octave) >> 9) - 1


@functools.cache
def walk_gaps(span: int) -> tuple[int, ...]:
    """The gap of each walk record level when ``span`` byte values in 256 switch.

    Level ``q`` holds the records ``12q + 1 .. 12q + 12``; its gap is the smallest ``g`` with
    ``P(gap > g) = (1 - span/256) ** (g + 1)`` at most ``1 - m/256``, ``m`` the middle record.
    """
    if not 16 <= span <= 256:
        msg = f"a walk's span is 16..256 switching byte values, got {span!r}"
        raise InvalidArgument(msg)
    stay = 256 - span
    gaps = []
    for level in range(_WALK_LEVELS):
        first = _WALK_CHOICES * level + 1
        twice_middle = first + min(first + _WALK_CHOICES - 1, 255)
        g = 0
        while stay ** (g + 1) * 512 > (512 - twice_middle) * 256 ** (g + 1):
            g += 1
        gaps.append(g)
    return tuple(gaps)


@functools.cache
def _walk_records(span: int) -> tuple[Deviation | None, ...]:
    """The deviation of each record byte 0..255 (None for 0) at this span: decoding a walk is
    then a table look-up per byte, no arithmetic and no new objects."""
    gaps = walk_gaps(span)
    return (None, *(_deviation(gaps[(r - 1) // _WALK_CHOICES], 1 + (r - 1) % _WALK_CHOICES)
                     for r in range(1, 256)))


@functools.cache
def _deviation(gap: int, choice: int) -> Deviation:
    return Deviation(gap, choice)  # a few hundred distinct ones serve every walk table


@attrs.frozen
class Deviation:
    """One departure from the default policy: after ``gap`` default answers, answer ``choice``."""

    gap: int
    choice: int


@attrs.frozen
class SchedulePlan:
    """A list of deviations, optionally cycling; the value behind a ``ScheduleOracle``.

    Attributes:
        deviations: in order of application.
        cycle_from: ``None``, or the index of the deviation the list repeats from after its end.
    """

    deviations: tuple[Deviation, ...] = ()
    cycle_from: int | None = None

    def __attrs_post_init__(self) -> None:
        for d in self.deviations:
            if d.gap < 0 or d.choice < 1:
                msg = f"a deviation needs gap >= 0 and choice >= 1, got {d!r}"
                raise InvalidArgument(msg)
        if self.cycle_from is not None and not 0 <= self.cycle_from < len(self.deviations):
            msg = f"cycle_from={self.cycle_from!r} is not the index of one of the deviations"
            raise InvalidArgument(msg)

    @classmethod
    def from_bytes(cls, data: bytes) -> SchedulePlan:
        """Decode the drawn bytes (see the module docstring); every byte string is valid."""
        words = [data[i] << 8 | data[i + 1] for i in range(0, len(data) - 1, 2)]
        cycle = data[-1] % len(words) if len(data) % 2 and words else None
        deviations = tuple(
            Deviation(gap_of(w >> 2) if cycle is None or i < cycle else gap_of(_GAP_MAX - (w >> 2)),
                      1 + (w & (_CHOICES - 1)))
            for i, w in enumerate(words)
        )
        return cls(deviations, cycle)

    @classmethod
    def from_walk(cls, data: bytes) -> SchedulePlan:
        """Decode a walk's bytes (see the module docstring): a density byte, then one record
        per byte, 0 for none; every byte string is valid."""
        if not data:
            return cls()
        records = _walk_records(math.isqrt((data[0] + 1) << 8))
        return cls(tuple(d for d in map(records.__getitem__, data[1:]) if d is not None))

    def __str__(self) -> str:
        """``gap:choice`` per deviation; a cycle as ``(...)*``: ``2:1, (2:1, 4:1)*``."""
        parts = [f"{d.gap}:{d.choice}" for d in self.deviations]
        if self.cycle_from is not None:
            cycle = ", ".join(parts[self.cycle_from:])
            parts[self.cycle_from:] = [f"({cycle})*"]
        return ", ".join(parts) or "default"


class ScheduleOracle(Oracle):
    """The oracle of a ``SchedulePlan``: answers 0 except at the planned deviations.

    Reusable: it starts again from the first deviation in every run it serves (``new_run``), so
    one drawn value can be run twice, for instance once to find a failure and once more to show
    it.

    While cycling it keeps going for ``2 * lasso_after + 4 * period + 256`` choice points of the
    run (``period`` = choice points in one round of the cycle; at most ``max_steps``), enough
    for the lasso detector to see a cycle repeat, then stops and follows the default policy. A
    deviation that would come after that point never comes.
    """

    def __init__(self, plan: SchedulePlan, shape: str = "plan") -> None:
        self.plan = plan
        self.shape = shape  # "plan" or "walk": how the strategy drew it (for reports)
        self._restart(Settings())

    def new_run(self, run: RunView) -> None:
        self.run = run
        self._restart(run.settings)

    def _restart(self, settings: Settings) -> None:
        plan = self.plan
        self._next = 0  # index of the next deviation
        self._done = self.exhausted = not plan.deviations
        # choice points to answer 0 before the next deviation; "for ever" once done
        self._countdown = _FOREVER if self._done else plan.deviations[0].gap
        self._limit = 0
        if plan.cycle_from is not None:
            period = sum(d.gap + 1 for d in plan.deviations[plan.cycle_from:])
            self._limit = min(2 * settings.lasso_after + 4 * period + 256, settings.max_steps)

    def choose_actor(self, n: int) -> int:
        if self._countdown:
            self._countdown -= 1
            return 0
        return self._deviate(n)

    # A plan counts choice points of both kinds alike (what Hypothesis draws and shrinks).
    choose_value = choose_actor

    def _deviate(self, n: int) -> int:
        plan = self.plan
        runner = self.run
        if self._limit and runner is not None and len(runner.decisions) >= self._limit:
            return self._finish()  # cycled long enough: the fair default policy takes over
        choice = plan.deviations[self._next].choice
        self._next += 1
        if self._next == len(plan.deviations):
            if plan.cycle_from is None:
                self._finish()
                return 1 + (choice - 1) % (n - 1)
            self._next = plan.cycle_from
        gap = plan.deviations[self._next].gap
        if self._limit and runner is not None and len(runner.decisions) + gap >= self._limit:
            self._finish()  # the next deviation would come after the limit: none comes
        else:
            self._countdown = gap
        return 1 + (choice - 1) % (n - 1)

    def _finish(self) -> int:
        self._done = self.exhausted = True
        self._countdown = _FOREVER
        return 0

    def __repr__(self) -> str:
        return f"schedule({self.plan})"
