"""Livelocks whose data grows: pump a cycle of the control state and name what changes.

The lasso detector proves a livelock when a whole state comes back. A polite back-off whose
actors also count their attempts (``rounds += 1``) never repeats a state, so no lasso closes,
and no engine's schedule sustains the back-off long enough to reach ``Settings.max_steps``:
every search ends "ok". This module is the search step after the search (``after_search``;
``after_step_bound`` when the search found only a ``StepBound``), bounded by runs, not time:

1. **Candidates.** The engines keep the ``KEEP`` longest runs that ended without a verdict
   (``Longest``: a comparison per run, nothing per step). Each is replayed once under
   ``Watch``, which records the *control state* at every choice point: the policy state and
   each live actor's wait state and position (frames' code and offset, no values). Two choice
   points with the same control state, a fair window between them (every actor enabled
   throughout it ran in it), no ``progress()`` mark in it, and at least one departure from
   the default policy among its decisions make a candidate cycle; the simplest few are tried
   (``simplest``). A cycle that needs no decision is the default policy's own loop: the run's
   ``StepBound``, never a livelock.
2. **Pump.** The stem's decisions, then the cycle's repeated forever, are replayed under
   ``CycleOracle`` (a ``Schedule`` with a ``cycle_start``, as a lasso's reproducer is). Every
   round must start in the same control state and take the same steps (actor and operation),
   every decision of a round must meet as many choices as the first round's did, and the run
   must reach ``Settings.max_steps`` without progress: a loop that ends within ``max_steps``,
   pumped or not, is never reported. If the whole state comes back after all, the schedule is
   replayed with the lasso detector, and the verdict is the proved lasso.
3. **Name what changes.** The fingerprints of the first ``SHOWN_ROUNDS`` round starts are
   compared path by path (``_diff``); what differs is the cycle's data, shown with its values
   (``rounds (alice, in polite): 1, 2, 3, 4, ...``). A late round must differ from the first
   only there: the same cycle all along.
4. **Read or not.** That late round, past ``max_steps // 2``, runs under a line tracer
   (``schedfuzz.livelock.reads``). A changing value whose name no executed line of the program
   loads (only ``rounds += 1``, ``n = n + 1``, ``log.append(x)``, which write it) cannot steer
   the cycle: the lasso is proved modulo those values, and the message says so. A value that
   some line reads (a branch test, a loop's bound, an argument), code whose source cannot be
   read, or ``getattr``/``vars``/``__dict__`` make it a livelock *candidate (unproved)*.
   ``Livelock.proved`` is False either way: only an exact lasso, on equal states, is a proof.

The reproducer is the pumped schedule, cut to stem + one round like a lasso's; replaying it
(``execute.run``) reaches ``max_steps`` under the cycle, and ``settle`` turns that run's
``StepBound`` into the same verdict.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from schedfuzz._core.codekey import CODE_KEYS
from schedfuzz._core.fingerprint import actor_outline
from schedfuzz._core.freeze import freeze
from schedfuzz._core.moduleglobals import global_reads
from schedfuzz._core.oracle import ReplayOracle, RunView, enabled_mask
from schedfuzz._core.runner import Runner
from schedfuzz.errors import Livelock, ReplayDiverged
from schedfuzz.livelock.reads import LineTracer, readers
from schedfuzz.schedule import Schedule

if TYPE_CHECKING:
    from schedfuzz._core.runner import RunResult
    from schedfuzz.scenario import ScenarioInfo
    from schedfuzz.settings import Settings

__all__ = ["Change", "CycleOracle", "Longest", "Watch", "Window", "pump_cycle", "settle",
           "simplest", "windows"]

KEEP = 4  # longest runs without a verdict a search keeps for pumping (``engines.pumping``)
WINDOWS_PER_RUN = 2  # candidate cycles pumped per kept run
SCANNED_WINDOWS = 2000  # candidate cycles of a kept run compared to pick those
MAX_PUMPS = 6  # pumped runs per search at most (each runs up to Settings.max_steps)
MIN_ROUNDS = 3  # rounds that must fit in max_steps for the data's course to show
SHOWN_ROUNDS = 4  # round starts fingerprinted in full, whose values the verdict shows


class _LeftCycle(Exception):
    """A pumped round did not come back to the cycle's control state."""


def control(runner: RunView) -> tuple[Any, ...]:
    """The control state at a choice point: the policy state and, per live actor, its wait
    state and position without values (``Runner._state`` without the snapshot and the
    frames' locals)."""
    cur = runner.current
    return (-1 if cur is None else cur.aid,
            min(runner.consecutive, runner.settings.fair_quantum),
            tuple((a.aid, a.state.value, a.yielded, a.signal_pending, actor_outline(a))
                  for a in runner.live))


# -- candidates ---------------------------------------------------------------------------------

@attrs.define
class Longest:
    """The ``KEEP`` longest runs that ended without a verdict, by steps: the cheap filter that
    picks the runs worth replaying for a cycle (a sustained back-off makes a run long)."""

    runs: list[tuple[int, list[int]]] = attrs.field(factory=list)

    def offer(self, result: RunResult) -> None:
        """Keep ``result``'s decisions if it is among the longest (a comparison, mostly)."""
        if result.decisions and self._wants(result.steps):
            self._add(result.steps, list(result.decisions))

    def merge(self, other: Longest) -> None:
        for steps, decisions in other.runs:
            if self._wants(steps):
                self._add(steps, decisions)

    def _wants(self, steps: int) -> bool:
        return len(self.runs) < KEEP or steps > self.runs[-1][0]

    def _add(self, steps: int, decisions: list[int]) -> None:
        self.runs.append((steps, decisions))
        self.runs.sort(key=lambda run: -run[0])  # stable: the earlier of two equal runs first
        del self.runs[KEEP:]


@attrs.frozen
class Window:
    """A candidate cycle: steps ``[first, end)``, decisions ``[d_first, d_end)``."""

    first: int
    end: int
    d_first: int
    d_end: int


class Watch(ReplayOracle):
    """Replays a run and records, at every actor choice point, the step, the decision index,
    the control state and the enabled actors."""

    def __init__(self, decisions: Sequence[int]) -> None:
        super().__init__(decisions)
        self.points: list[tuple[int, int, Any, int]] = []

    def choose_actor(self, n: int) -> int:
        runner = self.run
        assert runner is not None  # internal: new_run came first
        self.points.append((runner.step, self.index, control(runner), enabled_mask(runner)))
        return super().choose_actor(n)

    choose_value = ReplayOracle.choose_actor


def windows(result: RunResult, points: list[tuple[int, int, Any, int]]) -> Iterator[Window]:
    """Candidate cycles of a watched run, the earliest-closing first (see module docstring)."""
    rows = result.trace.rows
    progress = sorted(s for s, _, label, _ in result.trace.notes if label == "progress")
    enabled = {step: mask for step, _, _, mask in points}
    last: dict[Any, int] = {}
    for j, (end, d_end, state, _) in enumerate(points):
        i = last.get(state)
        last[state] = j
        if i is None:
            continue
        first, d_first = points[i][0], points[i][1]
        if not any(result.decisions[d_first:d_end]):
            continue  # the default policy's own loop
        if any(first <= s < end for s in progress):
            continue
        if _fair(rows, enabled, first, end):
            yield Window(first, end, d_first, d_end)


def simplest(result: RunResult, points: list[tuple[int, int, Any, int]]) -> list[Window]:
    """The ``WINDOWS_PER_RUN`` simplest distinct cycles among the first ``SCANNED_WINDOWS``
    candidates: fewest departures from the default policy per round, then the shortest
    round, then the earliest (the reproducer a person reads and replays)."""
    decisions = result.decisions
    found: dict[tuple[int, ...], Window] = {}
    for window in itertools.islice(windows(result, points), SCANNED_WINDOWS):
        found.setdefault(tuple(decisions[window.d_first:window.d_end]), window)

    def cost(item: tuple[tuple[int, ...], Window]) -> tuple[int, int, int]:
        cycle, window = item
        return (sum(1 for d in cycle if d), window.end - window.first, window.end)

    return [window for _, window in sorted(found.items(), key=cost)[:WINDOWS_PER_RUN]]


def _fair(rows: Sequence[tuple[int, str, Any]], enabled: dict[int, int], first: int,
          end: int) -> bool:
    """Every actor enabled throughout steps ``[first, end)`` ran in them."""
    throughout, ran = -1, 0
    for step in range(first, min(end, len(rows))):
        bit = 1 << rows[step][0]
        throughout &= enabled.get(step, bit)
        ran |= bit
    return not throughout & ~ran


# -- pumping ------------------------------------------------------------------------------------

class CycleOracle(ReplayOracle):
    """Replays a schedule whose decisions from ``cycle_start`` repeat forever, and watches every
    round start (the choice point where the cycle's decisions begin again): its control state
    must be the first round's, and so must the enabled count at each decision of a round
    (``_LeftCycle`` otherwise). The first ``SHOWN_ROUNDS`` round starts are fingerprinted in
    full, and so are the start and end of one round past ``max_steps // 2``, which runs under a
    line tracer."""

    def __init__(self, decisions: Sequence[int], widths: Sequence[int] | None,
                 cycle_start: int) -> None:
        super().__init__(decisions, widths, cycle_start)
        self.period = len(self.decisions) - cycle_start
        self.starts: list[int] = []  # the step of every round start
        self.prints: dict[int, Any] = {}  # round -> fingerprint at its start
        self.masks: dict[int, int] = {}  # step -> enabled actors, in the first round
        self.round_widths: list[int] = []
        self.preemptions = 0  # before the second round: those of stem + one round
        self.late = -1  # the traced round
        self.tracer: LineTracer | None = None
        self.lines: set[tuple[str, int]] | None = None  # what the traced round executed
        self.untraced = ""  # why it could not be traced
        self._control: Any = None
        self._late_step = 0

    def choose_actor(self, n: int) -> int:
        self._watch(n, False)
        return super().choose_actor(n)

    def choose_value(self, n: int) -> int:
        self._watch(n, True)
        return super().choose_actor(n)  # one list of answers, in the order they were asked

    def _watch(self, n: int, data: bool) -> None:
        i = self.index
        start = self.cycle_start
        assert start is not None  # internal: set by the constructor
        if self.period and i >= start:
            runner = self.run
            assert runner is not None  # internal: new_run came first
            k, offset = divmod(i - start, self.period)
            if offset == 0:
                self._round_start(runner, k, data)
            if k == 0:
                self.round_widths.append(n)
                if not data:
                    self.masks[runner.step] = enabled_mask(runner)
            elif n != self.round_widths[offset]:
                msg = f"decision {offset} of round {k} met {n} choices, round 0 had " \
                      f"{self.round_widths[offset]}"
                raise _LeftCycle(msg)

    def _round_start(self, runner: RunView, k: int, data: bool) -> None:
        if self.tracer is not None:  # the traced round is over
            self.lines, self.untraced = self.tracer.stop(runner)
            self.tracer = None
            self.prints[k] = _print(runner)
        if data:
            msg = f"round {k} starts at a value choice"
            raise _LeftCycle(msg)
        state = control(runner)
        if k == 0:
            self._control = state
            self._late_step = max(runner.settings.max_steps // 2, runner.step + 1)
        elif state != self._control:
            msg = f"round {k} starts in another control state"
            raise _LeftCycle(msg)
        if k == 1:
            self.preemptions = runner.preemptions
        self.starts.append(runner.step)
        if k < SHOWN_ROUNDS:
            self.prints[k] = _print(runner)
        if self.late < 0 and runner.step >= self._late_step:
            self.late = k
            self.prints[k] = _print(runner)
            self.tracer = LineTracer()
            self.untraced = self.tracer.start(runner)
            if self.untraced:
                self.tracer = None

    def close(self) -> None:
        if self.tracer is not None:
            self.tracer.stop(None)
            self.tracer = None


def settle(info: ScenarioInfo, params: dict[str, Any], settings: Settings,
           schedule: Schedule, widths: list[int] | None) -> RunResult | None:
    """Pump ``schedule`` (stem + cycle) to ``max_steps``: that run's result with a ``Livelock``
    verdict if the cycle holds and its data changes, else None (the caller keeps its own).
    With ``Settings.detect_livelock`` off nothing is pumped: the step bound is all there is."""
    return pump_cycle(info, params, settings, schedule, widths)[0]


def pump_cycle(info: ScenarioInfo, params: dict[str, Any], settings: Settings, schedule: Schedule,
          widths: list[int] | None) -> tuple[RunResult | None, bool]:
    """``settle``, and whether the whole state came back after all (an exact lasso, which a
    run with the lasso detector proves). The pumped run itself leaves the detector off: it
    would fingerprint every few steps up to ``max_steps``."""
    start = schedule.cycle_start
    assert start is not None  # internal: only a cycling schedule is pumped
    if not settings.detect_livelock:
        return None, False  # livelock detection is off: the step bound is all there is
    if not any(schedule.decisions[start:]):
        return None, False  # needs no decision: the default policy's own loop, a StepBound
    oracle = CycleOracle(schedule.decisions, widths, start)
    quiet = attrs.evolve(settings, detect_livelock=False)
    try:
        result = Runner(info.fn, params, oracle, quiet).run()
    except (_LeftCycle, ReplayDiverged):
        return None, False
    finally:
        oracle.close()
    starts = oracle.starts
    if result.kind != "step_bound" or len(starts) < MIN_ROUNDS + 1:
        return None, False  # it ended, or failed otherwise
    first, end = starts[0], starts[1]
    rows, notes = result.trace.rows, result.trace.notes
    if any(label == "progress" and step >= first for step, _, label, _ in notes):
        return None, False
    if not _fair(rows, oracle.masks, first, end):
        return None, False
    steps = [row[:2] for row in rows]  # who took which step (arguments may show the data)
    for a, b in itertools.pairwise(starts):
        if b - a != end - first or steps[a:b] != steps[first:end]:
            return None, False  # a round that is not the first one again
    late = oracle.late
    if late + 1 in oracle.prints and oracle.prints[late] == oracle.prints[late + 1]:
        return None, settings.detect_livelock  # the data stopped changing: a lasso
    changes = _changes(oracle, result.trace.names)
    if changes is None:
        return None, False
    return _livelock(result, oracle, schedule, changes, settings), False


def _livelock(result: RunResult, oracle: CycleOracle, schedule: Schedule,
              changes: list[Change], settings: Settings) -> RunResult:
    """Cut the pumped run to stem + one round, as a lasso's, and give it the verdict."""
    first, end = oracle.starts[0], oracle.starts[1]
    read_at = readers(oracle.lines, {c.name for c in changes if c.name}) \
        if oracle.lines is not None else {}
    unread = oracle.lines is not None and all(c.name and c.name not in read_at
                                              for c in changes) and None not in read_at
    trace = result.trace
    names = ", ".join(dict.fromkeys(trace.names[aid] for aid, _, _ in trace.rows[first:end]))
    shown = "; ".join(c.show() for c in changes[:6])
    if len(changes) > 6:
        shown += f"; and {len(changes) - 6} more"
    rounds = len(oracle.starts) - 1
    body = (f"{names} go round a fair cycle of {end - first} steps without progress (steps "
            f"{first}..{end - 1}, back to step {first}) whose control state (positions, "
            f"wait states, scheduling policy) comes back every round: pumping its decisions "
            f"kept it so for {rounds} rounds, to Settings.max_steps ({settings.max_steps} "
            f"steps). Only data changes from round to round: {shown}.")
    if unread:
        written = ", ".join(dict.fromkeys(c.name or "" for c in changes))
        msg = (f"Livelock (proved modulo write-only values): {body} No line the cycle "
               f"executes reads them, it only writes them, so they cannot end it: the cycle "
               f"repeats forever modulo {written}.")
    else:
        msg = (f"Livelock candidate (unproved): {body} {_why_unproved(changes, read_at, oracle)}"
               " A long loop whose bound lies beyond max_steps looks the same: if it should "
               "end, raise Settings.max_steps; if not, mark real work with progress().")
    error = Livelock(msg, proved=False, pumped=True, cycle=(first, end), steps=end,
                     changing=tuple(c.where for c in changes), write_only=unread)
    error.trace = trace
    del trace.rows[end:]
    trace.notes[:] = [n for n in trace.notes if n[0] < end]
    trace.blocked[:] = [s for s in trace.blocked if s < end]
    d_first, d_end = oracle.cycle_start or 0, len(schedule.decisions)
    del result.decisions[d_end:]
    del result.widths[d_end:]
    result.values[:] = [(s, v) for s, v in result.values if s < end]
    result.kind, result.error = "livelock", error
    result.steps, result.preemptions = end, oracle.preemptions
    result.lasso = (first, end, d_first, d_end)
    return result


def _why_unproved(changes: list[Change], read_at: dict[str | None, str],
                  oracle: CycleOracle) -> str:
    if oracle.lines is None:
        why = oracle.untraced or "the run ended inside the traced round"
        return (f"Which lines read the changing values was not seen ({why}), so they may end "
                "the cycle after more rounds than max_steps allows.")
    if None in read_at:
        return (f"Code the cycle runs could read any value ({read_at[None]}), so they may "
                "end the cycle after more rounds than max_steps allows.")
    read = [f"{c.where} at {read_at[c.name]}" for c in changes if c.name in read_at]
    unnamed = [c.where for c in changes if not c.name]
    parts = []
    if read:
        parts.append("the cycle reads " + ", ".join(read[:3]))
    if unnamed:
        parts.append("no line can be told to read or not " + ", ".join(unnamed[:3]))
    return ("It is not proved: " + "; ".join(parts) + ", so a changing value may end the "
            "cycle after more rounds than max_steps allows.")


# -- what changes -------------------------------------------------------------------------------

@attrs.frozen
class Change:
    """A value that differs between round starts.

    Attributes:
        where: how to find it, e.g. ``rounds (alice, in polite)``.
        name: the identifier code would load to read it (``rounds``, ``attempts`` for
            ``stats.attempts``), or None where it has none (a tuple item, a value stack slot).
        values: as shown, at the first round starts.
    """

    where: str
    name: str | None
    values: tuple[str, ...]

    def show(self) -> str:
        return f"{self.where}: {', '.join(self.values)}, ..."


def _print(runner: RunView) -> tuple[Any, Any]:
    """The state at a round start: the runner's fingerprint, and the module globals the
    actors' code touches by name (the fingerprint holds their values, not their names)."""
    return runner.fingerprint(), _named_globals(runner)


def _named_globals(runner: RunView) -> tuple[tuple[str, str, Any], ...]:
    """(module, name, frozen value) of each global the live actors' frames may touch
    (``moduleglobals.global_reads``), in name order."""
    found: dict[tuple[str, str], Any] = {}
    for actor in runner.live:
        frame = actor.greenlet.gr_frame
        while frame is not None:
            try:
                groups = global_reads(frame.f_code, frame.f_globals)
            except Exception:  # nothing to name: the fingerprint still compares them
                groups = ()
            for space, names in groups:
                module = str(space.get("__name__", "?"))
                for name in names:
                    if (module, name) not in found:
                        found[module, name] = freeze(space.get(name, _UNBOUND))
            frame = frame.f_back
    return tuple((m, n, found[m, n]) for m, n in sorted(found))


_UNBOUND = ("unbound",)


def _parts(state: tuple[Any, Any], names: list[str]) -> Iterator[tuple[str, str, str | None, Any]]:
    """A round start's state (``_print``) split into named parts: (path, context, base name,
    frozen value)."""
    fingerprint, globals_ = state
    for module, name, value in globals_:
        yield name, f" (global of {module})", name, value
    if type(fingerprint) is not tuple or len(fingerprint) != 4:
        yield "state", "", None, fingerprint  # a layout this module does not know
        return
    current, consecutive, snap, actors = fingerprint
    yield "policy", "", None, (current, consecutive)
    yield "snapshot()", "", None, snap
    for aid, *flags, position in actors:
        actor = names[aid] if 0 <= aid < len(names) else str(aid)
        yield f"{actor} state", "", None, tuple(flags)
        for depth, frame in enumerate(position):
            key = frame[0]
            fn = key.rsplit(":", 3)[-2].rsplit(".", 1)[-1] if key.count(":") >= 3 else key
            context = f" ({actor}, in {fn})"
            yield f"frame {depth}", context, None, frame[:2]
            local = frame[2] if len(frame) > 2 else None
            if (type(local) is tuple and len(local) == 3 and local[0] == "D"
                    and len(local[1]) == len(local[2])):
                for name, value in zip(local[1], local[2], strict=True):
                    yield str(name), context, name if isinstance(name, str) else None, value
            elif local is not None:
                yield "locals", context, None, local
            if len(frame) > 3:
                yield "value stack", context, None, frame[3]
            # frame[4:], the globals the frame touches, are the named globals above.


def _diff(a: Any, b: Any, sub: tuple[str, ...], out: dict[tuple[str, ...], tuple[Any, Any]],
          ) -> None:
    """The sub-paths where two frozen values differ, named by attribute and key where the
    frozen form shows them (``freeze.freeze``): a dict as ``("D", keys, values)``, an
    object as its type's name followed, somewhere, by its field names and their values."""
    if a == b:
        return
    if type(a) is tuple and type(b) is tuple and a and b and len(a) == len(b):
        if a[0] == b[0] == "D" and len(a) == 3 and a[1] == b[1]:  # a dict: by key
            for key, x, y in zip(a[1], a[2], b[2], strict=False):
                _diff(x, y, (*sub, f"[{key!r}]"), out)
            return
        if (a[0] == b[0] == "fn" and len(a) >= 3 and a[1] == b[1] and type(a[2]) is tuple
                and type(b[2]) is tuple and len(a[2]) == len(b[2])):  # a closure: by variable
            free = _freevars(a[1], len(a[2]))
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                if i == 2:
                    for name, u, v in zip(free, x, y, strict=True):
                        _diff(u, v, (*sub, f".{name}" if name.isidentifier() else name), out)
                elif x != y:
                    _diff(x, y, (*sub, f"[{i}]"), out)
            return
        fields = _fields_at(a, b)
        if fields:
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                if i == fields:
                    for field, u, v in zip(a[i - 1], x, y, strict=True):
                        _diff(u, v, (*sub, f".{field}"), out)
                elif x != y:
                    _diff(x, y, (*sub, f"[{i}]"), out)
            return
        if len(a) == 2 and type(a[0]) is str and a[0] == b[0] and a[0] not in ("@", "^"):
            if type(a[1]) is tuple and type(b[1]) is tuple and len(a[1]) != len(b[1]):
                out[sub] = (a, b)  # a list that grows: shown whole, by its length
            else:
                _diff(a[1], b[1], sub, out)  # a tagged value: a primitive's state, ...
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, (*sub, f"[{i}]"), out)
        return
    out[sub] = (a, b)


def _freevars(key: Any, count: int) -> tuple[str, ...]:
    """The closure variables of the function whose code has this ``code_key``, or positions
    when the code object is not at hand."""
    for code, known in list(CODE_KEYS.values()):
        if known == key and len(code.co_freevars) == count:
            return tuple(code.co_freevars)
    return tuple(f"[{i}]" for i in range(count))


def _fields_at(a: tuple[Any, ...], b: tuple[Any, ...]) -> int:
    """In a frozen object (type name first), the index of the field values that follow the
    field names; 0 if there is none."""
    if type(a[0]) is not str or a[0] != b[0]:
        return 0
    for j in range(1, len(a) - 1):
        names = a[j]
        if (names == b[j] and type(names) is tuple and names
                and all(type(n) is str for n in names) and type(a[j + 1]) is tuple
                and type(b[j + 1]) is tuple and len(a[j + 1]) == len(b[j + 1]) == len(names)):
            return j + 1
    return 0


def _show(value: Any) -> str:
    """A changing value as the verdict shows it: a scalar as itself, a container by size."""
    if type(value) in (int, float, bool, str, bytes, type(None), complex):
        text = repr(value)
        return text if len(text) <= 24 else text[:21] + "..."
    if type(value) is tuple and value and type(value[-1]) is tuple:
        size = len(value[-1])
        if value[0] == "L" and len(value) == 2:
            return f"[{size} items]"
        if value[0] in ("S", "Q") and len(value) in (2, 3):
            return f"<{size} items>"
        if value[0] == "D" and len(value) == 3:
            return f"{{{size} entries}}"
    if type(value) is tuple and all(type(v) in (int, float, str, bool) for v in value):
        return f"({len(value)} items)"
    return "<...>"


def _name_of(base: str | None, sub: tuple[str, ...]) -> str | None:
    """The identifier that reads this value: the last attribute or string key, else the
    local variable when the value is the local itself."""
    if not sub:
        return base
    last = sub[-1]
    if last.startswith("."):
        return last[1:]
    if last.startswith("['") and last.endswith("']"):
        return last[2:-2]
    return None


def _changes(oracle: CycleOracle, names: list[str]) -> list[Change] | None:
    """What differs between the first round starts, with its values; None if nothing does, or
    if the late round changes something the first rounds do not (not the same cycle)."""
    prints = oracle.prints
    if any(k not in prints for k in range(SHOWN_ROUNDS)):
        return None
    split = [list(_parts(prints[k], names)) for k in range(SHOWN_ROUNDS)]
    if any(len(s) != len(split[0]) or [p[:2] for p in s] != [p[:2] for p in split[0]]
           for s in split):
        return None
    found: dict[tuple[int, tuple[str, ...]], list[Any]] = {}
    for i, (_, _, _, v0) in enumerate(split[0]):
        for k in range(1, SHOWN_ROUNDS):
            out: dict[tuple[str, ...], tuple[Any, Any]] = {}
            _diff(v0, split[k][i][3], (), out)
            for sub, (a, b) in out.items():
                found.setdefault((i, sub), [a] * SHOWN_ROUNDS)[k] = b
    # The traced round and the next start must differ from the first only where the first
    # rounds did: the same cycle, whose traced lines stand for every round.
    for r in (oracle.late, oracle.late + 1):
        if r not in prints or r < SHOWN_ROUNDS:
            continue
        later = list(_parts(prints[r], names))
        if [p[:2] for p in later] != [p[:2] for p in split[0]]:
            return None
        for i, (x, y) in enumerate(zip(split[0], later, strict=True)):
            out = {}
            _diff(x[3], y[3], (), out)
            if any((i, sub) not in found for sub in out):
                return None
    changes = []
    for (i, sub), values in found.items():
        path, context, base, _ = split[0][i]
        if path == "policy" or path.endswith(" state") or path.startswith("frame "):
            return None  # control, not data: not this module's kind of cycle
        change = Change(path + "".join(sub) + context, _name_of(base, sub),
                        tuple(_show(v) for v in values))
        if change not in changes:  # a global, seen from every frame that touches it
            changes.append(change)
    return changes or None
