"""Parsing a corpus file's bytes into JSON values within the format's limits.

``json.loads`` alone trusts its input: 100,000 nested brackets raise ``RecursionError``, a
5,000-digit integer raises ``ValueError`` (or takes quadratic time on an older Python), ``NaN``
and ``Infinity`` pass as floats, and ``"\\ud800"`` becomes a string that cannot be printed. Here
each of those is a ``Refused`` naming where in the document it is, so the reader can report it
as ``<file>: field 'params.n': ...`` and go on with the next file.

Numbers are checked while they are parsed (``parse_int`` sees the digits before ``int`` does);
nesting is bounded before the parser runs (it recurses once per level); everything else is
checked in one walk over the parsed value, with an explicit stack.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import attrs

from schedfuzz.corpus.format import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_INT_DIGITS,
    MAX_ITEMS,
    MAX_NUMBER_TEXT,
)

__all__ = ["Refused", "parse"]


class Refused(Exception):
    """Part of a document is outside the limits; ``field`` says where (``None``: the whole)."""

    def __init__(self, field: str | None, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


@attrs.frozen
class _Bad:
    """Stands in for a number the parser met but must not build; the walk reports it."""

    problem: str


def _int(text: str) -> int | _Bad:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        return _Bad(f"an integer of {digits} digits; the limit is {MAX_INT_DIGITS}")
    return int(text)


def _float(text: str) -> float | _Bad:
    if len(text) > MAX_NUMBER_TEXT:
        return _Bad(f"a number written with {len(text)} characters; the limit is "
                    f"{MAX_NUMBER_TEXT}")
    value = float(text)
    if not math.isfinite(value):
        return _Bad(f"{text[:20]} is too large for a float")
    return value


def _constant(text: str) -> _Bad:
    return _Bad(f"{text} is not a JSON number")


def parse(data: bytes) -> Any:
    """The JSON value in ``data``, every part of it within the format's limits.

    Raises:
        Refused: too large, not UTF-8, not JSON, nested too deep, or a value out of bounds.
    """
    if len(data) > MAX_FILE_BYTES:
        raise Refused(None, f"{len(data):,} bytes or more; a corpus file holds at most "
                            f"{MAX_FILE_BYTES:,}")
    try:
        text = data.decode("utf-8-sig")  # a BOM some editors write is not content
    except UnicodeDecodeError as exc:
        raise Refused(None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    _check_nesting(text)
    try:
        # The integer hook costs a Python call per integer (50,000 decisions: 0.1 s), so it
        # runs only where some run of digits is long enough to need it.
        ints = _int if _LONG_DIGITS.search(text) else int
        value = json.loads(text, parse_int=ints, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise Refused(None, f"not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
                      ) from None
    except RecursionError:  # not expected after _check_nesting; kept as the last line of defence
        raise Refused(None, f"nested deeper than {MAX_DEPTH} levels") from None
    if isinstance(value, _Bad):
        raise Refused(None, value.problem)
    if isinstance(value, (list, dict)):
        _walk(value)
    return value


# The parser recurses once per level; past a few hundred levels it may exhaust the stack (or a
# raised recursion limit lets it crash the interpreter), so depth is bounded before it runs.
# ``_walk`` then applies the format's own, much lower limit, and can name the field.
_PARSE_DEPTH = 200
_LONG_DIGITS = re.compile(rf"[0-9]{{{MAX_INT_DIGITS + 1}}}")
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _check_nesting(text: str) -> None:
    if text.count("[") + text.count("{") <= _PARSE_DEPTH:
        return  # too few openers to nest that deep: the common case, at C speed
    depth = 0
    for match in _TOKEN.finditer(text):  # strings are skipped whole: brackets in them are text
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > _PARSE_DEPTH:
                raise Refused(None, f"nested deeper than {MAX_DEPTH} levels")
        elif token in ("]", "}"):
            depth -= 1


def _walk(root: Any) -> None:
    """Check depth, sizes, numbers and strings everywhere in ``root``; raise the first problem.

    Paths are built only for containers; a scalar is checked where its container is, so a list
    of 50,000 decisions costs one pass and no allocation per item.
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(root, ())]
    while stack:
        value, path = stack.pop()
        if len(path) >= MAX_DEPTH:
            raise Refused(*_where(path, f"nested deeper than {MAX_DEPTH} levels"))
        if len(value) > MAX_ITEMS:
            raise Refused(*_where(path, f"{len(value):,} items; the limit is {MAX_ITEMS:,}"))
        if isinstance(value, list) and _plain(value):
            continue
        items = value.items() if isinstance(value, dict) else enumerate(value)
        nested = []
        for key, item in items:
            if isinstance(key, str) and not key.isascii():
                _check_text(key, path)
            if isinstance(item, (list, dict)):
                nested.append((item, (*path, key)))
            elif isinstance(item, str) and not item.isascii():
                _check_text(item, (*path, key))
            elif isinstance(item, _Bad):
                raise Refused(*_where((*path, key), item.problem))
        stack.extend(reversed(nested))


_SCALARS = frozenset({int, float, bool, type(None)})


def _plain(items: list[Any]) -> bool:
    """Whether a list holds only numbers or only ASCII strings: nothing to check item by item
    (the decisions, widths and trace of every file), told apart at C speed."""
    kinds = set(map(type, items))
    return kinds <= _SCALARS or (kinds == {str} and all(map(str.isascii, items)))


def _check_text(text: str, path: tuple[str | int, ...]) -> None:
    # JSON escapes can spell lone surrogates, which no output stream can encode.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Refused(*_where(path, f"a string holding the lone surrogate "
                                    f"{text[exc.start]!r}")) from None


def _where(path: tuple[str | int, ...], problem: str) -> tuple[str | None, str]:
    """The field (the object keys down to the first list, joined with dots) and the problem,
    prefixed by where below that field it is: ``('decisions', 'item 3: ...')``."""
    keys: list[str] = []
    for part in path:
        if not isinstance(part, str):
            break
        keys.append(part)
    rest = path[len(keys):]
    if len(rest) == 1:
        problem = f"item {rest[0]}: {problem}"
    elif rest:
        below = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)
        problem = f"at {below}: {problem}"
    return (".".join(keys) or None), problem
