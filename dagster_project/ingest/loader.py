"""Validate landing files against the raw contract and load them into the raw schema.

Every file of every selected source is checked before anything is written: it must be readable,
not empty, have every contract column, and every value must cast to the contract type. Then all
tables are replaced in one transaction, so a bad file leaves what was loaded before untouched.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.ingest.contract import RAW_SCHEMA, RawColumn, RawSource

LANDING_PATTERN = "*.parquet"
SAMPLE_ROWS = 5


class LandingFileError(ValueError):
    """A landing file breaks the raw contract. The message names the file, column and rows."""

    def __init__(
        self,
        path: Path,
        problem: str,
        column: str | None = None,
        sample: pd.DataFrame | None = None,
    ) -> None:
        self.path = path
        self.column = column
        self.sample = sample if sample is not None else pd.DataFrame()
        where = f"Landing file {path}" + (f', column "{column}"' if column else "")
        lines = [f"{where}: {problem}"]
        if not self.sample.empty:
            lines += ["Offending rows:", self.sample.to_string(index=False)]
        lines.append(
            "Fix the file and run again; nothing was loaded, the raw tables are unchanged."
        )
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class LoadedTable:
    table: str
    rows: int
    files: tuple[Path, ...]


def landing_files(landing_dir: Path, source: RawSource) -> list[Path]:
    return sorted((landing_dir / source.table).glob(LANDING_PATTERN))


def load_landing(
    conn: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    sources: Sequence[RawSource],
    loaded_at: datetime,
) -> list[LoadedTable]:
    """Replace the raw tables of `sources` with their landing files, all or nothing."""
    plans = [(source, _checked_files(conn, landing_dir, source)) for source in sources]
    conn.execute(f"create schema if not exists {RAW_SCHEMA}")
    conn.execute("begin transaction")
    try:
        loaded = [_replace_table(conn, source, files, loaded_at) for source, files in plans]
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return loaded


def _checked_files(
    conn: duckdb.DuckDBPyConnection, landing_dir: Path, source: RawSource
) -> list[Path]:
    files = landing_files(landing_dir, source)
    if not files:
        raise LandingFileError(
            landing_dir / source.table,
            f"no {LANDING_PATTERN} files for source '{source.table}'; expected at least one with "
            f"columns {', '.join(c.name for c in source.file_columns)}.",
        )
    for path in files:
        _check_file(conn, path, source.file_columns)
    return files


def _check_file(conn: duckdb.DuckDBPyConnection, path: Path, columns: Sequence[RawColumn]) -> None:
    try:
        described = conn.execute(f"describe select * from {_read(path)}").fetchall()
        row_count = conn.execute(f"select count(*) from {_read(path)}").fetchone()[0]
    except duckdb.Error as error:
        raise LandingFileError(path, f"cannot be read as Parquet ({error}).") from error
    if row_count == 0:
        raise LandingFileError(path, "the file has no rows.")

    file_types = {name: data_type for name, data_type, *_ in described}
    missing = [c.name for c in columns if c.name not in file_types]
    if missing:
        first_rows = conn.execute(f"select * from {_read(path)} limit 3").df()
        raise LandingFileError(
            path,
            f"required column(s) missing: {', '.join(missing)}. The file has: "
            f"{', '.join(file_types)}.",
            column=missing[0],
            sample=first_rows,
        )

    to_cast = [c for c in columns if file_types[c.name].lower() != c.data_type.lower()]
    if not to_cast:
        return
    counts = conn.execute(
        "select "
        + ", ".join(f"count(*) filter (where {_uncastable(c)})" for c in to_cast)
        + f" from {_read(path)}"
    ).fetchone()
    for column, bad_rows in zip(to_cast, counts, strict=True):
        if bad_rows:
            sample = conn.execute(
                f'select file_row_number + 1 as row_number, "{column.name}" as value '
                f"from {_read(path, with_row_numbers=True)} where {_uncastable(column)} "
                f"order by file_row_number limit {SAMPLE_ROWS}"
            ).df()
            raise LandingFileError(
                path,
                f"{bad_rows:,} of {row_count:,} rows cannot be read as {column.data_type} "
                f"(the file stores {file_types[column.name]}).",
                column=column.name,
                sample=sample,
            )


def _replace_table(
    conn: duckdb.DuckDBPyConnection, source: RawSource, files: list[Path], loaded_at: datetime
) -> LoadedTable:
    casts = ", ".join(
        f'cast("{c.name}" as {c.data_type}) as "{c.name}"' for c in source.file_columns
    )
    file_list = "[" + ", ".join(sql_string(path) for path in files) + "]"
    conn.execute(
        f"create or replace table {RAW_SCHEMA}.{source.table} as "
        f"select {casts}, filename as _source_file, "
        "cast(? as timestamp with time zone) as _loaded_at "
        f"from read_parquet({file_list}, union_by_name = true, filename = true)",
        [loaded_at],
    )
    rows = conn.execute(f"select count(*) from {RAW_SCHEMA}.{source.table}").fetchone()[0]
    return LoadedTable(source.table, rows, tuple(files))


def _uncastable(column: RawColumn) -> str:
    return (
        f'"{column.name}" is not null and try_cast("{column.name}" as {column.data_type}) is null'
    )


def _read(path: Path, with_row_numbers: bool = False) -> str:
    return f"read_parquet({sql_string(path)}, file_row_number = {str(with_row_numbers).lower()})"


def sql_string(text: str | Path) -> str:
    """`text` as a SQL string literal (paths and user-given formats may contain quotes)."""
    return "'" + str(text).replace("'", "''") + "'"
