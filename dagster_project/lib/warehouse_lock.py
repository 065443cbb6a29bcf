"""One run at a time per warehouse: a lock file beside it, held for the whole run.

Dagster's pool serializes steps, not runs: two refreshes started together would interleave step
by step, and one could publish marts the other had rebuilt after the first run's gate. Every
run that uses the warehouse takes this lock when its resources start and releases it when they
end, so a second run waits (saying for which run) and then starts from what the first left. The
operating system releases the lock of a process that dies, so an interrupted run never holds it.
"""

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def lock_path(warehouse_path: Path) -> Path:
    return warehouse_path.with_name(warehouse_path.name + ".lock")


def acquire(warehouse_path: Path, holder: str, waiting: Callable[[str], None]) -> IO[str]:
    """Blocks until this process holds the warehouse's lock; `waiting` is told who holds it
    first. Returns the open lock file (pass it to `release`)."""
    path = lock_path(warehouse_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.open("a+")  # held open for the run, closed by release()
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        waiting(lock.read().strip() or "another run")
        fcntl.flock(lock, fcntl.LOCK_EX)
    lock.seek(0)
    lock.truncate()
    lock.write(f"{holder} (pid {os.getpid()})")
    lock.flush()
    return lock


def release(lock: IO[str]) -> None:
    lock.seek(0)
    lock.truncate()
    lock.flush()
    fcntl.flock(lock, fcntl.LOCK_UN)
    lock.close()


@contextmanager
def held(warehouse_path: Path, holder: str, waiting: Callable[[str], None]) -> Iterator[None]:
    """The lock, for work outside a run that opens the warehouse (the summary `make run` prints
    after its run, while another run may already have started)."""
    lock = acquire(warehouse_path, holder, waiting)
    try:
        yield
    finally:
        release(lock)
