"""Loading a user's files through a source mapping: every file checked first, then the raw tables
replaced in one transaction (a mapping replaces tables whole, so dbt rebuilds once after it).

The files are read on a sandboxed connection (sandbox.py) and their rows streamed into the
warehouse. A file modified within the settle time, or one that changes while it is loaded, is
still being written: the load stops, naming it, and nothing is replaced.
"""

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project.lib.ingest.contract import RawSource
from dagster_project.lib.ingest.direct_identifiers import (
    check_customer_ids,
    register_pseudonymous_ids,
)
from dagster_project.lib.ingest.errors import InputFileError
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
    record_files,
    request_rebuild,
)
from dagster_project.lib.ingest.mapped_checks import (
    Cleaning,
    check_file,
    check_mapped_columns,
    cleaning_counts,
    count_rows,
)
from dagster_project.lib.ingest.mapped_sql import source_select
from dagster_project.lib.ingest.mapping import Mapping, SourceMapping, UserFiles
from dagster_project.lib.ingest.sandbox import sandboxed_reader
from dagster_project.lib.names import RAW_SCHEMA

REPLACED = "loaded from the source mapping, which replaces the table whole"
MAPPED_ROWS = "mapped_rows"


def load_mapped(
    conn: duckdb.DuckDBPyConnection,
    mapping: Mapping,
    sources: Sequence[RawSource],
    loaded_at: datetime,
    limits: LoadLimits,
) -> tuple[list[LoadedTable], dict[str, Cleaning]]:
    """Replaces the raw tables of `sources`, all or nothing, after checking every file: mapped
    ones from the user's files, the others with empty tables (the source was not provided, so
    its features are null downstream). Returns the tables and, per file entry, what its cleaning
    rules removed."""
    mapped = {m.source.table: m for m in mapping.sources}
    plans = [
        (mapped[source.table], _matched_paths(mapped[source.table].files))
        for source in sources
        if source.table in mapped
    ]
    entries = {m.files.name: (m.files, paths) for m, paths in plans}  # a file may feed several
    stamps = {path: FileStamp.of(path) for _, paths in entries.values() for path in paths}
    for files, paths in entries.values():
        for path in paths:
            _check_settled(files, path, stamps[path], loaded_at, limits.settle_seconds)
    folders = [files.root for files, _ in entries.values()]
    with sandboxed_reader(folders, limits.memory_limit) as files_conn:
        for files, paths in entries.values():
            for path in paths:
                check_file(files_conn, files, path)
        for source_mapping, paths in plans:
            for path in paths:
                check_mapped_columns(files_conn, source_mapping, path)
            if _has_customer_ids(source_mapping):
                check_customer_ids(
                    files_conn,
                    source_select(source_mapping, paths),
                    source_mapping.files.pattern,
                    mapping.pseudonymize_customer_id,
                )
        cleaning = {
            name: cleaning_counts(files_conn, files, paths)
            for name, (files, paths) in entries.items()
        }
        absent = [source for source in sources if source.table not in mapped]
        ensure_tables(conn)
        before = rows_before(conn, [source.table for source in sources])
        conn.execute("begin transaction")
        try:
            pseudonymous = (
                register_pseudonymous_ids(conn, _warehouse_path(conn))
                if mapping.pseudonymize_customer_id
                else None
            )
            loaded = [
                _replace(conn, files_conn, m, paths, loaded_at, pseudonymous) for m, paths in plans
            ]
            loaded += [_replace_unmapped(conn, source) for source in absent]
            for table in loaded:
                # Replaced whole: the landing-file log no longer applies, and dbt must rebuild.
                record_files(conn, table.table, {}, set(), loaded_at)
                request_rebuild(conn, table.table, REPLACED, loaded_at)
            check_removed_share(before, loaded, limits.max_removed_share)
            check_unchanged(stamps)
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
    return loaded, cleaning


def _has_customer_ids(source: SourceMapping) -> bool:
    return any(column.name == "customer_id" for column in source.source.file_columns)


def _warehouse_path(conn: duckdb.DuckDBPyConnection) -> Path:
    ((path,),) = conn.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchall()
    return Path(path)


def _check_settled(
    files: UserFiles, path: Path, stamp: FileStamp, now: datetime, settle_seconds: int
) -> None:
    """Text files are readable while half-written (a Parquet file is not: its footer comes
    last), so a recently modified one waits."""
    if files.format != "parquet" and not settled(stamp, now, settle_seconds):
        raise InputFileError(
            path,
            f"modified less than the settle time ago (SEG_LANDING_SETTLE_SECONDS="
            f"{settle_seconds}): it may still be being written. Run again once it is complete, "
            "or write it aside under a name starting with '_' and rename it in.",
        )


def _matched_paths(files: UserFiles) -> list[Path]:
    paths = files.paths()
    if not paths:
        raise InputFileError(
            files.pattern, f"no file matches files.{files.name}.path in the source mapping."
        )
    return paths


def _replace(
    conn: duckdb.DuckDBPyConnection,
    files_conn: duckdb.DuckDBPyConnection,
    source: SourceMapping,
    paths: list[Path],
    loaded_at: datetime,
    pseudonymous: str | None,
) -> LoadedTable:
    """The mapped rows, read on the sandboxed connection, streamed into the warehouse; customer
    ids replaced by `pseudonymous`(customer id) when it is given."""
    table = f"{RAW_SCHEMA}.{source.source.table}"
    reading = files_conn.cursor()  # a result of its own: one stream per table
    conn.register(MAPPED_ROWS, reading.sql(source_select(source, paths)).to_arrow_reader())
    columns = (
        f"* replace ({pseudonymous}(customer_id) as customer_id)"
        if pseudonymous and _has_customer_ids(source)
        else "*"
    )
    try:
        conn.execute(
            f"create or replace table {table} as select {columns}, ? as _source_file, "
            f"cast(? as timestamp with time zone) as _loaded_at from {MAPPED_ROWS}",
            [str(source.files.pattern), loaded_at],
        )
    finally:
        conn.unregister(MAPPED_ROWS)
        reading.close()
    rows = count_rows(conn, table)
    return LoadedTable(source.source.table, rows, tuple(paths), tuple(paths), rows, REPLACED)


def _replace_unmapped(conn: duckdb.DuckDBPyConnection, source: RawSource) -> LoadedTable:
    """An empty table; except customers, who are the distinct customer ids of the orders (with
    nothing else known about them), since every customer feature hangs off a customer row."""
    table = f"{RAW_SCHEMA}.{source.table}"
    columns = ", ".join(f'"{c.name}" {c.data_type}' for c in source.columns)
    conn.execute(f"create or replace table {table} ({columns})")
    if source.table == "customers":
        conn.execute(
            f"insert into {table} (customer_id, _source_file, _loaded_at) "
            f"select customer_id, 'derived from {RAW_SCHEMA}.orders', any_value(_loaded_at) "
            f"from {RAW_SCHEMA}.orders where customer_id is not null group by customer_id"
        )
    rows = count_rows(conn, table)
    return LoadedTable(source.table, rows, (), (), rows, REPLACED)
