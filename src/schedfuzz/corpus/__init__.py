"""Corpus: saved reproducers, one small JSON file each, that replay exactly.

A failing schedule found once should fail the same way on every later run, on any machine, after
any Hypothesis upgrade. So a failure is saved as a file of our own that names the scenario, its
parameters, the oracle's decisions, the verdict and the trace; replaying it reruns exactly those
decisions and says whether the verdict, and the trace, still come out the same::

    from schedfuzz import corpus

    path = corpus.save(outcome, "corpus")             # atomic; one file per reproducer
    replayed = corpus.replay_entry(corpus.load(path))
    replayed.reproduced, replayed.exact               # same verdict; same trace too
    for path, result in corpus.replay_all(["corpus"]):
        ...                                           # a Replayed, or the CorpusError of a bad file

A file is data, never code: it may only name a scenario the user registered, and reading it never
imports a module the user did not allow (``trust``); a file too large, too deep or out of range
fails as one line before anything else is read (``bounded``).

The package is laid out by concept; everything public is re-exported here:

* ``format``: the versioned file layout (documented field by field, with its limits), ``Entry``
  and its text;
* ``bounded``: parsing a file's bytes within those limits;
* ``trust``: which scenarios a file may name, looked up without running code;
* ``reader``: ``load``, which checks every field and fails in one line naming file and field;
* ``store``: ``save`` (atomic, under a stable name) and walking the files of a folder;
* ``replay``: running an entry again and saying how the run differs from the recording.
"""

from __future__ import annotations

from schedfuzz.corpus.format import FORMAT, READS, TRACE_KEEP, VERSION, Entry, trace_digest
from schedfuzz.corpus.format import dumps as dumps
from schedfuzz.corpus.reader import load
from schedfuzz.corpus.replay import Replayed, replay_all, replay_entry, trace_diff
from schedfuzz.corpus.store import entries, iter_files, save

__all__ = [
    "FORMAT",
    "READS",
    "TRACE_KEEP",
    "VERSION",
    "Entry",
    "Replayed",
    "entries",
    "iter_files",
    "load",
    "replay_all",
    "replay_entry",
    "save",
    "trace_diff",
    "trace_digest",
]
