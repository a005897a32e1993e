"""The value stack of a suspended frame: the state its locals do not show.

A frame's locals are not all it holds. While ``for x in items:`` runs, the iterator sits on the
frame's value stack; inside ``with lock:`` the bound ``__exit__`` does; while
``a.load() + b.load()`` waits in its second load, the first value does. Two states that differ
only there look the same through ``f_locals``: a loop over ``[None] * 300`` would look like a
cycle after one turn (a false livelock), and a stateful search would prune a state it never
saw.

Python has no API for it, but CPython 3.11 to 3.13 keep the stack in the frame's
``_PyInterpreterFrame``, right after the local slots, and record its height (``stacktop``)
whenever the frame calls another Python function. Every actor frame but the innermost (a
schedfuzz trap, whose stack holds only the call in progress) is suspended in such a call, so its
stack can be read. ``stack_of`` reads it with ``ctypes`` after checking that the layout is the
one expected (the frame's code object found where it should be, the height within bounds);
anything else returns None and the caller falls back to the locals alone.
"""

from __future__ import annotations

import ctypes
import platform
import sys
import types
import warnings
from typing import Any

__all__ = ["NULL", "stack_of", "supported"]

NULL = ("NULL",)  # an empty stack slot (CPython pushes NULL before some calls)

# Offsets on 64-bit CPython: PyFrameObject.f_frame follows PyObject_HEAD and f_back; in the
# _PyInterpreterFrame, the code object (f_code in 3.11, first in 3.12 and 3.13), the stack
# height and the local slots.
_F_FRAME = 24
_CODE_AT = {(3, 11): 32, (3, 12): 0, (3, 13): 0}.get(sys.version_info[:2])
_STACKTOP = 64
_LOCALSPLUS = 72

if platform.python_implementation() != "CPython" or ctypes.sizeof(ctypes.c_void_p) != 8:
    _CODE_AT = None
supported = _CODE_AT is not None
if not supported:
    warnings.warn("schedfuzz cannot read frames' value stacks on this interpreter (CPython 3.11 "
                  "to 3.13 only): a for loop over equal items may be taken for a livelock, "
                  "and a stateful search may prune states it never saw", RuntimeWarning,
                  stacklevel=2)

_void_p = ctypes.c_void_p
_c_int = ctypes.c_int
_py_object = ctypes.py_object
_cast = ctypes.cast

_SLOTS: dict[int, tuple[types.CodeType, int]] = {}  # id(code) -> (code, local slots)
# (id(code), offset) -> code, where the stack is empty (the code object kept against id reuse)
_EMPTY_AT: dict[tuple[int, int], types.CodeType] = {}


def _local_slots(code: types.CodeType) -> int:
    """Slots before the stack: arguments and locals, cells that are not also locals, frees."""
    entry = _SLOTS.get(id(code))
    if entry is not None and entry[0] is code:
        return entry[1]
    names = set(code.co_varnames)
    n = (len(code.co_varnames) + sum(1 for c in code.co_cellvars if c not in names)
         + len(code.co_freevars))
    _SLOTS[id(code)] = (code, n)
    return n


def stack_of(frame: types.FrameType) -> tuple[Any, ...] | None:
    """The values on ``frame``'s stack, bottom first (``NULL`` for an empty slot), or None if
    they cannot be read safely (another interpreter, or the frame is the one running)."""
    if _CODE_AT is None:
        return None
    code = frame.f_code
    # The stack's height at an instruction is fixed by the compiler (the same every time the
    # instruction runs), so where it was empty once it always is: no memory to read.
    where = (id(code), frame.f_lasti)
    known = _EMPTY_AT.get(where)
    if known is not None and known is code:
        return ()
    iframe = _void_p.from_address(id(frame) + _F_FRAME).value
    if not iframe or _void_p.from_address(iframe + _CODE_AT).value != id(code):
        return None
    top = _c_int.from_address(iframe + _STACKTOP).value
    entry = _SLOTS.get(id(code))
    base = entry[1] if entry is not None and entry[0] is code else _local_slots(code)
    if top == base:
        _EMPTY_AT[where] = code
        return ()
    if not base < top <= base + code.co_stacksize:
        return None
    at = iframe + _LOCALSPLUS + 8 * base
    return tuple(_value(_void_p.from_address(at + 8 * i).value) for i in range(top - base))


def _value(pointer: int | None) -> Any:
    return NULL if not pointer else _cast(pointer, _py_object).value
