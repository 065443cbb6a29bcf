"""DuckDB files: connections to the warehouse, and files in a storage format DuckDB 1.5 reads.

The pipeline runs on DuckDB 2.0, whose own storage format older readers cannot open: the duckdb
CLI locked with the project (PyPI's stops at 1.5), and the BI tools and notebooks of SQL users
still on 1.5. DuckDB keeps writing a file in the format it was created with, so every file the
pipeline creates (the warehouse, the published snapshot, the alerts) is created in 1.5's format.
Writes are as fast in it as in 2.0's.

The warehouse and the alerts file hold raw personal data or run details: they (and the
warehouse's write-ahead log) are readable by their owner only.
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


OWNER_ONLY = 0o600


def create_if_missing(path: Path, owner_only: bool = False) -> None:
    """Creates an empty DuckDB file at `path` in the readable format, unless one exists;
    `owner_only` makes it (new or not) readable by its owner only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect() as conn:
            conn.execute(f"attach {sql_string(path)} as created ({attach_options()})")
            conn.execute("detach created")
    if owner_only:
        restrict_to_owner(path)


def restrict_to_owner(path: Path) -> None:
    """chmod 600 for `path` and its write-ahead log, when they are more open than that."""
    for file in (path, path.with_name(path.name + ".wal")):
        if file.exists() and file.stat().st_mode & 0o077:
            file.chmod(OWNER_ONLY)


@contextmanager
def connect(
    path: Path, memory_limit: str, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection to the warehouse file (created when missing), in UTC, within
    `memory_limit` (DuckDB's, e.g. "3GB"; beyond it DuckDB spills to disk)."""
    create_if_missing(path, owner_only=True)
    conn = duckdb.connect(str(path), read_only=read_only)
    try:
        conn.execute("set TimeZone = 'UTC'")
        conn.execute("set memory_limit = ?", [memory_limit])
        yield conn
    finally:
        if not read_only:
            restrict_to_owner(path)  # a write-ahead log the writes left behind
        conn.close()


def base_table_columns(conn: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """Every base table of the connection's database (views left out), as `"schema"."table"` ->
    {column: DuckDB type}: what the erasure and the scans walk, so that a table added later is
    covered without being listed."""
    rows = conn.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        "join duckdb_tables() using (database_name, schema_name, table_name) "
        "where database_name = current_database() order by all"
    ).fetchall()
    tables: dict[str, dict[str, str]] = {}
    for schema, table, column, data_type in rows:
        tables.setdefault(f'"{schema}"."{table}"', {})[column] = data_type
    return tables


def rewrite(path: Path) -> None:
    """Copies the database at `path` into a fresh file and swaps it in: deleted rows live on in
    a DuckDB file's free blocks until they are reused, and an erasure must leave no byte of them.
    The caller holds the warehouse lock (no other connection is open)."""
    staged = path.with_name(path.name + ".rewriting")
    for leftover in (staged, staged.with_name(staged.name + ".wal")):
        leftover.unlink(missing_ok=True)
    with duckdb.connect() as conn:
        conn.execute(f"attach {sql_string(path)} as original (read_only)")
        conn.execute(f"attach {sql_string(staged)} as rewritten ({attach_options()})")
        conn.execute("copy from database original to rewritten")
        conn.execute("detach original")
        conn.execute("checkpoint rewritten")
        conn.execute("detach rewritten")
    restrict_to_owner(staged)
    staged.replace(path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
