"""A corpus folder: atomic writes under stable names, and walking the files it holds.

Files are written atomically by ``_core.atomic.write_atomic``: a temporary file in the same
folder, flushed and ``fsync``-ed to disk, then ``os.replace``-d over the target. They go under a
stable name ``<scenario>-<verdict>-<hash>.json``: saving the same reproducer twice writes one file.
The temporary file's name starts with a dot, which is why ``iter_files`` skips hidden files: a
write that is still going on, or that a crash cut short, is never mistaken for a corpus file.
Iterating a folder reports a bad file and goes on with the others.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from schedfuzz._core.atomic import write_atomic
from schedfuzz.corpus.format import Entry, dumps
from schedfuzz.corpus.reader import load
from schedfuzz.errors import CorpusError, SchedfuzzError

if TYPE_CHECKING:
    from schedfuzz.execute import Outcome

__all__ = ["entries", "iter_files", "save"]


def save(outcome: Outcome, directory: str | os.PathLike[str], *, name: str | None = None) -> Path:
    """Write ``outcome`` as a corpus file in ``directory`` (created if missing), atomically.

    The content goes to a temporary file in the same folder, is flushed to disk, then renamed over
    the target, so a reader never sees half a file and a crash leaves the old file intact.

    Args:
        outcome: the run to record (usually a shrunk failure).
        directory: the corpus folder.
        name: the file name; default ``<scenario>-<verdict>-<hash of the schedule>.json``.

    Returns:
        The path written.

    Raises:
        InvalidArgument: a parameter that neither JSON nor a Python literal can hold.
    """
    entry = Entry.from_outcome(outcome)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (name or entry.file_name())
    data = dumps(entry).encode("utf-8")
    write_atomic(target, lambda f: f.write(data))
    return target


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The corpus files named by ``paths``: files as given, folders searched for ``*.json``
    (sorted, hidden files such as unfinished temporary writes skipped)."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*.json")
                              if f.is_file() and not f.name.startswith("."))
        else:
            yield p


def entries(paths: Iterable[str | os.PathLike[str]], *, allow_import: Iterable[str] = ()
            ) -> Iterator[tuple[Path, Entry | CorpusError]]:
    """Load every file under ``paths``; a bad file yields its ``CorpusError`` and the rest go on.

    ``allow_import`` names the modules a file's ``ref`` may import (see ``corpus.trust``).
    """
    allow = tuple(allow_import)
    for p in iter_files(paths):
        try:
            yield p, load(p, allow_import=allow)
        except CorpusError as exc:
            yield p, exc
        except SchedfuzzError as exc:  # defensive: any other usage error still names the file
            yield p, CorpusError(f"{p}: {' '.join(str(exc).split())}")
