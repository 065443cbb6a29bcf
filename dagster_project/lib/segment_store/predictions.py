"""The predictions' inputs and tables: the repeat-purchase histories and what customers bought
after a cutoff; `segments.customer_predictions` (the current predictions), `segments.
prediction_history` (the headline scores of the last HISTORY_DAYS days, for "what changed since
last week") and the prediction means per segment in `segments.segment_profiles`."""

from datetime import date, timedelta

import duckdb
import pandas as pd

from dagster_project.lib.names import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_PREDICTIONS,
    CUSTOMER_REPEAT_PURCHASES_TABLE,
    CUSTOMER_SEGMENTS,
    ORDERS_VALUED_TABLE,
    PREDICTION_HISTORY,
    SEGMENT_PROFILES,
    SEGMENTS_SCHEMA,
)
from dagster_project.lib.segment_store.publish import features_fingerprint
from dagster_project.lib.segment_store.reads import table_exists

PREDICTIONS_TABLE = f"{SEGMENTS_SCHEMA}.{CUSTOMER_PREDICTIONS}"
HISTORY_TABLE = f"{SEGMENTS_SCHEMA}.{PREDICTION_HISTORY}"
HISTORY_DAYS = 56
"""Eight weeks of daily scores: enough to compare with last week or last month, and at a million
customers a few hundred MB rather than a table that grows for ever."""
PROFILES_TABLE = f"{SEGMENTS_SCHEMA}.{SEGMENT_PROFILES}"
SEGMENT_MEANS = {
    "mean_clv": "clv",
    "mean_purchase_propensity": "purchase_propensity",
    "mean_churn_risk": "churn_risk",
}


def inputs_fingerprint(conn: duckdb.DuckDBPyConnection, settings: str) -> str:
    """What the prediction models learn from (the current features and repeat purchases, which
    hold every purchase day up to the as-of date) and how (`settings`): equal fingerprints train
    equal models."""
    return "|".join(
        [
            features_fingerprint(conn, CUSTOMER_FEATURES_TABLE),
            features_fingerprint(conn, CUSTOMER_REPEAT_PURCHASES_TABLE),
            settings,
        ]
    )


def read_table(conn: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    return conn.execute(f"select * from {table} order by customer_id").df()


def cohort_purchase_days(
    conn: duckdb.DuckDBPyConnection, cohort: pd.Series, through: date
) -> pd.DataFrame:
    """customer_id, purchase_date: every purchase day through `through` of the customers
    `cohort` names (those with a purchase by a cutoff)."""
    conn.register("cohort", cohort.rename("customer_id").to_frame())
    try:
        return conn.execute(
            f"""
            select distinct orders.customer_id, cast(orders.ordered_at as date) as purchase_date
            from {ORDERS_VALUED_TABLE} as orders
            semi join cohort on orders.customer_id = cohort.customer_id
            where orders.is_purchase and cast(orders.ordered_at as date) <= ?
            """,
            [through],
        ).df()
    finally:
        conn.unregister("cohort")


def replace_predictions(
    conn: duckdb.DuckDBPyConnection,
    predictions: pd.DataFrame,
    as_of_date: date,
    horizon_days: int,
    model_version: str,
) -> None:
    """customer_predictions replaced, the day's scores put into prediction_history (older days
    than HISTORY_DAYS dropped), and the means per segment set in segment_profiles, in one
    transaction."""
    conn.register("new_predictions", predictions)
    try:
        conn.execute("begin")
        conn.execute(
            f"""
            create or replace table {PREDICTIONS_TABLE} as
            select customer_id, cast(? as date) as as_of_date, cast(? as integer) as horizon_days,
                   p_alive, expected_purchases, expected_order_value, clv, clv_low, clv_high,
                   purchase_propensity, churn_risk, cast(? as varchar) as model_version
            from new_predictions
            order by customer_id
            """,
            [as_of_date, horizon_days, model_version],
        )
        _record_history(conn, as_of_date)
        if table_exists(conn, SEGMENT_PROFILES):
            _set_segment_means(conn)
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("new_predictions")


def drop_predictions(conn: duckdb.DuckDBPyConnection) -> None:
    """With predictions switched off nothing predicted is served: the tables go (prediction_runs,
    the record of what was trained, stays)."""
    conn.execute(f"drop table if exists {PREDICTIONS_TABLE}")
    conn.execute(f"drop table if exists {HISTORY_TABLE}")


def _record_history(conn: duckdb.DuckDBPyConnection, as_of_date: date) -> None:
    conn.execute(
        f"""
        create table if not exists {HISTORY_TABLE} (
            customer_id varchar, as_of_date date, clv double, purchase_propensity double,
            churn_risk double, model_version varchar
        )
        """
    )
    conn.execute(
        f"delete from {HISTORY_TABLE} where as_of_date = ? or as_of_date < ?",
        [as_of_date, as_of_date - timedelta(days=HISTORY_DAYS)],
    )
    conn.execute(
        f"""
        insert into {HISTORY_TABLE}
        select customer_id, as_of_date, clv, purchase_propensity, churn_risk, model_version
        from {PREDICTIONS_TABLE}
        """
    )


def _set_segment_means(conn: duckdb.DuckDBPyConnection) -> None:
    existing = set(
        conn.execute(
            "select column_name from duckdb_columns() where schema_name = ? and table_name = ?",
            [SEGMENTS_SCHEMA, SEGMENT_PROFILES],
        ).fetchnumpy()["column_name"]
    )
    stale = [name for name in SEGMENT_MEANS if name in existing]
    keep = f"* exclude ({', '.join(stale)})" if stale else "*"
    means = ", ".join(f"avg(p.{column}) as {name}" for name, column in SEGMENT_MEANS.items())
    conn.execute(
        f"""
        create or replace table {PROFILES_TABLE} as
        select profiles.{keep},
               {", ".join(f"means.{name}" for name in SEGMENT_MEANS)}
        from {PROFILES_TABLE} as profiles
        left join (
            select s.segment_id, {means}
            from {SEGMENTS_SCHEMA}.{CUSTOMER_SEGMENTS} as s
            join {PREDICTIONS_TABLE} as p using (customer_id)
            group by s.segment_id
        ) as means using (segment_id)
        order by profiles.segment_id
        """
    )
