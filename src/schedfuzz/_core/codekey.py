"""Code identity: the key that names a code object the same way in every process.

A frame, a function or a generator is part of a state through its code; two code objects are
the same code when they are defined at the same place and do the same (``code_key``).
"""

from __future__ import annotations

import hashlib
import types

__all__ = ["code_key", "key_of"]

# id(code) -> (code, its key): the code object is kept so that a reused id is noticed.
CODE_KEYS: dict[int, tuple[types.CodeType, str]] = {}


def code_key(code: types.CodeType) -> str:
    """Where ``code`` is defined (file, line, qualified name) and a digest of what it does
    (bytecode, names, constants): the same in every process, and shared only by code objects
    that behave alike, such as two identical lambdas on one line of one module (their frames
    with equal locals do the same). One string, because a string caches its hash and a
    fingerprint is hashed at every state."""
    entry = CODE_KEYS.get(id(code))
    if entry is not None and entry[0] is code:
        return entry[1]
    shape = hashlib.blake2b(code.co_code, digest_size=6)
    for names in (code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars):
        shape.update(repr(names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            text = code_key(const)
        elif isinstance(const, frozenset):  # iterated in string-hash order: sort it
            text = repr(sorted(map(repr, const)))
        else:
            text = repr(const)
        shape.update(text.encode() + b"\0")
    qualname = getattr(code, "co_qualname", code.co_name)
    key = f"{code.co_filename}:{code.co_firstlineno}:{qualname}:{shape.hexdigest()}"
    CODE_KEYS[id(code)] = (code, key)
    return key


def key_of(code: types.CodeType) -> str:
    entry = CODE_KEYS.get(id(code))  # code_key(code), inlined: this runs for every frame
    return entry[1] if entry is not None and entry[0] is code else code_key(code)
