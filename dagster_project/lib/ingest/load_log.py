"""What the raw schema already holds, so that a load only appends what is new.

`raw._landing_files` lists each landing file loaded into a raw table with its size and
modification time: a file not in it is new and is appended; a file whose stamp changed, or that
is gone, has its rows deleted (and a changed one reloaded). Appending keeps dbt's incremental
staging models exact; deleting or replacing rows does not (an incremental model never sees a
deletion), so such a load leaves a row in `raw._pending_rebuilds` and the next dbt run does a full
refresh, after which the row is cleared.
"""

from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.lib.names import RAW_SCHEMA

LOAD_LOG = f"{RAW_SCHEMA}._landing_files"
PENDING_REBUILDS = f"{RAW_SCHEMA}._pending_rebuilds"


@dataclass(frozen=True)
class FileStamp:
    """A file's identity for change detection: rewritten files change size or time."""

    size: int
    modified_ns: int

    @classmethod
    def of(cls, path: Path) -> "FileStamp":
        stat = path.stat()
        return cls(stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class LoadedTable:
    """What a load did to one raw table: its rows and files, and what this load added."""

    table: str
    rows: int
    files: tuple[Path, ...]
    new_files: tuple[Path, ...] = ()
    rows_added: int = 0
    rebuild_reason: str = ""  # why rows were deleted or replaced, when they were
    waiting: tuple[Path, ...] = ()  # files still being written, left for a later load


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"create schema if not exists {RAW_SCHEMA}")
    conn.execute(
        f"""
        create table if not exists {LOAD_LOG} (
            source varchar not null, path varchar not null, size bigint not null,
            modified_ns bigint not null, loaded_at timestamp with time zone not null
        );
        create table if not exists {PENDING_REBUILDS} (
            source varchar not null, reason varchar not null,
            requested_at timestamp with time zone not null
        );
        """
    )


def _exists(conn: duckdb.DuckDBPyConnection, qualified_name: str) -> bool:
    schema, table = qualified_name.split(".")
    return bool(
        conn.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def logged_files(conn: duckdb.DuckDBPyConnection, source: str) -> dict[str, FileStamp]:
    """The files a raw table holds, by path; empty when nothing was logged (first load, or a
    warehouse from before the log: both reload the table whole)."""
    if not _exists(conn, LOAD_LOG):
        return {}
    rows = conn.execute(
        f"select path, size, modified_ns from {LOAD_LOG} where source = ?", [source]
    ).fetchall()
    return {path: FileStamp(size, modified_ns) for path, size, modified_ns in rows}


def record_files(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    stamps: dict[str, FileStamp],
    loaded: set[str],
    loaded_at: object,
) -> None:
    """Replaces the source's log with `stamps`; paths in `loaded` get this load's time."""
    previous = dict(
        conn.execute(
            f"select path, loaded_at from {LOAD_LOG} where source = ?", [source]
        ).fetchall()
    )
    conn.execute(f"delete from {LOAD_LOG} where source = ?", [source])
    if not stamps:
        return
    conn.executemany(
        f"insert into {LOAD_LOG} values (?, ?, ?, ?, ?)",
        [
            (
                source,
                path,
                stamp.size,
                stamp.modified_ns,
                loaded_at if path in loaded else previous[path],
            )
            for path, stamp in stamps.items()
        ],
    )


def request_rebuild(
    conn: duckdb.DuckDBPyConnection, source: str, reason: str, requested_at: object
) -> None:
    conn.execute(f"insert into {PENDING_REBUILDS} values (?, ?, ?)", [source, reason, requested_at])


def pending_rebuilds(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(source, reason) of every load since the last full refresh that deleted or replaced rows."""
    if not _exists(conn, PENDING_REBUILDS):
        return []
    return conn.execute(
        f"select source, reason from {PENDING_REBUILDS} order by requested_at, source"
    ).fetchall()


def clear_rebuilds(conn: duckdb.DuckDBPyConnection) -> None:
    if _exists(conn, PENDING_REBUILDS):
        conn.execute(f"delete from {PENDING_REBUILDS}")
