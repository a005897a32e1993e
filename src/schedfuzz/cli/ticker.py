"""The progress ticker: elapsed time on a terminal while ``explore`` searches."""

from __future__ import annotations

import threading
import time
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Ticker", "progress"]


def progress() -> str:
    """What the search has done so far, from the counts engines keep in ``explore.PROGRESS``
    ("schedules 1,204", or for dfs "level 2, runs 1,903, states 50,004"); "" before any."""
    from schedfuzz.budget import PROGRESS  # loaded by the search being watched

    return ", ".join(f"{k} {v:,}" for k, v in list(PROGRESS.items()))


class Ticker:
    """Elapsed time on a terminal's stderr while a long exploration runs, erased at the end.

    A thread prints the clock and what the search has done so far (``explore.PROGRESS``: the
    schedules run, and for ``dfs`` the level and states); it only reads those counts and writes
    to the stream, never touches the run. On a stream that is not a terminal (a pipe, a CI log)
    it does nothing at all, so the output of ``--json`` and of scripts stays clean.

    Args:
        stream: where to write, usually ``sys.stderr``.
        label: what is running, shown before the clock.
        seconds: the time limit, shown after the clock (``None``: no limit).
        delay: how long to stay quiet first, so a quick search prints nothing.
        period: how often to redraw.
    """

    def __init__(self, stream: IO[str], label: str, seconds: float | None, *,
                 delay: float = 1.5, period: float = 0.5) -> None:
        self.stream, self.label, self.seconds = stream, label, seconds
        self.delay, self.period = delay, period
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.width = 0

    def __enter__(self) -> Ticker:
        isatty = getattr(self.stream, "isatty", None)
        if isatty is not None and isatty():
            self.thread = threading.Thread(target=self._tick, name="schedfuzz-ticker",
                                           daemon=True)
            self.thread.start()
        return self

    def _tick(self) -> None:
        started = time.monotonic()
        while not self.stop.wait(self.period):
            elapsed = time.monotonic() - started
            if elapsed < self.delay:
                continue
            limit = f" of {self.seconds:g}s" if self.seconds else ""
            done = progress()
            text = f"\r{self.label}: {elapsed:.0f}s{limit}" + (f", {done}" if done else "") + " ..."
            self.width = max(self.width, len(text))
            self.stream.write(text)
            self.stream.flush()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.thread is None:
            return
        self.stop.set()
        self.thread.join()
        if self.width:
            # Overwrite the last line with spaces, so what follows starts on a clean line.
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
