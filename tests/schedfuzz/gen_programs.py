"""Small concurrent programs as data, for the differential soundness test.

A ``Program`` is two or three actors, each a short list of ``Op``\\ s over one shared world: a
deque, a list, a dict, a set, an object attribute, a closure variable, a module global, a linked
list, a generator, a list iterator and an ``itertools.repeat``, two locks and a condition. Ops
push and pop, increment non-atomically, take values from the iterators, ``choose``, assert,
wait and notify, and nest in ``with lock``, ``for _ in range(n)``, ``if``, loops that drain a
container, walk the linked list or iterate an iterator (all bounded), and ``while`` loops on
shared state that spin with ``checkpoint(yield_=True)`` (possibly forever).

A program is plain data, so Hypothesis shrinks it and prints it as pseudo-code (``render``).
``build`` turns it into a scenario function: actors are closures that interpret their ops, with
no code generated from strings. Each actor keeps its registers and its place in its ops in a dict
(``regs``) that its frames hold as a local, so the scheduler's fingerprint must see frame locals
to tell two places apart; ``Probe`` reads the same world and registers directly, which is how the
test compares two states without the fingerprint (``deep``).
"""

from __future__ import annotations

import collections
import itertools
import operator
import types
from collections.abc import Callable, Iterator
from typing import Any

import attrs
from hypothesis import assume
from hypothesis import strategies as st

import schedfuzz
from schedfuzz import Condition, Lock, checkpoint, choose, spawn

__all__ = ["Cond", "Op", "Probe", "Program", "build", "deep", "programs", "render"]

CONTAINERS = ("dq", "lst", "dct", "st", "linked")
SOURCES = ("gen", "it", "rep")
CELLS = ("attr", "cell", "global")
COMPARE = {"<": operator.lt, "==": operator.eq, "!=": operator.ne, ">=": operator.ge}


@attrs.frozen
class Cond:
    """``lhs op k``: a test of shared state (or of the actor's register ``r``)."""

    lhs: str
    op: str
    k: int

    def __str__(self) -> str:
        return f"{self.lhs} {self.op} {self.k}"


@attrs.frozen
class Op:
    """One operation: ``kind`` names it, ``arg`` and ``cond`` parametrise it, ``body`` holds
    the ops of a block (``lock``, ``repeat``, ``if``, ``while``, ``drain``, ``walk``,
    ``each``)."""

    kind: str
    arg: Any = None
    cond: Cond | None = None
    body: tuple[Op, ...] = ()


@attrs.frozen
class Program:
    """The initial shared data and the actors' ops."""

    dq: tuple[int, ...]
    lst: tuple[int, ...]
    linked: tuple[int, ...]
    gen_len: int
    actors: tuple[tuple[Op, ...], ...]

    @property
    def things(self) -> frozenset[str]:
        """The shared things the program uses (only those are built: each unused one would be
        state the fingerprint must see too)."""
        used = {name for name, data in (("dq", self.dq), ("lst", self.lst),
                                        ("linked", self.linked)) if data}
        if self.gen_len:
            used.add("gen")
        reads = {text: thing for thing, text in READS.items()}
        for op in _walk_ops(self.actors):
            if op.kind in ("push", "pop", "drain", "incr", "next", "each"):
                used.add(op.arg[0] if op.kind == "push" else op.arg)
            elif op.kind in ("poke", "walk"):
                used.add("linked")
            if op.cond is not None and op.cond.lhs in reads:
                used.add(reads[op.cond.lhs])
        return frozenset(used)

    @property
    def bounded(self) -> bool:
        """No ``while`` loop: every run ends (in at most ``step_bound()`` steps)."""
        return not any(op.kind == "while" for op in _walk_ops(self.actors))

    def step_bound(self) -> int:
        """An upper bound on the steps of any run, counting each ``while`` body once."""
        pushes = collections.Counter[str]()
        for ops in self.actors:
            _count_pushes(ops, 1, pushes)
        notifies = sum(op.kind == "notify" for op in _walk_ops(self.actors))
        start = {"dq": len(self.dq), "lst": len(self.lst), "linked": len(self.linked),
                 "dct": 0, "st": 0}
        sizes = {t: start[t] + pushes[t] for t in CONTAINERS}
        sources = {"gen": self.gen_len, "it": 3, "rep": 3}
        return sum(_steps(ops, sizes, sources, notifies) + 1 for ops in self.actors)

    def __repr__(self) -> str:
        return render(self)


def _walk_ops(blocks: Any) -> Iterator[Op]:
    for ops in blocks:
        for op in ops:
            yield op
            yield from _walk_ops([op.body])


def _count_pushes(ops: tuple[Op, ...], times: int, pushes: collections.Counter[str]) -> None:
    for op in ops:
        if op.kind == "push":
            pushes[op.arg[0]] += times
        _count_pushes(op.body, times * (op.arg if op.kind == "repeat" else 1), pushes)


def _steps(ops: tuple[Op, ...], sizes: dict[str, int], sources: dict[str, int],
           notifies: int) -> int:
    total = 0
    for op in ops:
        body = _steps(op.body, sizes, sources, notifies)
        total += {
            "incr": 2, "notify": 4, "wait": 4 + 4 * notifies, "lock": 2 + body,
            "repeat": op.arg * body if op.kind == "repeat" else 0, "if": body,
            "while": body + 1,
            "drain": (sizes[op.arg] + 1) * (body + 2) if op.kind == "drain" else 0,
            "walk": (sizes["linked"] + 1) * (body + 1),
            "each": (sources[op.arg] + 1) * (body + 1) if op.kind == "each" else 0,
        }.get(op.kind, 1)
    return total


# -- rendering ------------------------------------------------------------------------------------


def render(program: Program) -> str:
    """The program as pseudo-Python, one actor after the other."""
    lines = [f"Program(dq={list(program.dq)}, lst={list(program.lst)}, "
             f"linked={list(program.linked)}, gen=range({program.gen_len}))"]
    for i, ops in enumerate(program.actors):
        lines.append(f"  actor {i}:")
        lines.extend(_render_ops(ops, "    "))
    return "\n".join(lines)


def _render_ops(ops: tuple[Op, ...], indent: str) -> list[str]:
    out = []
    for op in ops:
        out.append(indent + _render_op(op))
        out.extend(_render_ops(op.body, indent + "    "))
    return out


def _render_op(op: Op) -> str:
    kind, arg, cond = op.kind, op.arg, op.cond
    return {
        "push": lambda: f"push({arg[0]}, {arg[1]})",
        "pop": lambda: f"r = pop({arg})",
        "incr": lambda: {"attr": "box.n += 1", "cell": "cnt += 1", "global": "G += 1"}[arg]
        + "  # read, checkpoint, write",
        "next": lambda: f"r = next({arg}, -1)",
        "choose": lambda: f"r = choose({list(range(arg))})",
        "poke": lambda: f"tail = {arg}",
        "assert": lambda: f"assert {cond}",
        "notify": lambda: "with cond: cond.notify" + ("_all()" if arg else "()"),
        "wait": lambda: "with cond: cond.wait()" if cond is None
        else f"with cond: while not ({cond}): cond.wait()",
        "lock": lambda: f"with lock{arg}:",
        "repeat": lambda: f"for _ in range({arg}):",
        "if": lambda: f"if {cond}:",
        "while": lambda: f"while {cond}:  # checkpoint(yield_=True) each round",
        "drain": lambda: f"while {arg}: r = pop({arg})",
        "walk": lambda: "for node in linked: r = node.val",
        "each": lambda: f"for r in {arg}:",
    }[kind]()


# -- the strategy ---------------------------------------------------------------------------------


THINGS = (*CONTAINERS, *SOURCES, *CELLS)
# What a condition can read of each shared thing (``r``, the actor's register, is always there).
READS = {"dq": "len(dq)", "lst": "len(lst)", "dct": "len(dct)", "st": "len(st)",
         "linked": "tail", "attr": "box.n", "cell": "cnt", "global": "G"}


@attrs.frozen
class _Ops:
    """Strategies for the ops of one program, over its *palette*: the few shared things its
    actors use, drawn first, so that their ops meet on the same data."""

    palette: tuple[str, ...]
    loops: bool

    def _some(self, among: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(t for t in among if t in self.palette)

    def conds(self) -> st.SearchStrategy[Cond]:
        lhs = ("r", *(READS[t] for t in self.palette if t in READS))
        return st.builds(Cond, st.sampled_from(lhs), st.sampled_from(tuple(COMPARE)),
                         st.integers(0, 3))

    def simple(self, scan: bool) -> st.SearchStrategy[Op]:
        """Ops without a body. ``scan``: inside a drain, walk or each loop, where a push could
        make the loop endless (pushes stay outside them, so those loops are bounded)."""
        containers, sources, cells = (self._some(CONTAINERS), self._some(SOURCES),
                                      self._some(CELLS))
        ops = [
            st.builds(Op, st.just("choose"), st.integers(2, 3)),
            st.builds(Op, st.just("assert"), cond=self.conds()),
            st.builds(Op, st.just("notify"), st.booleans()),
            st.builds(Op, st.just("wait"), cond=st.none() | self.conds()),
        ]
        if containers:
            ops.append(st.builds(Op, st.just("pop"), st.sampled_from(containers)))
            if not scan:
                ops.append(st.builds(Op, st.just("push"), st.tuples(
                    st.sampled_from(containers), st.integers(0, 3))))
        if cells:
            ops.append(st.builds(Op, st.just("incr"), st.sampled_from(cells)))
        if sources:
            ops.append(st.builds(Op, st.just("next"), st.sampled_from(sources)))
        if "linked" in self.palette:
            ops.append(st.builds(Op, st.just("poke"), st.integers(0, 3)))
        return st.one_of(ops)

    def ops(self, depth: int = 0, scan: bool = False) -> st.SearchStrategy[tuple[Op, ...]]:
        return st.lists(self.op(depth, scan), min_size=1, max_size=3 - depth).map(tuple)

    def op(self, depth: int, scan: bool) -> st.SearchStrategy[Op]:
        simple = self.simple(scan)
        if depth >= 2:
            return simple
        inner = st.deferred(lambda: self.ops(depth + 1, scan))
        scanning = st.deferred(lambda: self.ops(depth + 1, True))
        blocks = [
            st.builds(Op, st.just("lock"), st.integers(0, 1), body=inner),
            st.builds(Op, st.just("repeat"), st.integers(1, 3), body=inner),
            st.builds(Op, st.just("if"), cond=self.conds(), body=inner),
        ]
        if self._some(CONTAINERS):
            blocks.append(st.builds(Op, st.just("drain"), st.sampled_from(
                self._some(CONTAINERS)), body=scanning))
        if self._some(SOURCES):
            blocks.append(st.builds(Op, st.just("each"), st.sampled_from(
                self._some(SOURCES)), body=scanning))
        if "linked" in self.palette:
            blocks.append(st.builds(Op, st.just("walk"), body=scanning))
        if self.loops:
            blocks.append(st.builds(Op, st.just("while"), cond=self.conds(), body=inner))
        return st.one_of(simple, st.one_of(*blocks))  # half plain ops, half blocks


@st.composite
def programs(draw: st.DrawFn, *, loops: bool | None = None, max_steps: int = 60) -> Program:
    """Programs of 2-3 actors over 1-3 shared things; ``loops`` False: no ``while`` (every run
    ends), None: either. At most ``max_steps`` steps by ``Program.step_bound``."""
    if loops is None:
        loops = draw(st.booleans())
    palette = tuple(draw(st.lists(st.sampled_from(THINGS), min_size=1, max_size=3,
                                  unique=True)))
    strategy = _Ops(palette, loops)
    small = st.lists(st.integers(0, 3), max_size=4).map(tuple)
    program = Program(
        dq=draw(small) if "dq" in palette else (),
        lst=draw(small) if "lst" in palette else (),
        linked=draw(st.lists(st.integers(0, 3), max_size=15).map(tuple))
        if "linked" in palette else (),
        gen_len=draw(st.integers(0, 3)) if "gen" in palette else 0,
        actors=tuple(draw(st.lists(strategy.ops(), min_size=2, max_size=3))),
    )
    assume(program.step_bound() <= max_steps)
    return program


# -- running a program ----------------------------------------------------------------------------

G = 0  # the module global that ``incr("global")`` bumps


def _get_global() -> int:
    return G


def _set_global(value: int) -> None:
    global G
    G = value


class Box:
    """An object whose attribute ``n`` actors increment."""

    def __init__(self) -> None:
        self.n = 0


class Node:
    """A linked-list node."""

    def __init__(self, val: int, next_: Node | None) -> None:
        self.val = val
        self.next = next_


def _numbers(k: int) -> Iterator[int]:
    i = 0
    while i < k:
        yield i
        i += 1


class World:
    """What the actors share (built afresh by every run)."""

    def __init__(self, program: Program, get_cnt: Callable[[], int],
                 set_cnt: Callable[[int], None]) -> None:
        things = program.things
        if "dq" in things:
            self.dq = collections.deque(program.dq)
        if "lst" in things:
            self.lst = list(program.lst)
        if "dct" in things:
            self.dct: dict[int, int] = {}
        if "st" in things:
            self.st: set[int] = set()
        if "attr" in things:
            self.box = Box()
        if "linked" in things:
            self.head: Node | None = None
            for val in reversed(program.linked):
                self.head = Node(val, self.head)
        if "gen" in things:
            self.gen = _numbers(program.gen_len)
        if "it" in things:
            self.it = iter([1, 2, 3])
        if "rep" in things:
            self.rep = itertools.repeat(1, 3)
        if "cell" in things:
            self.get_cnt = get_cnt
            self.set_cnt = set_cnt
        self.locks = (Lock("lock0"), Lock("lock1"))
        self.cond = Condition(Lock("cond.lock"), "cond")

    def value(self, lhs: str, regs: dict[str, Any]) -> int:
        if lhs.startswith("len("):
            return len(getattr(self, lhs[4:-1]))
        if lhs == "tail":
            node = self.head
            while node is not None and node.next is not None:
                node = node.next
            return -1 if node is None else node.val
        if lhs == "box.n":
            return self.box.n
        if lhs == "cnt":
            return self.get_cnt()
        return _get_global() if lhs == "G" else int(regs["r"])

    def holds(self, cond: Cond, regs: dict[str, Any]) -> bool:
        return bool(COMPARE[cond.op](self.value(cond.lhs, regs), cond.k))

    def push(self, target: str, k: int) -> None:
        if target == "dq":
            self.dq.append(k)
        elif target == "lst":
            self.lst.append(k)
        elif target == "dct":
            self.dct[k] = self.dct.get(k, 0) + 1
        elif target == "st":
            self.st.add(k)
        else:
            self.head = Node(k, self.head)

    def pop(self, target: str) -> int:
        """Take one element (-1 if there is none)."""
        if target == "linked":
            if self.head is None:
                return -1
            node, self.head = self.head, self.head.next
            return node.val
        box = getattr(self, target)
        if not box:
            return -1
        if target == "dq":
            return int(self.dq.popleft())
        if target == "lst":
            return int(self.lst.pop())
        if target == "dct":
            return int(self.dct.popitem()[0])
        smallest = min(self.st)
        self.st.remove(smallest)
        return smallest

    def nonempty(self, target: str) -> bool:
        return (self.head is not None) if target == "linked" else bool(getattr(self, target))


def _run_ops(ops: tuple[Op, ...], w: World, regs: dict[str, Any], path: str) -> None:
    for index, op in enumerate(ops):
        _run_op(op, w, regs, f"{path}{index}")


def _run_op(op: Op, w: World, regs: dict[str, Any], at: str) -> None:
    kind = op.kind
    regs["at"] = at
    if kind == "push":
        checkpoint("push", at=at)
        w.push(*op.arg)
    elif kind == "pop":
        checkpoint("pop", at=at)
        regs["r"] = w.pop(op.arg)
    elif kind == "incr":
        _incr(op.arg, w, regs, at)
    elif kind == "next":
        checkpoint("next", at=at)
        regs["r"] = next(getattr(w, op.arg), -1)
    elif kind == "choose":
        regs["r"] = choose(op.arg, "choose")
    elif kind == "poke":
        checkpoint("poke", at=at)
        node = w.head
        while node is not None and node.next is not None:
            node = node.next
        if node is not None:
            node.val = op.arg
    elif kind == "assert":
        checkpoint("assert", at=at)
        assert w.holds(op.cond, regs), f"assert {op.cond} at {at}"
    elif kind == "notify":
        with w.cond:
            if op.arg:
                w.cond.notify_all()
            else:
                w.cond.notify()
    elif kind == "wait":
        with w.cond:
            if op.cond is None:
                w.cond.wait()
            else:
                while not w.holds(op.cond, regs):
                    w.cond.wait()
    else:
        _run_block(op, w, regs, at)


def _incr(where: str, w: World, regs: dict[str, Any], at: str) -> None:
    checkpoint("read", at=at)
    if where == "attr":
        regs["v"] = w.box.n
    elif where == "cell":
        regs["v"] = w.get_cnt()
    else:
        regs["v"] = _get_global()
    checkpoint("write", at=at)
    value, regs["v"] = regs["v"] + 1, None
    if where == "attr":
        w.box.n = value
    elif where == "cell":
        w.set_cnt(value)
    else:
        _set_global(value)


def _run_block(op: Op, w: World, regs: dict[str, Any], at: str) -> None:
    kind, body, inner = op.kind, op.body, f"{at}."
    if kind == "lock":
        with w.locks[op.arg]:
            _run_ops(body, w, regs, inner)
    elif kind == "repeat":
        i = 0  # a counter in a local only (no iterator on the stack), like ``while n < k``
        while i < op.arg:
            regs[at] = i  # the mirror keeps it too
            _run_ops(body, w, regs, inner)
            i += 1
        del regs[at]
    elif kind == "if":
        if w.holds(op.cond, regs):  # type: ignore[arg-type]
            _run_ops(body, w, regs, inner)
    elif kind == "while":
        while w.holds(op.cond, regs):  # type: ignore[arg-type]
            _run_ops(body, w, regs, inner)
            regs["at"] = at
            checkpoint("spin", yield_=True, at=at)
    elif kind == "drain":
        while w.nonempty(op.arg):
            regs["at"] = at
            checkpoint("drain", at=at)
            regs["r"] = w.pop(op.arg)
            _run_ops(body, w, regs, inner)
    elif kind == "walk":
        node = regs["node"] = w.head
        while node is not None:
            regs["at"] = at
            checkpoint("walk", at=at)
            regs["r"] = node.val
            _run_ops(body, w, regs, inner)
            node = regs["node"] = node.next
        del regs["node"]
    else:  # each
        for value in getattr(w, op.arg):
            regs["at"] = at
            checkpoint("each", at=at)
            regs["r"] = value
            _run_ops(body, w, regs, inner)
    regs["at"] = at + "/"


def _actor(ops: tuple[Op, ...], w: World, regs: dict[str, Any]) -> None:
    _run_ops(ops, w, regs, "")
    regs["at"] = "done"


class Probe:
    """What a scenario built with ``probe`` exposes to the test, outside the actors' reach:
    the world and every actor's registers, and a deep snapshot after every step."""

    def __init__(self) -> None:
        self.world: World | None = None
        self.regs: list[dict[str, Any]] = []
        self.snapshots: list[Any] = []

    def state(self) -> Any:
        w = self.world
        assert w is not None
        memo: dict[int, int] = {}
        shared = [getattr(w, name, None) for name in
                  ("dq", "lst", "dct", "st", "box", "head", "gen", "it", "rep")]
        locks = [lock.locked() for lock in (*w.locks, w.cond.lock)]
        cnt = w.get_cnt() if hasattr(w, "get_cnt") else None
        return (deep(shared, memo), locks, cnt, _get_global(), deep(self.regs, memo))


def build(program: Program, probe: Probe | None = None) -> Callable[[], None]:
    """The scenario function that runs ``program``; with ``probe``, it records the deep state
    before the first step and after every step in ``probe.snapshots``."""

    def scenario() -> None:
        cnt = 0

        def get_cnt() -> int:
            return cnt

        def set_cnt(value: int) -> None:
            nonlocal cnt
            cnt = value

        _set_global(0)
        w = World(program, get_cnt, set_cnt)
        regs = [{"r": 0, "v": None, "at": "start"} for _ in program.actors]
        for i, ops in enumerate(program.actors):
            spawn(_actor, ops, w, regs[i], name=f"a{i}")
        if probe is not None:
            probe.world, probe.regs = w, regs
            probe.snapshots = [probe.state()]
            schedfuzz.invariant(lambda: probe.snapshots.append(probe.state()))

    scenario.__qualname__ = scenario.__name__ = "generated_program"
    return scenario


# -- comparing states without the fingerprint ----------------------------------------------------


def deep(value: Any, memo: dict[int, int]) -> Any:
    """A structural image of ``value`` for ``==``: containers by content, iterators by what is
    left in them, generators by their frame's offset and locals, objects by their attributes;
    shared and cyclic objects are numbered in the order first met. Written independently of
    the scheduler's fingerprint, which it checks."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    key = id(value)
    if key in memo:
        return ("@", memo[key])
    memo[key] = len(memo)
    if isinstance(value, (list, tuple, collections.deque)):
        return (type(value).__name__, [deep(v, memo) for v in value])
    if isinstance(value, dict):
        return ("dict", [(deep(k, memo), deep(v, memo)) for k, v in value.items()])
    if isinstance(value, set):
        return ("set", sorted(value))
    if isinstance(value, types.GeneratorType):
        frame = value.gi_frame
        if frame is None:
            return ("generator", "finished")
        return ("generator", frame.f_lasti, deep(dict(frame.f_locals), memo))
    if isinstance(value, (Box, Node)):
        return (type(value).__name__, deep(vars(value), memo))
    # list iterators, itertools.repeat: how many values are left
    return (type(value).__name__, operator.length_hint(value))
