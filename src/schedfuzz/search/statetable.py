"""Compact tables for a state graph of millions of states: fixed-width arrays, not objects.

A stateful proof keeps every state it has seen and every edge between them. As Python objects
(a dict entry with two int objects per state, an ``Edge`` instance per edge) that is some 260
bytes a state; in ``array`` columns it is about 80. The search is Python-speed anyway (a few
hundred microseconds a state), so a lookup written in Python costs nothing that shows.

* ``KeyTable``: 64-bit state hashes to state numbers, open addressing with linear probing in
  two arrays, kept at most half full.
* ``TagSet``: a set of 64-bit keys that may answer "yes" for a key it never held (about once
  in four billion), in one array of 32-bit tags: for questions where a false "yes" only costs
  time.
* ``EdgeTable``: one array per ``Edge`` field; reading an edge builds the ``Edge``.

Both turn into bytes and back for a checkpoint (``dfs_checkpoint``).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any

import attrs

__all__ = ["Edge", "EdgeTable", "KeyTable", "TagSet"]


@attrs.frozen(slots=True)
class Edge:
    """A decision at ``src`` and the forced steps after it, up to the state ``dst``.

    ``forced`` counts the choice points on the way that were not kept as states because the
    bound left them one answer (0): the edge's decisions are ``choice`` and that many zeros.
    """

    src: int
    choice: int
    dst: int
    ran: int
    through: int
    progress: bool
    cost: int = 0
    forced: int = 0

    def decisions(self) -> tuple[int, ...]:
        return (self.choice, *(0,) * self.forced)

_EMPTY = -1  # no state number is negative


class KeyTable:
    """``key -> state number``, for signed 64-bit keys (``hash()``, or 64 bits of SHA-256)."""

    def __init__(self, capacity: int = 1024) -> None:
        self._empty(capacity)

    def _empty(self, capacity: int) -> None:
        self.keys = array("q", bytes(8 * capacity))
        self.values = array("q", [_EMPTY]) * capacity
        self.mask = capacity - 1
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def get(self, key: int) -> int | None:
        keys, values, mask = self.keys, self.values, self.mask
        i = key & mask
        while True:
            value = values[i]
            if value == _EMPTY:
                return None
            if keys[i] == key:
                return value
            i = (i + 1) & mask

    def __setitem__(self, key: int, value: int) -> None:
        if 2 * (self.size + 1) > len(self.values):
            self._grow()
        keys, values, mask = self.keys, self.values, self.mask
        i = key & mask
        while values[i] != _EMPTY:
            if keys[i] == key:
                values[i] = value
                return
            i = (i + 1) & mask
        keys[i] = key
        values[i] = value
        self.size += 1

    def _grow(self) -> None:
        old = zip(self.keys, self.values)  # the old columns, still held by the zip
        self._empty(2 * len(self.values))
        for key, value in old:
            if value != _EMPTY:
                self[key] = value

    def dump(self) -> tuple[bytes, bytes, int]:
        return self.keys.tobytes(), self.values.tobytes(), self.size

    @classmethod
    def load(cls, data: Any) -> KeyTable:
        keys, values, size = data
        table = cls(1)
        table.keys = array("q")
        table.keys.frombytes(keys)
        table.values = array("q")
        table.values.frombytes(values)
        capacity = len(table.values)
        if capacity & (capacity - 1) or len(table.keys) != capacity or not 0 <= size <= capacity:
            msg = "the state table's columns do not fit together"
            raise ValueError(msg)
        table.mask = capacity - 1
        table.size = size
        return table


class TagSet:
    """Which 64-bit keys were added, answered from the key's low 32 bits (its tag).

    The tag picks the slot (linear probing, at most half full), so the table can double
    without the keys: 4 bytes a slot, where ``KeyTable`` takes 16. Two keys with the same
    tag are one to it: with n keys held, a key never added is taken for one about n / 2**32
    of the time (0.2% at ten million).
    """

    def __init__(self, capacity: int = 1024) -> None:
        self.tags = array("I", bytes(4 * capacity))  # 0: an empty slot
        self.mask = capacity - 1
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def __contains__(self, key: int) -> bool:
        tags, mask = self.tags, self.mask
        tag = key & 0xFFFFFFFF or 1
        i = tag & mask
        while True:
            t = tags[i]
            if t == tag:
                return True
            if not t:
                return False
            i = (i + 1) & mask

    def add(self, key: int) -> None:
        if 2 * (self.size + 1) > len(self.tags):
            old = self.tags
            self.tags = array("I", bytes(8 * len(old)))
            self.mask = 2 * len(old) - 1
            self.size = 0
            for tag in old:
                if tag:
                    self._put(tag)
        self._put(key & 0xFFFFFFFF or 1)

    def _put(self, tag: int) -> None:
        tags, mask = self.tags, self.mask
        i = tag & mask
        while tags[i]:
            if tags[i] == tag:
                return
            i = (i + 1) & mask
        tags[i] = tag
        self.size += 1

    def dump(self) -> tuple[bytes, int]:
        return self.tags.tobytes(), self.size

    @classmethod
    def load(cls, data: Any) -> TagSet:
        tags, size = data
        table = cls(1)
        table.tags = array("I")
        table.tags.frombytes(tags)
        capacity = len(table.tags)
        if capacity & (capacity - 1) or not 0 <= size <= capacity:
            msg = "the tag set's column does not fit its size"
            raise ValueError(msg)
        table.mask = capacity - 1
        table.size = size
        return table


class EdgeTable:
    """The edges of a state graph, one column per field; ``table[i]`` is an ``Edge``."""

    def __init__(self) -> None:
        self.src = array("q")
        self.choice = array("q")
        self.dst = array("q")
        self.flags = array("B")  # progress | cost << 1
        self.forced = array("I")  # at most ``dfs_oracle.KEEP_EVERY``
        # Actor masks may exceed 64 bits (many actors): lists, whose small ints are shared.
        self.ran: list[int] = []
        self.through: list[int] = []

    def __len__(self) -> int:
        return len(self.src)

    def append(self, edge: Edge) -> None:
        self.src.append(edge.src)
        self.choice.append(edge.choice)
        self.dst.append(edge.dst)
        self.flags.append(edge.progress | edge.cost << 1)
        self.forced.append(edge.forced)
        self.ran.append(edge.ran)
        self.through.append(edge.through)

    def __getitem__(self, i: int) -> Edge:
        flags = self.flags[i]
        return Edge(self.src[i], self.choice[i], self.dst[i], self.ran[i], self.through[i],
                    bool(flags & 1), flags >> 1, self.forced[i])

    def __iter__(self) -> Iterator[Edge]:
        for i in range(len(self.src)):
            yield self[i]

    def within(self, members: set[int]) -> list[Edge]:
        """The edges without a progress mark between two of ``members``."""
        return [self[i] for i, (src, dst, flags) in enumerate(zip(self.src, self.dst, self.flags))
                if not flags & 1 and src in members and dst in members]

    def progress_free(self) -> Iterator[tuple[int, int]]:
        """``(src, dst)`` of every edge without a progress mark, without building edges."""
        for src, dst, flags in zip(self.src, self.dst, self.flags):
            if not flags & 1:
                yield src, dst

    def dump(self) -> tuple[bytes, bytes, bytes, bytes, bytes, list[int], list[int]]:
        return (self.src.tobytes(), self.choice.tobytes(), self.dst.tobytes(),
                self.flags.tobytes(), self.forced.tobytes(), self.ran, self.through)

    @classmethod
    def load(cls, data: Any) -> EdgeTable:
        table = cls()
        src, choice, dst, flags, forced, table.ran, table.through = data
        table.src.frombytes(src)
        table.choice.frombytes(choice)
        table.dst.frombytes(dst)
        table.flags.frombytes(flags)
        table.forced.frombytes(forced)
        n = len(table.src)
        if not n == len(table.choice) == len(table.dst) == len(table.flags) == \
                len(table.forced) == len(table.ran) == len(table.through):
            msg = "the edge table's columns differ in length"
            raise ValueError(msg)
        return table
