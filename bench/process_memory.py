"""Resident memory of this process and every process it started (dbt runs as a child), sampled
in a background thread, so that the peak of each stage can be read off afterwards."""

import os
import threading
import time
from types import TracebackType

import psutil


class ProcessTreeMemory:
    """Samples the summed RSS of this process and its descendants every `interval` seconds
    while in use as a context manager. Times are `time.time()`, as in Dagster's event log."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._root = psutil.Process(os.getpid())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> "ProcessTreeMemory":
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def peak_bytes(self, start: float = 0.0, end: float = float("inf")) -> int:
        """The highest RSS between `start` and `end`: the samples taken then, and the last one
        before `start` (what was resident when the window opened; a stage shorter than the
        interval may have no sample of its own). 0 before the first sample."""
        before = [rss for at, rss in self.samples if at < start][-1:]
        during = [rss for at, rss in self.samples if start <= at <= end]
        return max(before + during, default=0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._tree_rss()))
            self._stop.wait(self.interval)

    def _tree_rss(self) -> int:
        total = 0
        for process in [self._root, *self._root.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:  # exited between listing and reading
                continue
        return total
