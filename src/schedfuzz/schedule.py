"""Schedule: the decisions that reproduce a run, and their compact text form.

A schedule is the list of oracle answers at the run's choice points (see ``_core.oracle`` for what
an answer means) plus, for a livelock, where the lasso's cycle starts. Its text form is what the
replay line prints and what a person pastes back::

    sf1.<base64url of uleb128 varints>

    varints: version(=1), len(decisions), decisions..., cycle_start + 1 (0: no cycle)

"Simpler" is shortlex on ``(preemptions, len(decisions), decisions)``: fewer departures from the
default policy first, then fewer choice points, then smaller answers.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

import attrs

from schedfuzz.errors import InvalidArgument

__all__ = ["Schedule"]

_PREFIX = "sf1."


def _pack(values: list[int]) -> bytes:
    out = bytearray()
    for value in values:
        while True:
            byte = value & 0x7F
            value >>= 7
            if value:
                out.append(byte | 0x80)
            else:
                out.append(byte)
                break
    return bytes(out)


def _unpack(data: bytes) -> list[int]:
    values = []
    value = shift = 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            values.append(value)
            value = shift = 0
    if shift:
        msg = "schedule text ends inside a number"
        raise InvalidArgument(msg)
    return values


def _as_tuple(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(values)


@attrs.frozen
class Schedule:
    """Decisions at the choice points of a run; see the module docstring.

    Attributes:
        decisions: one answer per choice point.
        cycle_start: for a livelock reproducer, the decision index where the cycle starts; the
            decisions from there on repeat forever.
    """

    decisions: tuple[int, ...] = attrs.field(converter=_as_tuple)
    cycle_start: int | None = None

    def __attrs_post_init__(self) -> None:
        for d in self.decisions:
            if isinstance(d, bool) or not isinstance(d, int) or d < 0:
                msg = f"schedule decisions must be non-negative ints, got {d!r}"
                raise InvalidArgument(msg)
        if self.cycle_start is not None and not 0 <= self.cycle_start <= len(self.decisions):
            msg = f"cycle_start {self.cycle_start!r} outside 0..{len(self.decisions)}"
            raise InvalidArgument(msg)

    @property
    def deviations(self) -> int:
        """Decisions that depart from the default policy."""
        return sum(1 for d in self.decisions if d)

    def sort_key(self) -> tuple[int, int, tuple[int, ...]]:
        return (self.deviations, len(self.decisions), self.decisions)

    def encode(self) -> str:
        values = [1, len(self.decisions), *self.decisions,
                  0 if self.cycle_start is None else self.cycle_start + 1]
        return _PREFIX + base64.urlsafe_b64encode(_pack(values)).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Schedule:
        """Parse the text form; raises ``InvalidArgument`` saying what is wrong with it."""
        if not isinstance(text, str) or not text.startswith(_PREFIX):
            msg = f"a schedule starts with {_PREFIX!r}, got {text!r:.40}"
            raise InvalidArgument(msg)
        body = text[len(_PREFIX):]
        try:
            data = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_",
                                    validate=True)
        except (binascii.Error, ValueError) as exc:
            msg = f"schedule {text!r:.40} is not valid base64: {exc}"
            raise InvalidArgument(msg) from None
        values = _unpack(data)
        if len(values) < 3 or values[0] != 1:
            msg = f"schedule {text!r:.40} has an unknown format version or is truncated"
            raise InvalidArgument(msg)
        n = values[1]
        if len(values) != n + 3:
            msg = f"schedule {text!r:.40} says {n} decisions but holds {len(values) - 3}"
            raise InvalidArgument(msg)
        cycle = values[-1]
        return cls(tuple(values[2:2 + n]), None if cycle == 0 else cycle - 1)
