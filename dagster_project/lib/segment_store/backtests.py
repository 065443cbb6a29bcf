"""`segments.backtests`, one row per backtest, grouping and measure (ml/backtest.py)."""

from datetime import date

import duckdb
import pandas as pd

from dagster_project.lib.names import BACKTESTS, SEGMENTS_SCHEMA
from dagster_project.lib.segment_store.reads import table_exists

TABLE = f"{SEGMENTS_SCHEMA}.{BACKTESTS}"


def measured_before(conn: duckdb.DuckDBPyConnection, model_version: str, cutoff: date) -> bool:
    """Whether this model's segmentation was already backtested at `cutoff` (same settings, same
    data up to the as-of date: the same numbers again)."""
    if not table_exists(conn, BACKTESTS):
        return False
    rows = conn.execute(
        f"select count(*) from {TABLE} where model_version = ? and cutoff_date = ?",
        [model_version, cutoff],
    ).fetchall()
    return rows[0][0] > 0


def record_backtest(
    conn: duckdb.DuckDBPyConnection,
    model_version: str,
    cutoff: date,
    horizon_days: int,
    table: pd.DataFrame,
) -> None:
    """Replaces this model's rows for `cutoff` with `table` (grouping, measure, eta_squared,
    groups, customers), in one transaction."""
    conn.execute(f"create schema if not exists {SEGMENTS_SCHEMA}")
    conn.execute(
        f"""
        create table if not exists {TABLE} (
            model_version varchar not null, cutoff_date date not null,
            horizon_days integer not null, grouping varchar not null, measure varchar not null,
            eta_squared double not null, groups integer not null, customers bigint not null,
            measured_at timestamp with time zone not null
        )
        """
    )
    conn.register("new_backtest", table)
    conn.execute("begin transaction")
    try:
        conn.execute(
            f"delete from {TABLE} where model_version = ? and cutoff_date = ?",
            [model_version, cutoff],
        )
        conn.execute(
            f"insert into {TABLE} select $version, $cutoff, $horizon, grouping, measure, "
            "eta_squared, groups, customers, now() from new_backtest",
            {"version": model_version, "cutoff": cutoff, "horizon": horizon_days},
        )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("new_backtest")
