"""What customers bought between two days, from the valued orders (cancelled orders never
count): the later behaviour the backtests, the prediction holdouts and the audience lift are
judged on."""

from datetime import date

import duckdb
import pandas as pd

from dagster_project.lib.names import ORDERS_VALUED_TABLE

PURCHASE_COUNTS = {"orders": "count(*)", "days": "count(distinct cast(ordered_at as date))"}
"""How purchases are counted: every order (the backtests), or the days with one (the unit
BG/NBD counts: two orders on one day are one purchase)."""


def first_purchase_day(conn: duckdb.DuckDBPyConnection) -> date | None:
    return conn.execute(
        f"select min(cast(ordered_at as date)) from {ORDERS_VALUED_TABLE} where is_purchase"
    ).fetchall()[0][0]


def purchases_between(
    conn: duckdb.DuckDBPyConnection, after: date, through: date, counted_in: str = "orders"
) -> pd.DataFrame:
    """customer_id, purchases (counted in `counted_in`, a key of PURCHASE_COUNTS) and spend after
    the day `after` through the day `through` (a cutoff's features end with its day)."""
    return conn.execute(
        f"""
        select customer_id, {PURCHASE_COUNTS[counted_in]} as purchases, sum(net_amount) as spend
        from {ORDERS_VALUED_TABLE}
        where is_purchase
          and cast(ordered_at as date) > ? and cast(ordered_at as date) <= ?
        group by customer_id
        """,
        [after, through],
    ).df()
