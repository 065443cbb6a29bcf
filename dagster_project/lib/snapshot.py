"""The published snapshot that SQL users read (DESIGN.md section 7).

DuckDB lets one process write a file, and a writer locks out even read-only connections from
other processes, so readers never open the working warehouse. After each successful refresh the
tables they query are copied into a new DuckDB file beside the snapshot, checkpointed, synced to
disk and renamed over it: a reader opening the path gets the previous complete file or the new
complete one. A connection that is already open keeps reading the file it opened (the rename
does not touch it) until it reconnects. A refresh that fails or is killed before the rename
leaves only a stray staging file, which the next publish removes.

Users query `segments.<table>` as in the warehouse. DuckDB names a file's catalog after the file,
and a catalog and a schema both called `segments` make that name ambiguous, so in a file named
`segments.duckdb` (the default) the segment tables go into its main schema, reached as
`segments.<table>` through the catalog (or unqualified); under any other name, into schema
`segments`.
"""

import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from dagster_project.lib.duckdb_files import attach_options
from dagster_project.lib.durable_files import fsync
from dagster_project.lib.names import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_SEGMENTS,
    CUSTOMERS_LEFT_OUT_TABLE,
    DIM_CUSTOMERS_TABLE,
    SEGMENTS_SCHEMA,
)
from dagster_project.lib.segment_store.reads import table_exists
from dagster_project.lib.sql import sql_string

SNAPSHOT = "snapshot"
# Schema `segments` whole, and the feature tables without anything that identifies a person:
# dim_customers' keyed email and phone hashes are join keys for activation, not for analysts.
SERVED_TABLES: dict[str, tuple[str, ...]] = {
    CUSTOMER_FEATURES_TABLE: (),
    DIM_CUSTOMERS_TABLE: ("email_hash", "phone_hash"),
}
PUBLISHED = "published"


@dataclass(frozen=True)
class Snapshot:
    path: Path
    model_version: str
    as_of_date: date
    published_at: datetime
    table_rows: dict[str, int]
    bytes: int
    seconds: float


def staging_path(serving_path: Path) -> Path:
    return serving_path.with_name(serving_path.name + ".publishing")


def publish_snapshot(
    warehouse: duckdb.DuckDBPyConnection, serving_path: Path, run_id: str
) -> Snapshot:
    """Copies the served tables from `warehouse` (read-only is enough) into a staging file and
    swaps it in atomically."""
    started = time.perf_counter()
    (warehouse_file,) = warehouse.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    if warehouse_file and Path(warehouse_file).resolve() == serving_path.resolve():
        raise ValueError(
            f"The snapshot path {serving_path} is the warehouse itself: publishing would replace "
            "the warehouse with the snapshot. Set SEG_SERVING_PATH to another file."
        )
    staged = staging_path(serving_path)
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    _remove_with_wal(staged)  # left by a publish that was interrupted
    segments_schema = "main" if serving_path.stem == SEGMENTS_SCHEMA else SEGMENTS_SCHEMA
    warehouse.execute(f"attach {sql_string(str(staged))} as {SNAPSHOT} ({attach_options()})")
    try:
        table_rows = _copy_tables(warehouse, segments_schema, run_id)
        model_version, as_of_date, published_at = warehouse.execute(
            "select model_version, as_of_date, published_at "
            f"from {SNAPSHOT}.{segments_schema}.{PUBLISHED}"
        ).fetchone()
        warehouse.execute(f"checkpoint {SNAPSHOT}")
    finally:
        warehouse.execute(f"detach {SNAPSHOT}")
    fsync(staged)
    staged.replace(serving_path)
    fsync(serving_path.parent)
    return Snapshot(
        path=serving_path,
        model_version=model_version,
        as_of_date=as_of_date,
        published_at=published_at,
        table_rows=table_rows,
        bytes=serving_path.stat().st_size,
        seconds=round(time.perf_counter() - started, 2),
    )


def _copy_tables(
    warehouse: duckdb.DuckDBPyConnection, segments_schema: str, run_id: str
) -> dict[str, int]:
    """One transaction: every table is read from the same state of the warehouse. Returns the
    rows of each table, by its name in the warehouse."""
    segment_tables = [
        name
        for (name,) in warehouse.execute(
            "select table_name from duckdb_tables() "
            "where database_name = current_database() and schema_name = ? order by 1",
            [SEGMENTS_SCHEMA],
        ).fetchall()
    ]
    if CUSTOMER_SEGMENTS not in segment_tables:
        raise FileNotFoundError(
            "The warehouse has no segments.customer_segments yet: nothing to publish. "
            "Materialize segment_tables first."
        )
    # warehouse table -> (its copy in the snapshot, columns left out)
    copies = {
        f"{SEGMENTS_SCHEMA}.{name}": (f"{SNAPSHOT}.{segments_schema}.{name}", ())
        for name in segment_tables
    } | {table: (f"{SNAPSHOT}.{table}", left_out) for table, left_out in SERVED_TABLES.items()}
    published = f"{SNAPSHOT}.{segments_schema}.{PUBLISHED}"
    warehouse.execute("begin transaction")
    try:
        for schema in {copy.split(".")[1] for copy, _ in copies.values()} - {"main"}:
            warehouse.execute(f"create schema {SNAPSHOT}.{schema}")
        for table, (copy, left_out) in copies.items():
            columns = f"* exclude ({', '.join(left_out)})" if left_out else "*"
            warehouse.execute(
                f"create table {copy} as select {columns} from {table} "
                f"{_without_customers_left_out(warehouse, table)}"
            )
        warehouse.execute(
            f"""
            create table {published} as
            select
                any_value(model_version) as model_version,
                any_value(as_of_date) as as_of_date,
                now() as published_at,
                count(*) as customers,
                ? as run_id
            from {SEGMENTS_SCHEMA}.{CUSTOMER_SEGMENTS}
            """,
            [run_id],
        )
        warehouse.execute("commit")
    except BaseException:
        warehouse.execute("rollback")
        raise
    copies[f"{SEGMENTS_SCHEMA}.{PUBLISHED}"] = (published, ())
    return {
        table: warehouse.execute(f"select count(*) from {copy}").fetchone()[0]
        for table, (copy, _) in copies.items()
    }


def _without_customers_left_out(warehouse: duckdb.DuckDBPyConnection, table: str) -> str:
    """A where clause that serves none of the customers the consent policy leaves out: the
    warehouse's segment_history keeps the spell a withdrawal closed (with its reason), readers of
    the snapshot do not see it."""
    schema, name = table.split(".")
    has_customers = warehouse.execute(
        "select count(*) from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and table_name = ? and column_name = 'customer_id'",
        [schema, name],
    ).fetchall()[0][0]
    if not has_customers or not table_exists(warehouse, CUSTOMERS_LEFT_OUT_TABLE):
        return ""
    return f"where customer_id not in (select customer_id from {CUSTOMERS_LEFT_OUT_TABLE})"


def _remove_with_wal(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
