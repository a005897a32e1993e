"""The subtrees a ``dfs`` search has still to run, kept as two numbers each.

A subtree is "replay the decisions to a branching point, then answer ``alt`` there". Kept as
decision lists, the subtrees still pending cost a hundred bytes and more each, and a proof with a
few preemptions on a real protocol leaves some hundred million of them queued for its last level:
more memory than the states themselves. Every decision list shares its beginning with many others,
so they are kept as a tree instead, SPIN's way of storing paths:

* ``Ways``: one node per branching point the search has passed (in a stateful search, node ``i``
  is state ``i`` of the state graph). A node records its parent (the branching point before it on
  the way that first reached it), the answer taken at the parent, and how many decisions come
  before it. Between a parent's answer and the node every decision is 0: a run answers 0 at every
  choice point after the ones it replays, so the way to any node is rebuilt from the chain.
* ``Pending``: a stack of ``(node, alt)`` pairs in two array columns, ten bytes a subtree.

A node also records the step its choice point came at, how many actors were enabled there, and
a digest of the steps before it (who took each, and which operation). A run that replays the way
to a node must meet it the same way: the same decisions give the same run, unless the scenario
depends on something the scheduler does not decide, and then no search over its schedules is
sound (``DfsOracle`` says so).
"""

from __future__ import annotations

from array import array
from typing import Any

__all__ = ["ROOT", "Pending", "Ways"]

ROOT = -1  # the node of the first run's subtree: no decision to replay


class Ways:
    """The tree of branching points; ``prefix(node, alt)`` rebuilds a subtree's decisions."""

    def __init__(self) -> None:
        self.parent = array("q")
        self.answer = array("H")  # the answer at the parent that leads here
        self.depth = array("q")  # decisions before this node's own
        self.step = array("q")  # the step the node's choice point came at
        self.width = array("H")  # the actors enabled there
        self.steps = array("q")  # the digest of the steps before it (``StepDigest``)

    def __len__(self) -> int:
        return len(self.depth)

    def add(self, parent: int, answer: int, depth: int, step: int, width: int,
            steps: int) -> int:
        node = len(self.depth)
        self.parent.append(parent)
        self.answer.append(answer)
        self.depth.append(depth)
        self.step.append(step)
        self.width.append(width)
        self.steps.append(steps)
        return node

    def prefix(self, node: int, alt: int) -> bytes | tuple[int, ...]:
        """The decisions of the subtree ``(node, alt)``: the way to ``node``, then ``alt``."""
        if node == ROOT:
            return b""
        parent, answer, depth = self.parent, self.answer, self.depth
        out = [0] * (depth[node] + 1)
        out[-1] = alt
        v = node
        while (p := parent[v]) != ROOT:
            out[depth[p]] = answer[v]
            v = p
        try:
            return bytes(out)  # one byte per answer while they fit
        except ValueError:
            return tuple(out)

    def _columns(self) -> tuple[array[int], ...]:
        return self.parent, self.answer, self.depth, self.step, self.width, self.steps

    def nbytes(self) -> int:
        return sum(len(c) * c.itemsize for c in self._columns())

    def dump(self) -> tuple[bytes, ...]:
        return tuple(c.tobytes() for c in self._columns())

    @classmethod
    def load(cls, data: Any) -> Ways:
        ways = cls()
        columns = ways._columns()
        if len(data) != len(columns):
            msg = "the way tree has the wrong number of columns"
            raise ValueError(msg)
        for column, raw in zip(columns, data, strict=True):
            column.frombytes(raw)
        if len({len(c) for c in columns}) != 1:
            msg = "the way tree's columns differ in length"
            raise ValueError(msg)
        if not all(ROOT <= p < i for i, p in enumerate(ways.parent)):
            msg = "a branching point's parent does not come before it"
            raise ValueError(msg)
        return ways


class Pending:
    """A stack of subtrees ``(node, alt)``, in two columns."""

    def __init__(self) -> None:
        self.nodes = array("q")
        self.alts = array("H")

    def __len__(self) -> int:
        return len(self.nodes)

    def push(self, node: int, alt: int) -> None:
        self.nodes.append(node)
        self.alts.append(alt)

    def pop(self) -> tuple[int, int]:
        return self.nodes.pop(), self.alts.pop()

    def reversed(self) -> Pending:
        """The same subtrees, the first pushed now popped first."""
        out = Pending()
        out.nodes = self.nodes[::-1]
        out.alts = self.alts[::-1]
        return out

    def nbytes(self) -> int:
        return len(self.nodes) * (self.nodes.itemsize + self.alts.itemsize)

    def dump(self) -> tuple[bytes, bytes]:
        return self.nodes.tobytes(), self.alts.tobytes()

    @classmethod
    def load(cls, data: Any) -> Pending:
        pending = cls()
        nodes, alts = data
        pending.nodes.frombytes(nodes)
        pending.alts.frombytes(alts)
        if len(pending.nodes) != len(pending.alts):
            msg = "the pending subtrees' columns differ in length"
            raise ValueError(msg)
        return pending
