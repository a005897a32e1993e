"""Atomic integers and bit flags: every operation is exactly one scheduling step.

Use them for the shared words of a lock-free protocol. A non-atomic read-modify-write is written
as two operations (``load`` then ``store``), which gives the scheduler a point between them: that
is how a lost ``PG_waiters`` bit or a lost update is reproduced.
"""

from __future__ import annotations

from collections.abc import Iterable

from schedfuzz._core.traps import checkpoint

__all__ = ["AtomicFlags", "AtomicInt"]


class AtomicInt:
    """An integer whose every operation is one step (``atomic_t``)."""

    def __init__(self, value: int = 0, name: str = "atomic") -> None:
        self.name = name
        self.value = value

    def load(self) -> int:
        checkpoint("load", var=self.name)
        return self.value

    def store(self, value: int) -> None:
        checkpoint("store", var=self.name, value=value)
        self.value = value

    def add(self, delta: int = 1) -> int:
        """Add ``delta``; return the new value (``atomic_add_return``)."""
        checkpoint("add", var=self.name, delta=delta)
        self.value += delta
        return self.value

    def sub(self, delta: int = 1) -> int:
        checkpoint("sub", var=self.name, delta=delta)
        self.value -= delta
        return self.value

    def dec_and_test(self) -> bool:
        """Decrement; True if the result is zero (``atomic_dec_and_test``)."""
        checkpoint("dec_and_test", var=self.name)
        self.value -= 1
        return self.value == 0

    def add_unless(self, delta: int, unless: int) -> bool:
        """Add ``delta`` unless the value is ``unless``; True if it added."""
        checkpoint("add_unless", var=self.name, delta=delta, unless=unless)
        if self.value == unless:
            return False
        self.value += delta
        return True

    def cmpxchg(self, expected: int, new: int) -> int:
        """Store ``new`` if the value is ``expected``; return the old value."""
        checkpoint("cmpxchg", var=self.name, expected=expected, new=new)
        old = self.value
        if old == expected:
            self.value = new
        return old

    def compare_and_swap(self, expected: int, new: int) -> bool:
        return self.cmpxchg(expected, new) == expected

    def __schedfuzz_state__(self) -> object:
        return self.value

    def __repr__(self) -> str:
        return f"<AtomicInt {self.name}={self.value}>"


class AtomicFlags:
    """A word of named bits (``unsigned long flags``) with atomic bit operations."""

    def __init__(self, bits: Iterable[str] = (), name: str = "flags") -> None:
        self.name = name
        self.bits: frozenset[str] = frozenset(bits)

    def test_bit(self, bit: str) -> bool:
        checkpoint("test_bit", var=self.name, bit=bit)
        return bit in self.bits

    def set_bit(self, bit: str) -> None:
        checkpoint("set_bit", var=self.name, bit=bit)
        self.bits = self.bits | {bit}

    def clear_bit(self, bit: str) -> None:
        checkpoint("clear_bit", var=self.name, bit=bit)
        self.bits = self.bits - {bit}

    def test_and_set_bit(self, bit: str) -> bool:
        """Set ``bit``; return whether it was already set."""
        checkpoint("test_and_set_bit", var=self.name, bit=bit)
        old = bit in self.bits
        self.bits = self.bits | {bit}
        return old

    def test_and_clear_bit(self, bit: str) -> bool:
        checkpoint("test_and_clear_bit", var=self.name, bit=bit)
        old = bit in self.bits
        self.bits = self.bits - {bit}
        return old

    def load(self) -> frozenset[str]:
        """Read the whole word (the first half of a non-atomic read-modify-write)."""
        checkpoint("load", var=self.name)
        return self.bits

    def store(self, bits: Iterable[str]) -> None:
        """Write the whole word (the second half); bits set meanwhile by others are lost."""
        new = frozenset(bits)
        checkpoint("store", var=self.name, bits=",".join(sorted(new)) or "-")
        self.bits = new

    def __schedfuzz_state__(self) -> object:
        return self.bits

    def __repr__(self) -> str:
        return f"<AtomicFlags {self.name}={sorted(self.bits)}>"
