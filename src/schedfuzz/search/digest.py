"""``StepDigest``: the steps a run took, summed up in one number, so that the exhaustive search
can check that a replay takes the steps it recorded (``search.oracle``)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schedfuzz._core.oracle import RunView

__all__ = ["StepDigest"]


# label -> a number for it: a str's own hash differs between processes, and a digest is saved in
# a checkpoint and compared in the next process. Cleared when large, for labels made on the fly.
_LABEL_CODES: dict[str, int] = {}


def _label_codes(rows: Sequence[tuple[int, str, object]]) -> dict[str, int]:
    """The label codes, with every label of ``rows`` in them."""
    codes = _LABEL_CODES
    if len(codes) > 4096:
        codes.clear()
    for _, label, _ in rows:
        if label not in codes:
            codes[label] = zlib.crc32(str(label).encode()) << 16  # the actor id goes below
    return codes


class StepDigest:
    """A digest of the steps a run has taken so far: which actor took each, and which
    operation (its trace label). The same in every process for the same steps (a tuple of
    ints hashes alike in every process of one Python version, which a checkpoint records).

    Ask it at the run's choice points, in order. Each step's code is worked out once; the
    digest is the hash of all of them, so it does not depend on where the run asked before
    (an exploring run asks at every branching point, a replay once at its end).
    """

    def __init__(self) -> None:
        self.value = hash(())
        self.steps: list[int] = []  # one code per trace row: its label's code plus its actor

    def at(self, runner: RunView) -> int:
        """The digest of the steps before ``runner.step``."""
        seen, step = len(self.steps), runner.step
        if step > seen:
            rows = runner.trace.rows[seen:step]
            codes = _LABEL_CODES
            try:
                self.steps += [codes[label] + aid for aid, label, _ in rows]
            except KeyError:  # a label not met before
                codes = _label_codes(rows)
                self.steps += [codes[label] + aid for aid, label, _ in rows]
            self.value = hash(tuple(self.steps))
        return self.value
