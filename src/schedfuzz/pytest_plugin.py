"""pytest plugin for schedfuzz, loaded through the ``pytest11`` entry point.

What it adds to every pytest run:

* **Corpus replay.** Each saved reproducer is a test item: every ``*.json`` file that says it is
  a schedfuzz corpus file, an object whose ``"format"`` is ``"schedfuzz-corpus"`` (read from the
  file's first few KiB, without parsing the rest). Other JSON is not ours and is left alone,
  wherever it sits: NLP data, a libFuzzer seed corpus, a folder named ``corpus`` of someone else's.
  The item replays the file and passes when it gives its expected verdict, so CI checks every
  reproducer even though Hypothesis's CI profile turns its database off. A file that says it is
  ours but cannot be used fails as one item with one line naming the file and the field; a replay
  that differs fails with the verdicts, the first differing step and a trace diff, and the
  replayed run's full report goes into a section titled ``schedfuzz``. A file's ``ref`` may
  import only the modules listed in the ini option ``schedfuzz_allow_import`` (modules already
  imported, such as collected test modules, need no listing); see ``schedfuzz.corpus.trust``.
* **Options** in one ``schedfuzz`` group: ``--schedfuzz-seed``, ``--schedfuzz-max-schedules`` and
  ``--schedfuzz-save DIR`` set ``SCHEDFUZZ_SEED``, ``SCHEDFUZZ_MAX_SCHEDULES`` and
  ``SCHEDFUZZ_SAVE_DIR`` for the fuzzing decorator (environment variables, so xdist workers and
  subprocesses see them too); ``--schedfuzz-strict`` also requires corpus traces to match line for
  line; ``--schedfuzz-no-corpus`` skips corpus files.
* The ``schedfuzz`` marker (corpus items carry it, so ``-m schedfuzz`` selects them).
* **One database key with HypoFuzz.** A ``@fuzz`` test is keyed in Hypothesis's example database
  by its node id, the key HypoFuzz (``hypothesis fuzz``) saves the failures it finds under, so
  the next plain pytest run replays them: shrunk further, with the trace, and saved by
  ``--schedfuzz-save``.

The module imports only pytest and the standard library; schedfuzz itself is imported inside the
hooks that need it, so a test run that never meets a corpus file pays nothing for it.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from schedfuzz.corpus import Replayed

__all__ = ["CorpusFile", "CorpusItem"]

# A corpus file is a JSON object whose "format" field says so; ``corpus.save`` writes that field
# first, and a hand-written file keeps it near the top. Kept here rather than imported from
# ``schedfuzz.corpus.format`` so that looking at a JSON file imports no schedfuzz code.
_OBJECT = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*\{")
_FORMAT_FIELD = re.compile(rb'"format"\s*:\s*"schedfuzz-corpus"')
_PEEK = 4096
_ENV = (
    ("schedfuzz_seed", "SCHEDFUZZ_SEED"),
    ("schedfuzz_max_schedules", "SCHEDFUZZ_MAX_SCHEDULES"),
    ("schedfuzz_save", "SCHEDFUZZ_SAVE_DIR"),
)
_saved_env = pytest.StashKey[dict[str, "str | None"]]()


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        msg = f"expected a non-negative integer, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("schedfuzz", "schedfuzz concurrency fuzzing")
    group.addoption("--schedfuzz-seed", type=_count, metavar="N",
                    help="seed of every schedfuzz search (sets SCHEDFUZZ_SEED)")
    group.addoption("--schedfuzz-max-schedules", type=_count, metavar="N",
                    help="schedules per schedfuzz search (sets SCHEDFUZZ_MAX_SCHEDULES)")
    group.addoption("--schedfuzz-save", metavar="DIR",
                    help="save the reproducer of every failure found into the corpus folder DIR "
                         "(sets SCHEDFUZZ_SAVE_DIR)")
    group.addoption("--schedfuzz-strict", action="store_true",
                    help="a corpus replay must also match its recorded trace line for line")
    group.addoption("--schedfuzz-no-corpus", action="store_true",
                    help="do not collect corpus files as tests")
    parser.addini("schedfuzz_allow_import", type="args", default=[],
                  help="modules a corpus file's ref may import to find its registered scenario "
                       "(a package allows its submodules)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "schedfuzz: a schedfuzz concurrency test or a corpus replay")
    saved: dict[str, str | None] = {}
    for option, var in _ENV:
        value = config.getoption(option)
        if value is None:
            continue
        saved[var] = os.environ.get(var)
        os.environ[var] = os.path.abspath(value) if option == "schedfuzz_save" else str(value)
    config.stash[_saved_env] = saved


def pytest_unconfigure(config: pytest.Config) -> None:
    for var, old in config.stash.get(_saved_env, {}).items():
        if old is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = old


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> CorpusFile | None:
    if file_path.suffix != ".json":
        return None
    config = parent.config
    if config.getoption("schedfuzz_no_corpus"):
        return None
    if _says_corpus_file(file_path):
        return CorpusFile.from_parent(parent, path=file_path)
    return None


def _says_corpus_file(path: Path) -> bool:
    """Whether the file begins as a JSON object with the corpus format field."""
    try:
        if not path.is_file():  # a FIFO named *.json would block collection
            return False
        with path.open("rb") as f:
            head = f.read(_PEEK)
    except OSError:
        return False
    return _OBJECT.match(head) is not None and _FORMAT_FIELD.search(head) is not None


def _shown(path: Path) -> Path:
    """The path as messages show it: relative to the working directory when under it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


class CorpusFile(pytest.File):
    """A corpus file: one replay item. Nothing is read here, so a bad file fails as its item
    instead of stopping collection."""

    def collect(self) -> Iterator[CorpusItem]:
        yield CorpusItem.from_parent(self, name="replay")


class ReplayMismatch(Exception):
    """The replay did not give the recorded verdict (or, when strict, the recorded trace)."""

    def __init__(self, replayed: Replayed) -> None:
        super().__init__(replayed.summary())
        self.replayed = replayed


class CorpusItem(pytest.Item):
    """Replays one corpus file and checks its expected verdict."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_marker("schedfuzz")
        self.replayed: Replayed | None = None

    def runtest(self) -> None:
        __tracebackhide__ = True
        from schedfuzz import corpus

        allow = self.config.getini("schedfuzz_allow_import")
        entry = corpus.load(_shown(self.path), allow_import=allow)
        self.replayed = corpus.replay_entry(entry)
        if not self.replayed.passed(strict=self.config.getoption("schedfuzz_strict")):
            raise ReplayMismatch(self.replayed)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        from schedfuzz.errors import CorpusError

        if isinstance(excinfo.value, CorpusError):
            return str(excinfo.value)
        if isinstance(excinfo.value, ReplayMismatch):
            return excinfo.value.replayed.report(explanation=False)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"schedfuzz corpus replay of {self.path.name}"


# Set by ``schedfuzz.fuzz`` on the inner test of every ``@fuzz`` test (not imported from there:
# this module imports no schedfuzz code until a hook needs it).
_FUZZ_TEST_MARK = "_schedfuzz_fuzz_test"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    # HypoFuzz keys every test by its node id, while Hypothesis's own plugin does so only for
    # parametrized tests; without this, a failure HypoFuzz found sits under a key no pytest run
    # reads. Set per call, as Hypothesis does, since one function can be collected twice.
    if not isinstance(item, pytest.Function):
        return
    inner: Any = getattr(getattr(item.obj, "hypothesis", None), "inner_test", None)
    if getattr(inner, _FUZZ_TEST_MARK, False):
        inner._hypothesis_internal_add_digest = item.nodeid.encode()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, CorpusItem) and report.failed and call.when == "call":
        replayed = item.replayed
        if replayed is not None and replayed.outcome is not None:
            from schedfuzz.execute import explain

            report.sections.append(("schedfuzz", explain(replayed.outcome)))
    return report
