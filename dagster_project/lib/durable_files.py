"""Files that readers must see whole or not at all: written aside, flushed, renamed in."""

import os
from pathlib import Path


def fsync(path: Path) -> None:
    """Flushes a file, or a folder's entries, to disk: the rename must not reach the disk
    before the data it points at."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
