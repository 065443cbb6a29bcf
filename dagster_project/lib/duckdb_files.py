"""DuckDB files: connections to the warehouse, and files in a storage format DuckDB 1.5 reads.

The pipeline runs on DuckDB 2.0, whose own storage format older readers cannot open: the duckdb
CLI locked with the project (PyPI's stops at 1.5), and the BI tools and notebooks of SQL users
still on 1.5. DuckDB keeps writing a file in the format it was created with, so every file the
pipeline creates (the warehouse, the published snapshot, the alerts) is created in 1.5's format.
Writes are as fast in it as in 2.0's.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from dagster_project.lib.sql import sql_string

STORAGE_VERSION = "v1.5.0"


def attach_options() -> str:
    """ATTACH options that create a missing file in the readable format (and open it writable)."""
    return f"read_only false, storage_version '{STORAGE_VERSION}'"


def create_if_missing(path: Path) -> None:
    """Creates an empty DuckDB file at `path` in the readable format, unless one exists."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as conn:
        conn.execute(f"attach {sql_string(path)} as created ({attach_options()})")
        conn.execute("detach created")


@contextmanager
def connect(
    path: Path, memory_limit: str, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection to the warehouse file (created when missing), in UTC, within
    `memory_limit` (DuckDB's, e.g. "3GB"; beyond it DuckDB spills to disk)."""
    create_if_missing(path)
    conn = duckdb.connect(str(path), read_only=read_only)
    try:
        conn.execute("set TimeZone = 'UTC'")
        conn.execute("set memory_limit = ?", [memory_limit])
        yield conn
    finally:
        conn.close()
