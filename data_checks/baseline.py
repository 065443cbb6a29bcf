"""The last validated state of customer_features, kept in the warehouse for drift checks.

Recorded only after every blocking check passed, so a bad run never becomes the reference.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import duckdb

SCHEMA = "quality"
FEATURES_TABLE = "marts.customer_features"
SUMMARY_TABLE = f"{SCHEMA}.customer_features_baseline"
FREQUENCY_TABLE = f"{SCHEMA}.customer_frequency_baseline"


@dataclass(frozen=True)
class Baseline:
    as_of_date: date
    row_count: int
    means: Mapping[str, float]


def record_baseline(conn: duckdb.DuckDBPyConnection, features: tuple[str, ...]) -> Baseline:
    """Replace the baseline with the current customer_features: row count, feature means and
    each customer's order count."""
    present = set(feature_columns(conn)) & set(features)
    means = ", ".join(f"avg({name}) as {name}" for name in sorted(present))
    conn.execute("begin transaction")
    try:
        conn.execute(f"create schema if not exists {SCHEMA}")
        conn.execute(
            f"create or replace table {SUMMARY_TABLE} as "
            f"select max(as_of_date) as as_of_date, count(*) as row_count, now() as recorded_at"
            f"{', ' + means if means else ''} from {FEATURES_TABLE}"
        )
        conn.execute(
            f"create or replace table {FREQUENCY_TABLE} as "
            f"select customer_id, frequency from {FEATURES_TABLE}"
        )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    baseline = load_baseline(conn)
    assert baseline is not None
    return baseline


def load_baseline(conn: duckdb.DuckDBPyConnection) -> Baseline | None:
    exists = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = ? and table_name = 'customer_features_baseline'",
        [SCHEMA],
    ).fetchone()[0]
    if not exists:
        return None
    row = conn.execute(f"select * from {SUMMARY_TABLE}").df().iloc[0]
    means = {
        name: float(value)
        for name, value in row.items()
        if name not in ("as_of_date", "row_count", "recorded_at") and value == value
    }
    return Baseline(row["as_of_date"].date(), int(row["row_count"]), means)


def feature_columns(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The columns customer_features has: feature families depend on the sources present."""
    schema, table = FEATURES_TABLE.split(".")
    rows = conn.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [name for (name,) in rows]
