"""The explored state graph of a stateful search, and the livelocks hidden in it.

Nodes are the distinct states seen at choice points (fingerprints: the scenario's snapshot, the
scheduler's policy state, every actor's position). An edge is one decision taken at a node and
the steps that follow it up to the next choice point, where only one actor could run. For each
edge we keep what a lasso check needs:

* ``ran``: the actors that took a step on it;
* ``through``: the actors enabled in every state along it (at its node the enabled set, at each
  later step only the one actor that could run);
* ``progress``: whether a ``progress()`` mark fired on it.

A livelock is a cycle that is *fair* (every actor enabled all along the cycle ran in it) and
free of progress. Such a cycle lives inside one strongly connected component of the graph of
progress-free edges, and a component holds one exactly when every actor enabled at all of its
states and edges takes a step on one of its edges: then a closed walk through every edge of the
component is a fair cycle (under this weak-fairness notion no deeper recursion is needed, unlike
strong fairness). So after exploring, Tarjan's algorithm plus one mask test per component proves
a finite state space livelock-free, or yields the reproducer: the decisions to the component's
first-reached state, then the closed walk as a repeating cycle (``Schedule.cycle_start``).
"""

from __future__ import annotations

from collections import deque

import attrs

__all__ = ["Edge", "StateGraph"]


@attrs.frozen(slots=True)
class Edge:
    """A decision at ``src`` and the forced steps after it, up to the state ``dst``."""

    src: int
    choice: int
    dst: int
    ran: int
    through: int
    progress: bool


class StateGraph:
    """Distinct states and the edges between them, stored compactly.

    A state is kept as the 64-bit hash of its fingerprint (hash compaction, as in SPIN): the
    fingerprints themselves (every frame's locals) would take kilobytes each. Two states with
    the same hash would be taken for one, with probability about ``states**2 / 2**65`` (under
    1e-6 for five million states); hashes only decide *whether* a state was seen, never an
    order, so the search stays deterministic. The way to a state is kept as its parent state
    and the answer taken there: the first path that reached it, which a replay follows.
    """

    def __init__(self) -> None:
        self.ids: dict[int, int] = {}
        self.parent: list[int] = []  # state where the answer leading here was given, or -1
        self.choice: list[int] = []  # that answer
        self.depth: list[int] = []  # decisions from the start to here
        self.enabled: list[int] = []  # bit mask of enabled actors here
        self.edges: list[Edge] = []

    def __len__(self) -> int:
        return len(self.parent)

    def find(self, fingerprint: object) -> int | None:
        return self.ids.get(hash(fingerprint))

    def add(self, fingerprint: object, parent: int, choice: int, depth: int,
            enabled: int) -> int:
        nid = len(self.parent)
        self.ids[hash(fingerprint)] = nid
        self.parent.append(parent)
        self.choice.append(choice)
        self.depth.append(depth)
        self.enabled.append(enabled)
        return nid

    def prefix(self, nid: int) -> tuple[int, ...]:
        """The decisions that lead from the start to state ``nid``."""
        out = []
        while nid >= 0 and self.parent[nid] >= 0:
            out.append(self.choice[nid])
            nid = self.parent[nid]
        out.reverse()
        return tuple(out)

    def components(self) -> list[list[int]]:
        """Strongly connected components of the progress-free edges (iterative Tarjan), each
        with at least one internal edge, in a deterministic order."""
        n = len(self)
        succ: list[list[int]] = [[] for _ in range(n)]
        for e in self.edges:
            if not e.progress:
                succ[e.src].append(e.dst)
        index = [-1] * n
        low = [0] * n
        on_stack = [False] * n
        stack: list[int] = []
        out: list[list[int]] = []
        counter = 0
        for root in range(n):
            if index[root] >= 0:
                continue
            work = [(root, 0)]
            while work:
                v, i = work.pop()
                if i == 0:
                    index[v] = low[v] = counter
                    counter += 1
                    stack.append(v)
                    on_stack[v] = True
                if i < len(succ[v]):
                    work.append((v, i + 1))
                    w = succ[v][i]
                    if index[w] < 0:
                        work.append((w, 0))
                    elif on_stack[w]:
                        low[v] = min(low[v], index[w])
                    continue
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack[w] = False
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1 or v in succ[v]:
                        out.append(sorted(comp))
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
        return out

    def fair_cycle(self) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """A livelock as ``(stem decisions, cycle decisions)``, or None if there is none."""
        for comp in self.components():
            members = set(comp)
            inner = [e for e in self.edges
                     if not e.progress and e.src in members and e.dst in members]
            always = -1
            ran = 0
            for nid in comp:
                always &= self.enabled[nid]
            for e in inner:
                always &= e.through
                ran |= e.ran
            if always & ~ran:
                continue  # someone enabled throughout never runs inside: no fair cycle here
            simple = self._simple_fair_cycle(comp, inner)
            if simple is not None:
                start, cycle = simple
            else:
                start = min(comp, key=lambda nid: (self.depth[nid], nid))
                cycle = self._tour(start, inner)
            return self.prefix(start), tuple(e.choice for e in cycle)
        return None

    def _fair(self, cycle: list[Edge]) -> bool:
        always = -1
        ran = 0
        for e in cycle:
            always &= self.enabled[e.src] & e.through
            ran |= e.ran
        return not always & ~ran

    def _simple_fair_cycle(self, comp: list[int], inner: list[Edge],
                           budget: int = 20_000) -> tuple[int, list[Edge]] | None:
        """The shortest fair cycle through each state at most once, searched for within a
        bounded number of path extensions. A run going round a simple cycle repeats each state
        once per round, so the run loop's lasso check (which looks at the stretch since a state's
        last visit) confirms it; a walk through every edge may visit states twice."""
        out_edges: dict[int, list[Edge]] = {}
        for e in inner:
            out_edges.setdefault(e.src, []).append(e)
        best: tuple[int, list[Edge]] | None = None
        for s in comp:  # each simple cycle is found from its smallest state only
            path: list[Edge] = []
            on_path = {s}
            work = [iter(out_edges.get(s, []))]
            while work and budget > 0:
                nxt = next(work[-1], None)
                if nxt is None:
                    work.pop()
                    if path:
                        on_path.discard(path.pop().dst)
                    continue
                e = nxt
                budget -= 1
                if e.dst == s:
                    cycle = [*path, e]
                    if self._fair(cycle) and (best is None or len(cycle) < len(best[1])):
                        best = (s, cycle)
                    continue
                if e.dst < s or e.dst in on_path:
                    continue
                if best is not None and len(path) + 2 >= len(best[1]):
                    continue  # cannot beat the cycle in hand
                path.append(e)
                on_path.add(e.dst)
                work.append(iter(out_edges.get(e.dst, [])))
        return best

    @staticmethod
    def _tour(start: int, inner: list[Edge]) -> list[Edge]:
        """A closed walk from ``start`` through every edge of ``inner``."""
        out_edges: dict[int, list[Edge]] = {}
        for e in inner:
            out_edges.setdefault(e.src, []).append(e)

        def path(a: int, b: int) -> list[Edge]:
            if a == b:
                return []
            back: dict[int, Edge] = {}
            todo = deque([a])
            while todo:
                v = todo.popleft()
                for e in out_edges.get(v, []):
                    if e.dst not in back and e.dst != a:
                        back[e.dst] = e
                        if e.dst == b:
                            todo.clear()
                            break
                        todo.append(e.dst)
            steps = []
            v = b
            while v != a:
                e = back[v]
                steps.append(e)
                v = e.src
            return steps[::-1]

        walk: list[Edge] = []
        here = start
        for e in inner:
            walk += path(here, e.src)
            walk.append(e)
            here = e.dst
        walk += path(here, start)
        return walk
