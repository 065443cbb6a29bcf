"""What activating an audience did: for each audience and activation date, the customers who
joined it that day (treated and control), their purchases over the `window_days` after it, and
the treated arm's mean against the control arm's (ml/lift.py), into `segments.audience_lift`.

Measured only once the window has passed by the as-of date: a window still running would count
fewer days for everyone and understate the difference. Every customer assigned that day counts,
whatever they did or however long they stayed (intent to treat), so the arms stay comparable.
"""

from datetime import date, timedelta

import duckdb
import pandas as pd

from dagster_project.lib.names import AUDIENCE_LIFT, ORDERS_VALUED_TABLE, SEGMENTS_SCHEMA
from dagster_project.lib.segment_store.audiences import MEMBERS
from dagster_project.lib.segment_store.reads import table_exists
from ml.lift import difference_in_means

TABLE = f"{SEGMENTS_SCHEMA}.{AUDIENCE_LIFT}"
MEASURES = {
    "conversion": "share of customers with a purchase in the window",
    "orders_per_customer": "purchases (completed orders) per customer in the window",
    "revenue_per_customer": "net revenue per customer in the window",
}
COLUMNS = (
    "audience",
    "activation_date",
    "window_days",
    "measure",
    "treated",
    "control",
    "lift",
    "ci_low",
    "ci_high",
    "relative_lift",
    "p_value",
    "treated_customers",
    "control_customers",
    "measured_as_of",
)


def measure_lift(
    conn: duckdb.DuckDBPyConnection, audience: str, window_days: int, as_of: date
) -> pd.DataFrame:
    """COLUMNS for every activation date of `audience` whose window ended by `as_of`."""
    outcomes = _outcomes(conn, audience, window_days, as_of - timedelta(days=window_days))
    rows = []
    for activation_date, cohort in outcomes.groupby("joined_at"):
        treated = cohort[cohort["arm"] == "treated"]
        control = cohort[cohort["arm"] == "control"]
        for measure in MEASURES:
            lift = difference_in_means(treated[measure], control[measure])
            rows.append(
                {
                    "audience": audience,
                    "activation_date": activation_date,
                    "window_days": window_days,
                    "measure": measure,
                    "treated": lift.treated_mean,
                    "control": lift.control_mean,
                    "lift": lift.lift,
                    "ci_low": lift.ci_low,
                    "ci_high": lift.ci_high,
                    "relative_lift": lift.relative_lift,
                    "p_value": lift.p_value,
                    "treated_customers": lift.treated_customers,
                    "control_customers": lift.control_customers,
                    "measured_as_of": as_of,
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _outcomes(
    conn: duckdb.DuckDBPyConnection, audience: str, window_days: int, joined_by: date
) -> pd.DataFrame:
    """One row per spell of `audience` opened by `joined_by`: arm, joined_at and the customer's
    purchases in (joined_at, joined_at + window_days]."""
    if not table_exists(conn, MEMBERS):
        return pd.DataFrame(columns=["customer_id", "arm", "joined_at", *MEASURES])
    return conn.execute(
        f"""
        select spells.customer_id, spells.arm, spells.joined_at,
               cast(count(orders.customer_id) > 0 as double) as conversion,
               cast(count(orders.customer_id) as double) as orders_per_customer,
               coalesce(sum(orders.net_amount), 0) as revenue_per_customer
        from {MEMBERS} as spells
        left join {ORDERS_VALUED_TABLE} as orders
          on orders.customer_id = spells.customer_id
         and orders.is_purchase
         and cast(orders.ordered_at as date) > spells.joined_at
         and cast(orders.ordered_at as date) <= spells.joined_at + cast(? as integer)
        where spells.audience = ? and spells.joined_at <= ?
        group by all
        """,
        [window_days, audience, joined_by],
    ).df()


def replace_lift(conn: duckdb.DuckDBPyConnection, lift: pd.DataFrame) -> None:
    """`segments.audience_lift` becomes `lift` (every audience, recomputed each run)."""
    conn.register("new_lift", lift.astype({"activation_date": "datetime64[ns]"}))
    try:
        conn.execute(f"create schema if not exists {SEGMENTS_SCHEMA}")
        conn.execute(
            f"""
            create or replace table {TABLE} as
            select audience::varchar as audience, activation_date::date as activation_date,
                   window_days::integer as window_days, measure::varchar as measure,
                   treated::double as treated, control::double as control, lift::double as lift,
                   ci_low::double as ci_low, ci_high::double as ci_high,
                   relative_lift::double as relative_lift, p_value::double as p_value,
                   treated_customers::bigint as treated_customers,
                   control_customers::bigint as control_customers,
                   measured_as_of::date as measured_as_of
            from new_lift
            """
        )
    finally:
        conn.unregister("new_lift")
