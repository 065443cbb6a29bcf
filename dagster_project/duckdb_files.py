"""DuckDB files in a storage format that DuckDB 1.5 and later read.

The pipeline runs on DuckDB 2.0, whose own storage format older readers cannot open: the duckdb
CLI locked with the project (PyPI's stops at 1.5), and the BI tools and notebooks of SQL users
still on 1.5. DuckDB keeps writing a file in the format it was created with, so every file the
pipeline creates (the warehouse, the published snapshot, the alerts) is created in 1.5's format.
Writes are as fast in it as in 2.0's.
"""

from pathlib import Path

import duckdb

from dagster_project.ingest.loader import sql_string

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
