"""The explored state graph of a stateful search, and the livelocks hidden in it.

Nodes are the distinct states seen at choice points (fingerprints: the scenario's snapshot, the
scheduler's policy state, every actor's position). An edge is one decision taken at a node and
the steps that follow it up to the next choice point, where only one actor could run. For each
edge we keep what a lasso check needs:

* ``ran``: the actors that took a step on it;
* ``through``: the actors enabled in every state along it (at its node the enabled set, at each
  later step only the one actor that could run);
* ``progress``: whether a ``progress()`` mark fired on it;
* ``cost``: what its decision costs (1 for a preemption, 0 for the default policy's choice or a
  free switch), so the cheapest way to each state and the cheapest livelock can be found.

A livelock is a cycle that is *fair* (every actor enabled all along the cycle ran in it) and
free of progress. Such a cycle lives inside one strongly connected component of the graph of
progress-free edges, and a component holds one exactly when every actor enabled at all of its
states and edges takes a step on one of its edges: then a closed walk through every edge of the
component is a fair cycle (under this weak-fairness notion no deeper recursion is needed, unlike
strong fairness). So after exploring, Tarjan's algorithm plus one mask test per component proves
a finite state space livelock-free, or yields the reproducer: the decisions to one of the
component's states, then the closed walk as a repeating cycle (``Schedule.cycle_start``).

Of all the fair cycles, ``cheapest_lasso`` returns the one with the fewest preemptions: the
cheapest way to the cycle (a 0-1 breadth-first search over the edge costs) plus one turn round
it. Its cost is the number a replay counts, and it is the true minimum once the search has
explored every state and edge that costs at most that much (``dfs`` checks this).
"""

from __future__ import annotations

import hashlib
import marshal
from array import array
from collections import deque
from typing import Any

import attrs

from schedfuzz.search.statetable import Edge, EdgeTable, KeyTable, TagSet

__all__ = ["Edge", "Lasso", "StateGraph"]

UNREACHED = 1 << 30


def _stable_hash(fingerprint: Any) -> int:
    try:
        data = marshal.dumps(fingerprint, 2)
    except ValueError:  # a value marshal does not know (a user's snapshot): its repr is stable
        data = repr(fingerprint).encode()
    # SHA-256 rather than BLAKE2b: where the CPU has SHA instructions it is twice as fast on a
    # fingerprint's ten kilobytes (18 us against 43 measured here), and any 64 bits of it will do.
    digest = hashlib.sha256(data).digest()
    return int.from_bytes(digest[:8], "little", signed=True)


@attrs.frozen(slots=True)
class Lasso:
    """A livelock in the graph: the decisions of the stem, then of one turn of the cycle."""

    stem: tuple[int, ...]
    cycle: tuple[int, ...]
    cost: int  # preemptions of the stem plus one turn of the cycle


class StateGraph:
    """Distinct states and the edges between them, stored compactly.

    A state is kept as the 64-bit hash of its fingerprint (hash compaction, as in SPIN): the
    fingerprints themselves (every frame's locals) would take kilobytes each. Two states with
    the same hash would be taken for one, with probability about ``states**2 / 2**65`` (under
    1e-6 for five million states); hashes only decide *whether* a state was seen, never an
    order, so the search stays deterministic. The way to a state is not stored: the edges hold
    every way, and ``cheapest_lasso`` takes the cheapest.

    ``stable=True`` hashes the fingerprint's ``marshal`` encoding (version 2: values only, no
    shared references) with SHA-256 instead of ``hash()``, whose string hashes differ by
    process: on c17 with every actor (10 KB of marshal) some 65 us against 10 for ``hash()``,
    but the hashes of a saved search (``dfs_checkpoint``) still name the same states when
    another process resumes it.
    """

    def __init__(self, stable: bool = False) -> None:
        self.ids = KeyTable()
        # Hashes of the kept states' outlines (``outline_of``): a state whose outline is not
        # here is not kept, which a lookup can tell without the whole fingerprint.
        self.outlines = TagSet()
        self.depth = array("q")  # decisions from the start to here, on the first way found
        self.enabled: list[int] = []  # bit mask of enabled actors here (may pass 64 bits)
        self.edges = EdgeTable()
        self.key = _stable_hash if stable else hash

    def __len__(self) -> int:
        return len(self.depth)

    def nbytes(self) -> int:
        """Bytes the tables hold (columns and list slots; not the ints a list slot may point
        to past 256, which small masks never need)."""
        ids, edges = self.ids, self.edges
        columns = (ids.keys, ids.values, self.outlines.tags, self.depth,
                   edges.src, edges.choice, edges.dst, edges.flags, edges.forced)
        slots = len(self.enabled) + len(edges.ran) + len(edges.through)
        return sum(len(c) * c.itemsize for c in columns) + 8 * slots

    def find(self, key: int) -> int | None:
        """The state whose fingerprint has this ``key`` (``self.key(fingerprint)``), if seen."""
        return self.ids.get(key)

    def may_hold(self, outline: int) -> bool:
        """Whether some kept state has the outline with this key (if not, none is this one)."""
        return outline in self.outlines

    def add(self, key: int | None, depth: int, enabled: int, outline: int) -> int:
        """Keep a new state; with ``key`` None (its fingerprint holds a value that cannot be
        compared) it is never found again, so no run is pruned at it and no cycle passes it:
        its only incoming edge is the one recorded when it is added."""
        nid = len(self.depth)
        if key is not None:
            self.ids[key] = nid
        self.outlines.add(outline)
        self.depth.append(depth)
        self.enabled.append(enabled)
        return nid

    def components(self) -> list[list[int]]:
        """Strongly connected components of the progress-free edges (iterative Tarjan), each
        with at least one internal edge, in a deterministic order. The successors are kept in
        two arrays (offsets and targets) and the marks in arrays too, so the peak it adds is
        some 40 bytes a state, not the 200 of lists of int objects."""
        n = len(self)
        first, targets = self._successors()
        index = array("q", [-1]) * n
        low = array("q", bytes(8 * n))
        on_stack = bytearray(n)
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
                    on_stack[v] = 1
                k = first[v] + i
                if k < first[v + 1]:
                    work.append((v, i + 1))
                    w = targets[k]
                    if index[w] < 0:
                        work.append((w, 0))
                    elif on_stack[w]:
                        low[v] = min(low[v], index[w])
                    continue
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack[w] = 0
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1 or v in targets[first[v]:first[v + 1]]:
                        out.append(sorted(comp))
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
        return out

    def _successors(self) -> tuple[array[int], array[int]]:
        """The progress-free edges by source, in edge order: the successors of ``v`` are
        ``targets[first[v]:first[v + 1]]``."""
        n = len(self)
        first = array("q", bytes(8 * (n + 1)))
        for src, _ in self.edges.progress_free():
            first[src + 1] += 1
        for v in range(n):
            first[v + 1] += first[v]
        fill = array("q", first)
        targets = array("q", bytes(8 * first[n]))
        for src, dst in self.edges.progress_free():
            targets[fill[src]] = dst
            fill[src] += 1
        return first, targets

    def fair_cycle(self) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """A livelock as ``(stem decisions, cycle decisions)``, or None if there is none."""
        lasso = self.cheapest_lasso()
        return None if lasso is None else (lasso.stem, lasso.cycle)

    def cheapest_lasso(self, budget: int = 50_000) -> Lasso | None:
        """The fair, progress-free cycle with the fewest preemptions (stem plus one turn), or
        None if the graph has no livelock.

        Simple cycles are searched first, cheapest (then shortest) first, within ``budget`` path
        extensions: a run going round a simple cycle repeats each state once per round, so the
        run loop's lasso check confirms it. A component whose fair cycles all pass some state
        twice gets a closed walk through every edge instead.
        """
        components = self.components()
        if not components:
            return None
        dist, via = self._distances()
        best: tuple[int, int, int, list[Edge]] | None = None  # (cost, length, entry, edges)
        left = [budget]
        for comp in components:
            inner = self.edges.within(set(comp))
            always = -1
            ran = 0
            for nid in comp:
                always &= self.enabled[nid]
            for e in inner:
                always &= e.through
                ran |= e.ran
            if always & ~ran:
                continue  # someone enabled throughout never runs inside: no fair cycle here
            found = self._cheapest_simple_cycle(comp, inner, dist, left, best)
            if found is None and best is None:
                start = min(comp, key=lambda nid: (dist[nid], self.depth[nid], nid))
                tour = self._tour(start, inner)
                found = (dist[start] + sum(e.cost for e in tour), len(tour), start, tour)
            if found is not None and (best is None or found[:2] < best[:2]):
                best = found
        if best is None:
            return None
        cost, _, entry, cycle = best
        return Lasso(self._path(entry, via), tuple(d for e in cycle for d in e.decisions()), cost)

    def _distances(self) -> tuple[list[int], list[int]]:
        """The fewest preemptions to each state from the first, and the last edge (its index,
        -1 for none) of such a way (0-1 breadth-first search: a free edge goes to the front of
        the queue). Works on the edge columns: the graph may hold millions."""
        edges = self.edges
        srcs, dsts, flags = edges.src, edges.dst, edges.flags
        out: list[list[int]] = [[] for _ in range(len(self))]
        for i, src in enumerate(srcs):
            out[src].append(i)
        dist = [UNREACHED] * len(self)
        via = [-1] * len(self)
        if not dist:
            return dist, via
        dist[0] = 0
        todo = deque([0])
        while todo:
            v = todo.popleft()
            for i in out[v]:
                cost = flags[i] >> 1
                d = dist[v] + cost
                dst = dsts[i]
                if d < dist[dst]:
                    dist[dst] = d
                    via[dst] = i
                    if cost:
                        todo.append(dst)
                    else:
                        todo.appendleft(dst)
        return dist, via

    def _path(self, nid: int, via: list[int]) -> tuple[int, ...]:
        """The decisions of the cheapest way from the first state to ``nid``."""
        edges = self.edges
        out: list[int] = []
        i = via[nid]
        while i >= 0:
            out += [0] * edges.forced[i]  # reversed below: after the choice
            out.append(edges.choice[i])
            i = via[edges.src[i]]
        out.reverse()
        return tuple(out)

    def _fair(self, cycle: list[Edge]) -> bool:
        always = -1
        ran = 0
        for e in cycle:
            always &= self.enabled[e.src] & e.through
            ran |= e.ran
        return not always & ~ran

    def _cheapest_simple_cycle(
            self, comp: list[int], inner: list[Edge], dist: list[int], left: list[int],
            bound: tuple[int, int, int, list[Edge]] | None,
    ) -> tuple[int, int, int, list[Edge]] | None:
        """The fair simple cycle of ``comp`` with the cheapest lasso, as ``(cost, length, entry
        state, edges from the entry)``, searched within ``left[0]`` path extensions and only
        if cheaper than ``bound``. Each simple cycle is found from its smallest state only."""
        out_edges: dict[int, list[Edge]] = {}
        for e in inner:
            out_edges.setdefault(e.src, []).append(e)
        floor = min(dist[nid] for nid in comp)  # no way into this component is cheaper
        best = bound
        found = None
        for s in comp:
            path: list[Edge] = []
            spent = 0
            on_path = {s}
            work = [iter(out_edges.get(s, []))]
            while work and left[0] > 0:
                step = next(work[-1], None)
                if step is None:
                    work.pop()
                    if path:
                        last = path.pop()
                        spent -= last.cost
                        on_path.discard(last.dst)
                    continue
                left[0] -= 1
                e = step
                if best is not None and (spent + e.cost + floor, len(path) + 1) >= best[:2]:
                    continue  # cannot beat the cycle in hand
                if e.dst == s:
                    cycle = [*path, e]
                    if self._fair(cycle):
                        entry = min(range(len(cycle)), key=lambda i: (dist[cycle[i].src], i))
                        key = (spent + e.cost + dist[cycle[entry].src], len(cycle))
                        if best is None or key < best[:2]:
                            best = found = (*key, cycle[entry].src,
                                            cycle[entry:] + cycle[:entry])
                    continue
                if e.dst < s or e.dst in on_path:
                    continue
                path.append(e)
                spent += e.cost
                on_path.add(e.dst)
                work.append(iter(out_edges.get(e.dst, [])))
        return found

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
