"""Which as-of date the point-in-time schemas (pit_intermediate, pit_marts) were last rebuilt
for, and by which run: a run that needs the same day twice (the predictions' holdout cutoff and
the backtest's, both 90 days back by default) rebuilds and validates it once."""

from datetime import date

import duckdb

from dagster_project.lib.names import MARTS_SCHEMA, POINT_IN_TIME_PREFIX
from dagster_project.lib.segment_store.reads import table_exists

MARKER = f"{POINT_IN_TIME_PREFIX}{MARTS_SCHEMA}.rebuilt_for"


def rebuilt_for(conn: duckdb.DuckDBPyConnection) -> tuple[str, date] | None:
    """(run id, as-of date) of the last validated rebuild, or None."""
    if not table_exists(conn, MARKER):
        return None
    row = conn.execute(f"select run_id, as_of_date from {MARKER}").fetchone()
    return (row[0], row[1]) if row else None


def mark_rebuilt(conn: duckdb.DuckDBPyConnection, run_id: str, day: date) -> None:
    conn.execute(
        f"create or replace table {MARKER} as select ? as run_id, cast(? as date) as as_of_date",
        [run_id, day],
    )


def forget_rebuild(conn: duckdb.DuckDBPyConnection) -> None:
    """Before a rebuild starts: a rebuild that fails half-way must not look validated."""
    conn.execute(f"drop table if exists {MARKER}")
