"""The landing folder: validate its files against the raw contract and load them into schema raw.

Every file to load is checked before anything is written: it must be readable, not empty, have
every contract column, and every value must cast to the contract type. Then all tables are
updated in one transaction (new files appended, changed or removed ones replaced; see
load_log.py), so a bad file leaves what was loaded before untouched.

A file modified within the settle time may still be being written: a new one waits for a later
run, a rewritten one keeps its previous rows until then. A file that changes during the load, or
a load that would remove most of a table, stops it (guards.py).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.lib.ingest.contract import RawColumn, RawSource
from dagster_project.lib.ingest.direct_identifiers import check_customer_ids
from dagster_project.lib.ingest.errors import (
    SAMPLE_ROWS,
    InputFileError,
    shown_value,
    without_values,
)
from dagster_project.lib.ingest.guards import (
    LoadLimits,
    check_removed_share,
    check_unchanged,
    rows_before,
    settled,
)
from dagster_project.lib.ingest.load_log import (
    FileStamp,
    LoadedTable,
    ensure_tables,
    logged_files,
    record_files,
    request_rebuild,
)
from dagster_project.lib.names import RAW_SCHEMA
from dagster_project.lib.sql import sql_file

LANDING_PATTERN = "*.parquet"
# Dimensions that incremental models join to every past row: any load of them means a rebuild.
REBUILT_ON_ANY_LOAD = ("products",)


@dataclass(frozen=True)
class LoadPlan:
    """What a load does to one raw table: append new files, or delete and reload some."""

    source: RawSource
    files: list[Path]
    stamps: dict[str, FileStamp]
    to_load: list[Path]
    to_delete: list[str]
    replace_all: bool
    waiting: tuple[str, ...] = ()  # files still being written, left for a later run

    @property
    def rebuild_reason(self) -> str:
        if self.replace_all:
            return "first load, or files not in the load log: the table was reloaded whole"
        if self.to_load and self.source.table in REBUILT_ON_ANY_LOAD:
            return "the product catalog changed: categories of past order lines may change"
        if self.to_delete:
            return f"{len(self.to_delete)} landing file(s) changed or removed: " + ", ".join(
                Path(path).name for path in self.to_delete
            )
        return ""


def landing_files(landing_dir: Path, source: RawSource) -> list[Path]:
    """The source's complete landing files; names starting with '.' or '_' are files still being
    written or staged aside by their writer, and are skipped until renamed."""
    return sorted(
        path
        for path in (landing_dir / source.table).glob(LANDING_PATTERN)
        if not path.name.startswith((".", "_"))
    )


def load_landing(
    conn: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    sources: Sequence[RawSource],
    loaded_at: datetime,
    limits: LoadLimits,
) -> list[LoadedTable]:
    """Brings the raw tables of `sources` in line with their landing files, all or nothing: new
    files are appended; changed or removed files have their rows deleted (changed ones reloaded).
    Only the files to load are checked, so a daily load reads one day's files."""
    ensure_tables(conn)
    plans = [_plan(conn, landing_dir, source, loaded_at, limits) for source in sources]
    for plan in plans:
        for path in plan.to_load:
            _check_file(conn, path, plan.source)
    before = rows_before(conn, [plan.source.table for plan in plans])
    conn.execute("begin transaction")
    try:
        loaded = [_apply(conn, plan, loaded_at) for plan in plans]
        check_removed_share(before, loaded, limits.max_removed_share)
        check_unchanged({p: plan.stamps[str(p)] for plan in plans for p in plan.to_load})
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return loaded


def _plan(
    conn: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    source: RawSource,
    now: datetime,
    limits: LoadLimits,
) -> LoadPlan:
    files = _existing_files(landing_dir, source)
    stamps = {str(path): FileStamp.of(path) for path in files}
    logged = logged_files(conn, source.table)
    waiting = tuple(p for p, s in stamps.items() if not settled(s, now, limits.settle_seconds))
    for path in waiting:  # as if not there yet; a rewritten file keeps its previous rows
        if path in logged:
            stamps[path] = logged[path]
        else:
            del stamps[path]
    files = [path for path in files if str(path) in stamps]
    if not files:
        raise InputFileError(
            landing_dir / source.table,
            f"every landing file of '{source.table}' was modified within the settle time "
            f"(SEG_LANDING_SETTLE_SECONDS={limits.settle_seconds}) and may still be being "
            "written; run again once they are complete.",
        )
    if not logged:
        return LoadPlan(source, files, stamps, files, [], replace_all=True, waiting=waiting)
    changed = [path for path, stamp in stamps.items() if path in logged and logged[path] != stamp]
    removed = [path for path in logged if path not in stamps]
    to_load = [path for path in files if str(path) not in logged or str(path) in changed]
    return LoadPlan(source, files, stamps, to_load, changed + removed, False, waiting)


def _existing_files(landing_dir: Path, source: RawSource) -> list[Path]:
    files = landing_files(landing_dir, source)
    if not files:
        raise InputFileError(
            landing_dir / source.table,
            f"no {LANDING_PATTERN} files for source '{source.table}'; expected at least one with "
            f"columns {', '.join(c.name for c in source.file_columns)}.",
        )
    return files


def _check_file(conn: duckdb.DuckDBPyConnection, path: Path, source: RawSource) -> None:
    columns = source.file_columns
    try:
        described = conn.execute(f"describe select * from {_read(path)}").fetchall()
        row_count = conn.execute(f"select count(*) from {_read(path)}").fetchone()[0]
    except duckdb.Error as error:
        raise InputFileError(
            path, f"cannot be read as Parquet ({without_values(str(error))})."
        ) from error
    if row_count == 0:
        raise InputFileError(path, "the file has no rows.")

    file_types = {name: data_type for name, data_type, *_ in described}
    missing = [c.name for c in columns if c.name not in file_types]
    if missing:
        raise InputFileError(
            path,
            f"required column(s) missing: {', '.join(missing)}. The file has: "
            f"{', '.join(file_types)}.",
            column=missing[0],
        )

    to_cast = [c for c in columns if file_types[c.name].lower() != c.data_type.lower()]
    if "customer_id" in file_types:
        check_customer_ids(conn, f"select customer_id from {_read(path)}", path, False)
    if not to_cast:
        return
    counts = conn.execute(
        "select "
        + ", ".join(f"count(*) filter (where {_uncastable(c)})" for c in to_cast)
        + f" from {_read(path)}"
    ).fetchone()
    for column, bad_rows in zip(to_cast, counts, strict=True):
        if bad_rows:
            raise InputFileError(
                path,
                f"{bad_rows:,} of {row_count:,} rows cannot be read as {column.data_type} "
                f"(the file stores {file_types[column.name]}).",
                column=column.name,
                sample=_offending_rows(conn, path, source, column),
            )


def _offending_rows(
    conn: duckdb.DuckDBPyConnection, path: Path, source: RawSource, column: RawColumn
) -> pd.DataFrame:
    """Row numbers and keys of rows whose `column` does not cast, with the value unless the
    column is personal."""
    key = source.key.name
    value = shown_value(f'"{column.name}"', column.personal)
    return conn.execute(
        f'select file_row_number + 1 as row_number, "{key}" as {key}, {value} as value '
        f"from {_read(path, with_row_numbers=True)} where {_uncastable(column)} "
        f"order by file_row_number limit {SAMPLE_ROWS}"
    ).df()


def _apply(conn: duckdb.DuckDBPyConnection, plan: LoadPlan, loaded_at: datetime) -> LoadedTable:
    table = f"{RAW_SCHEMA}.{plan.source.table}"
    if plan.replace_all:
        conn.execute(
            f"create or replace table {table} as {_select(plan.source, plan.to_load)}", [loaded_at]
        )
    else:
        if plan.to_delete:
            conn.execute(
                f"delete from {table} where list_contains(?, _source_file)", [plan.to_delete]
            )
        if plan.to_load:
            conn.execute(f"insert into {table} {_select(plan.source, plan.to_load)}", [loaded_at])
    if plan.rebuild_reason:
        request_rebuild(conn, plan.source.table, plan.rebuild_reason, loaded_at)
    record_files(conn, plan.source.table, plan.stamps, {str(p) for p in plan.to_load}, loaded_at)
    rows, added = conn.execute(
        f"select count(*), count(*) filter (where _loaded_at = ?) from {table}", [loaded_at]
    ).fetchone()
    return LoadedTable(
        plan.source.table,
        rows,
        tuple(plan.files),
        tuple(plan.to_load),
        added,
        plan.rebuild_reason,
        tuple(Path(path) for path in plan.waiting),
    )


def _select(source: RawSource, files: list[Path]) -> str:
    """The contract columns of `files`, cast, with the file name and the load time (parameter)."""
    casts = ", ".join(
        f'cast("{c.name}" as {c.data_type}) as "{c.name}"' for c in source.file_columns
    )
    file_list = "[" + ", ".join(sql_file(path) for path in files) + "]"
    return (
        f"select {casts}, filename as _source_file, "
        "cast(? as timestamp with time zone) as _loaded_at "
        f"from read_parquet({file_list}, union_by_name = true, filename = true)"
    )


def _uncastable(column: RawColumn) -> str:
    return (
        f'"{column.name}" is not null and try_cast("{column.name}" as {column.data_type}) is null'
    )


def _read(path: Path, with_row_numbers: bool = False) -> str:
    return f"read_parquet({sql_file(path)}, file_row_number = {str(with_row_numbers).lower()})"
