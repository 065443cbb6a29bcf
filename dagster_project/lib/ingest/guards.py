"""What a load refuses to do, whatever the files say: read a file that is still being written, or
remove a large share of a table's rows (most often a mistyped folder or a half-copied export,
not a real deletion)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project.lib.ingest.errors import InputFileError
from dagster_project.lib.ingest.load_log import FileStamp, LoadedTable
from dagster_project.lib.names import RAW_SCHEMA

DEFAULT_MAX_REMOVED_SHARE = 0.5


@dataclass(frozen=True)
class LoadLimits:
    settle_seconds: int = 60
    """A file modified more recently than this may still be being written."""
    max_removed_share: float = DEFAULT_MAX_REMOVED_SHARE
    """A load that would leave a table with fewer than (1 - this) of its rows stops."""
    memory_limit: str = "3GB"
    """DuckDB's memory limit for reading a user's files."""


class RowRemovalError(ValueError):
    """A load would remove more of a raw table than SEG_MAX_REMOVED_SHARE allows."""


def settled(stamp: FileStamp, now: datetime, settle_seconds: int) -> bool:
    """Not modified within the last `settle_seconds` (0: every file is taken as complete)."""
    return settle_seconds <= 0 or now.timestamp() - stamp.modified_ns / 1e9 >= settle_seconds


def check_unchanged(stamps: Mapping[Path, FileStamp]) -> None:
    """Raises when a file was rewritten (or removed) while it was being loaded."""
    for path, stamp in stamps.items():
        if not path.exists() or FileStamp.of(path) != stamp:
            raise InputFileError(
                path,
                "the file changed while it was being loaded: it is still being written. Run "
                "again once it is complete (or write it aside and rename it in).",
            )


def rows_before(conn: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> dict[str, int]:
    present = {
        name
        for (name,) in conn.execute(
            "select table_name from duckdb_tables() where schema_name = ?", [RAW_SCHEMA]
        ).fetchall()
    }
    return {
        table: conn.execute(f"select count(*) from {RAW_SCHEMA}.{table}").fetchall()[0][0]
        for table in tables
        if table in present
    }


def check_removed_share(
    before: Mapping[str, int], loaded: Sequence[LoadedTable], max_share: float
) -> None:
    """Raises RowRemovalError when a table would keep less than (1 - max_share) of its rows."""
    shrunk = [
        (table.table, before[table.table], table.rows)
        for table in loaded
        if before.get(table.table) and table.rows < before[table.table] * (1 - max_share)
    ]
    if not shrunk:
        return
    described = "; ".join(
        f"{RAW_SCHEMA}.{name}: {old:,} -> {new:,} rows ({1 - new / old:.0%} removed)"
        for name, old, new in shrunk
    )
    raise RowRemovalError(
        f"This load would remove more than {max_share:.0%} of a raw table's rows, because files "
        f"disappeared or shrank: {described}. Nothing was changed. Check SEG_LANDING_DIR / "
        "SEG_SOURCE_CONFIG point at the right files; if the removal is intended, run once with "
        "SEG_MAX_REMOVED_SHARE=1 to confirm it."
    )
