"""Progress of long local work: done/total, rate and ETA, printed every few seconds.

Workers (threads or processes on this machine) keep running totals in small
JSON files in one local folder (`pipeline.transforms.ProgressFile`); a
`Reporter` thread in the main process sums them and prints a line to stderr.
Dataflow has its own UI (job graph, counters) and gets no progress folder.
"""

from __future__ import annotations

import glob
import json
import sys
import threading
import time
from typing import TextIO

from vidrec.core.progress import progress_line

EVERY_SECONDS = 5.0


class Reporter:
    """Prints `progress_line` every `every` seconds from the files in `folder` (a thread).

    Args:
      name: the command, first word of the line.
      folder: local folder of the workers' progress files.
      total: videos to do, including `done_before`.
      done_before: videos finished before this run started.
    """

    def __init__(self, name: str, folder: str, total: int, done_before: int = 0,
                 every: float | None = None, stream: TextIO | None = None):
        self._name, self._folder, self._total, self._before = name, folder, total, done_before
        self._every, self._stream = every or EVERY_SECONDS, stream
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._start = time.monotonic()

    def totals(self) -> tuple[int, int]:
        """(videos, frames) the workers have reported so far in this run."""
        videos = frames = 0
        for path in glob.glob(f"{self._folder}/*.json"):
            try:
                with open(path) as f:
                    counts = json.load(f)
            except (OSError, ValueError):
                continue  # replaced while being read: counted next time
            videos += counts["videos"]
            frames += counts["frames"]
        return videos, frames

    def line(self) -> str:
        videos, frames = self.totals()
        return progress_line(self._name, self._before + videos, self._total, frames,
                             time.monotonic() - self._start, videos)

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            print(self.line(), file=self._stream or sys.stderr, flush=True)

    def __enter__(self) -> Reporter:
        self._start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
