"""State fingerprints and lasso detection: how a livelock is *proved*, not guessed.

A run is a deterministic function of its state and the decisions. If the state at a scheduling
point equals the state at an earlier one, and the decisions between them can be taken again, the
run can go round that cycle forever: a lasso (stem + cycle), TLC's "back to state i". The cycle is
a livelock only if it is

* fair: every actor that was enabled throughout the cycle ran in it (otherwise it is just a
  schedule that starves someone, which a fair scheduler would not produce), and
* without progress: no ``progress()`` mark fired inside it.

What "the state" is: the scenario's own snapshot (``schedfuzz.snapshot``), the scheduler's policy
state (current actor, its consecutive-run count), and for every actor its state, its wait and its
*position*: each suspended frame's code, instruction offset, local variables and value stack
(``framestack.py``), so a loop counter in a local, or a ``for`` loop's iterator, keeps a long
terminating loop from looking like a cycle; and the module globals the frame's code reads or
writes, directly or through the functions and classes it names, and those a function held in a
variable reads (``global_reads``). Most globals are functions, classes, modules and constants
that never change: each is *pinned* to the object it held when first read and left out of the
state while it still holds it (``_ModulePins``), so a frame's globals cost a few identity checks.
Modules and classes are compared by name: state kept in a class attribute or in another
module's attribute is not seen (keep it in an object, or show it with ``snapshot()``).

How values are compared is ``freeze.py``; which globals a frame's code touches, and how they are
left out while unchanged, is ``moduleglobals.py``.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from schedfuzz._core.codekey import CODE_KEYS, code_key
from schedfuzz._core.framestack import stack_of
from schedfuzz._core.freeze import Memo, freeze, where_of
from schedfuzz._core.moduleglobals import global_reads, globals_image

if TYPE_CHECKING:
    from schedfuzz._core.actor import Actor

__all__ = ["LassoDetector", "actor_outline", "actor_position", "inexact_in", "outline_of",
           "position_only"]

# -- actors' positions --------------------------------------------------------------------------

# id(code) -> (code, the globals its frames run in, global_reads of them): the cache a frame
# looks in first (a code runs in one module's globals, but is checked).
_FRAME_READS: dict[int, tuple[types.CodeType, Any, Any]] = {}

# ids of code objects whose frames' locals never decide what an actor does next (see
# ``position_only``); membership only, never iterated, so ids keep runs deterministic.
_POSITION_ONLY: set[int] = set()


def position_only(code: types.CodeType) -> None:
    """Leave the locals of ``code``'s frames out of actor positions (keep code and offset).

    For frames whose locals only feed the trace (``checkpoint``'s label and arguments) or
    repeat what a frame above already holds (the actor body's function and arguments, which
    are that function's locals): freezing them at every fingerprint costs more than the rest
    of the actor's frames together.
    """
    _POSITION_ONLY.add(id(code))


def actor_position(actor: Actor, memo: Memo) -> Any:
    """The actor's place in its code: every suspended frame's code, offset, locals, value stack
    and the module globals its code touches.

    Frames of schedfuzz's own modules (traps, primitives) are included: which primitive an actor
    is inside is part of where it is. What cannot be compared lands in ``memo.met``.
    """
    frame = actor.greenlet.gr_frame
    out: list[tuple[Any, ...]] = []
    position_only_codes = _POSITION_ONLY
    keys = CODE_KEYS
    frame_reads = _FRAME_READS
    done = memo.globals
    innermost = True  # running, as CPython sees it: its stack height is not recorded
    while frame is not None:
        code = frame.f_code
        entry = keys.get(id(code))  # code_key(code), inlined: this runs for every frame
        key = entry[1] if entry is not None and entry[0] is code else code_key(code)
        if id(code) in position_only_codes:
            out.append((key, frame.f_lasti))
        else:
            stack = None if innermost else stack_of(frame)
            # global_reads(code, frame.f_globals) and globals_image, inlined where cached
            f_globals = frame.f_globals
            seen = frame_reads.get(id(code))
            if seen is not None and seen[0] is code and seen[1] is f_globals:
                reads = seen[2]
            else:
                reads = global_reads(code, f_globals)
                frame_reads[id(code)] = (code, f_globals, reads)
            if reads:
                image = done.get(id(reads))
                if image is None:
                    image = globals_image(reads, memo)
            else:
                image = ()
            out.append((key, frame.f_lasti, freeze(frame.f_locals, memo),
                        freeze(stack, memo) if stack else (), image))
        innermost = False
        frame = frame.f_back
    return tuple(out)


def inexact_in(actor: Actor, memo: Memo) -> list[str]:
    """Where ``actor``'s frames hold values the fingerprint cannot compare: "`_thread.lock` in
    local 'lk' of 'worker' at prog.py:12". Slow (each frame's values frozen one by one), so
    only called once a fingerprint has met one."""
    found = []
    frame = actor.greenlet.gr_frame
    while frame is not None:
        code = frame.f_code
        if id(code) not in _POSITION_ONLY:
            where = where_of(code, frame.f_lineno)
            parts: list[tuple[str, Any]] = [(f"local '{k}'", v) for k, v in
                                            list(frame.f_locals.items())]
            stack = stack_of(frame) if frame is not actor.greenlet.gr_frame else None
            parts += [("the value stack", v) for v in stack or ()]
            parts += [(f"global '{n}'", g.get(n)) for g, names in
                      global_reads(code, frame.f_globals) for n in names]
            for what, value in parts:
                probe = Memo()
                freeze(value, probe)
                found += [f"{t.what} in {what} of {where}" for t in probe.met]
        frame = frame.f_back
    return found


def actor_outline(actor: Actor) -> tuple[tuple[str, int], ...]:
    """The actor's position without the frames' values: each frame's code and offset.

    With the snapshot and the policy state it makes a state's *outline* (``outline_of``), a
    fraction of the fingerprint's cost (no locals to freeze): two states with different
    outlines differ, so a stateful search that finds no kept state with this outline knows the
    state is new without computing its fingerprint.
    """
    frame = actor.greenlet.gr_frame
    out = []
    keys = CODE_KEYS
    while frame is not None:
        code = frame.f_code
        entry = keys.get(id(code))
        out.append((entry[1] if entry is not None and entry[0] is code else code_key(code),
                    frame.f_lasti))
        frame = frame.f_back
    return tuple(out)


def outline_of(fingerprint: Any) -> Any:
    """The outline of the state with this runner fingerprint (``Runner._fingerprint``): equal
    to ``Runner._outline()`` for that state."""
    current, consecutive, snap, actors = fingerprint
    return (current, consecutive, snap,
            tuple((*a[:4], tuple(f[:2] for f in a[4])) for a in actors))


class LassoDetector:
    """Remembers fingerprints from ``start`` on and finds the first fair, progress-free cycle.

    The runner calls ``observe`` at each scheduling point after choosing who runs next.
    """

    def __init__(self, start: int, snapshot: Callable[[], Any] | None) -> None:
        self.start = start
        self.snapshot = snapshot
        self.seen: dict[Any, tuple[int, int]] = {}  # fingerprint -> (first, last) visit
        self.enabled: list[int] = []  # bit mask of enabled actors, per observed step
        self.ran: list[int] = []  # bit of the actor that ran, per observed step
        self.decision_index: list[int] = []  # decisions taken before the step, per observed step
        self.found: tuple[int, int] | None = None

    def observe(self, step: int, fingerprint: Any, enabled_mask: int, ran_bit: int,
                decisions: int, last_progress: int) -> tuple[int, int] | None:
        """Record the state before ``step`` (``fingerprint`` is None between two samples);
        return ``(first, end)`` steps of a lasso cycle."""
        offset = step - self.start
        if offset != len(self.enabled):  # a gap would make the arrays lie; start afresh
            self.seen.clear()
            self.enabled.clear()
            self.ran.clear()
            self.decision_index.clear()
            self.start = step
            offset = 0
        self.enabled.append(enabled_mask)
        self.ran.append(ran_bit)
        self.decision_index.append(decisions)
        if fingerprint is None:  # a step between two samples: masks only
            return None
        visits = self.seen.get(fingerprint)
        if visits is None:
            self.seen[fingerprint] = (step, step)
            return None
        first_visit, last_visit = visits
        self.seen[fingerprint] = (first_visit, step)
        # The shortest candidate cycle is since the last visit; if that one is unfair, the one
        # since the first visit may still be fair (a figure-eight through this state).
        for first in dict.fromkeys((last_visit, first_visit)):
            if self._fair_and_idle(first, offset, last_progress):
                self.found = (first, step)
                return self.found
        return None

    def _fair_and_idle(self, first: int, offset: int, last_progress: int) -> bool:
        if last_progress >= first:
            return False
        throughout = -1
        ran = 0
        for i in range(first - self.start, offset):
            throughout &= self.enabled[i]
            ran |= self.ran[i]
        # Someone enabled all along who never ran: an unfair schedule, not a livelock.
        return not throughout & ~ran
