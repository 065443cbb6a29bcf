"""The fairness audit's inputs and its table: each customer's published segment with their
protected attributes, and `segments.fairness_audit` (ml/fairness.py), replaced whole by each
audit."""

from datetime import date

import duckdb
import pandas as pd

from dagster_project.lib.names import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_SEGMENTS,
    FAIRNESS_AUDIT,
    SEGMENTS_SCHEMA,
)
from data_checks.baseline import feature_columns
from ml.fairness import COLUMNS

TABLE = f"{SEGMENTS_SCHEMA}.{FAIRNESS_AUDIT}"


def read_audit_inputs(
    conn: duckdb.DuckDBPyConnection, attributes: tuple[str, ...]
) -> tuple[pd.Series, pd.DataFrame, str, date]:
    """customer id -> segment id, the customers' protected attributes that customer_features
    has, and the published model version and as-of date."""
    present = feature_columns(conn)
    columns = [name for name in attributes if name in present]
    selected = "".join(f", f.{name}" for name in columns)
    frame = conn.execute(
        f"select s.customer_id, s.segment_id, s.model_version, s.as_of_date{selected} "
        f"from {SEGMENTS_SCHEMA}.{CUSTOMER_SEGMENTS} as s "
        f"join {CUSTOMER_FEATURES_TABLE} as f using (customer_id) order by s.customer_id"
    ).df()
    segments = frame.set_index("customer_id")["segment_id"]
    return (
        segments,
        frame[["customer_id", *columns]],
        frame["model_version"].iat[0],
        frame["as_of_date"].iat[0],
    )


def replace_audit(
    conn: duckdb.DuckDBPyConnection, table: pd.DataFrame, model_version: str, as_of_date: date
) -> None:
    columns = ", ".join(f'"{name}"' for name in COLUMNS)  # "group" is a keyword
    conn.register("new_audit", table)
    try:
        conn.execute(
            f"create or replace table {TABLE} as "
            f"select $version as model_version, $as_of as as_of_date, {columns} "
            'from new_audit order by attribute, "group", segment_id',
            {"version": model_version, "as_of": as_of_date},
        )
    finally:
        conn.unregister("new_audit")


def flagged_rows(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return conn.execute(
        'select attribute, "group", segment_id, customers_in_group, selection_rate_ratio, '
        f"p_value from {TABLE} where flagged order by p_value"
    ).df()
