"""A progress line for long local work: done/total, rate and ETA every few seconds.

The synchronous counterpart of `pipeline.progress.Reporter` (which sums the
files of Beam's workers from a thread), for work done in this process's own loop::

    progress = Progress("vidrec embed", total=3400, unit="videos")
    for video in videos:
        ...
        progress.advance()
    progress.close()     # the final line, always printed

prints ``vidrec embed: 120/3,400 videos (4%), 12.3 videos/s, ETA 4m 27s`` at
most every `every_s` seconds, and a last line at the end of work long enough to
have printed one, to stderr by default so that a command's results on stdout
stay clean.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO


def duration(seconds: float) -> str:
    """``42s``, ``3m 05s``, ``2h 07m``: a clock, for progress lines and logs."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def duration_in_units(seconds: float) -> str:
    """``61 s``, ``4.5 min``, ``2.1 h``: one unit with a decimal, for tables (report.md)."""
    s = float(seconds)
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def progress_line(name: str, done: int, total: int, frames: int, elapsed: float,
                  new_done: int) -> str:
    """``convert: 120/480 videos (25%), 3,100 frames/s, ETA 1m 22s``.

    `new_done` of the `done` were done in this run's `elapsed` seconds (the rest
    were finished before, e.g. by an interrupted run): the rate and ETA use them.
    """
    pct = 100.0 * done / total if total else 100.0
    line = f"{name}: {done:,}/{total:,} videos ({pct:.0f}%)"
    if elapsed > 0:
        line += f", {frames / elapsed:,.0f} frames/s"
    if new_done and done < total:
        line += f", ETA {duration((total - done) * elapsed / new_done)}"
    return line


EVERY_S = 5.0  # default seconds between two lines (tests set 0: a line per unit)


class Progress:
    """Prints done/total, rate and ETA at most every `every_s` seconds.

    Args:
      label: what is working, e.g. ``vidrec embed: test``.
      total: how many units there are (0 or less: unknown, no percentage or ETA).
      unit: the units' name, e.g. ``videos``.
      every_s: seconds between two lines (default `EVERY_S`).
      stream: where the lines go (default: sys.stderr at the time of printing).
      clock: seconds as a float (tests pass a fake clock).
    """

    def __init__(self, label: str, total: int, unit: str = "videos",
                 every_s: float | None = None, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic):
        every_s = EVERY_S if every_s is None else every_s
        if every_s < 0:
            raise ValueError(f"every_s must be >= 0, got {every_s}")
        self.label, self.total, self.unit, self.every_s = label, int(total), unit, every_s
        self._stream, self._clock = stream, clock
        self.start = self._last = clock()
        self.done = 0
        self.skipped = 0  # done before this run (e.g. by an interrupted one): not in the rate
        self.lines = 0
        self._printed = -1  # `done` when the last line was printed

    def line(self) -> str:
        """The current progress line (without printing it)."""
        elapsed = self._clock() - self.start
        rate = (self.done - self.skipped) / elapsed if elapsed > 0 else 0.0
        text = f"{self.label}: {self.done:,}"
        if self.total > 0:
            text += f"/{self.total:,} {self.unit} ({100.0 * self.done / self.total:.0f}%)"
        else:
            text += f" {self.unit}"
        text += f", {rate:.1f} {self.unit}/s"
        if self.total > 0 and self.done < self.total:
            eta = (self.total - self.done) / rate if rate > 0 else None
            text += f", ETA {duration(eta) if eta is not None else '?'}"
        else:
            text += f", {duration(elapsed)}"
        return text

    def advance(self, n: int = 1) -> None:
        """Counts `n` more units done; prints a line when `every_s` has passed."""
        self.done += n
        now = self._clock()
        if n > 0 and now - self._last >= self.every_s:
            self._last = now
            self._print()

    def skip(self, n: int) -> None:
        """Counts `n` units done before this run: in done/total, not in the rate."""
        self.done += n
        self.skipped += n

    def close(self) -> None:
        """Prints the final line (done, rate, elapsed), if the work printed any line."""
        if self.lines and self._printed != self.done:
            self._print()

    def _print(self) -> None:
        stream = self._stream or sys.stderr
        print(self.line(), file=stream, flush=True)
        self.lines += 1
        self._printed = self.done
