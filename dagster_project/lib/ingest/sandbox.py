"""The DuckDB connection a user's mapped files are read on: in memory, able to reach only the
folders that hold those files, with its configuration locked.

Mapping expressions are checked against an allow-list before any file is read
(expressions.py); this is the second wall. On this connection `read_text('/proc/self/environ')`,
`read_csv('/etc/passwd')`, `COPY ... TO`, `ATTACH` and `SET` fail, and the warehouse is not
attached at all: rows leave it as an Arrow stream that the loader inserts on the warehouse
connection.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb


@contextmanager
def sandboxed_reader(
    folders: Sequence[Path], memory_limit: str
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory connection that can read files under `folders` and nothing else."""
    conn = duckdb.connect()
    try:
        conn.execute("set TimeZone = 'UTC'")
        conn.execute("set memory_limit = ?", [memory_limit])
        conn.execute(
            "set allowed_directories = ?", [sorted({f"{folder.resolve()}/" for folder in folders})]
        )
        conn.execute("set enable_external_access = false")
        conn.execute("set lock_configuration = true")
        yield conn
    finally:
        conn.close()
