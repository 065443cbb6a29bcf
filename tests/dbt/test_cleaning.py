"""Cleaning rules on the planted dirt, checked on the warehouse built by the full Dagster run."""

import hashlib
import hmac
from datetime import timedelta

import duckdb
import pytest

from tests.conftest import AS_OF, PII_HASH_KEY

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast

FUTURE_TOLERANCE = "interval 24 hour"
EVENT_SOURCES = [
    ("orders", "ordered_at", "staging.stg_shop__orders"),
    ("web_events", "event_at", "staging.stg_web__events"),
    ("campaign_events", "event_at", "staging.stg_marketing__campaign_events"),
    ("social_interactions", "occurred_at", "staging.stg_social__interactions"),
]


def scalar(conn: duckdb.DuckDBPyConnection, sql: str) -> object:
    return conn.execute(sql).fetchone()[0]


@pytest.mark.parametrize(
    ("raw_table", "key", "nulled", "staging_table"),
    [
        ("customers", "customer_id", "customer_id", "staging.stg_shop__customers"),
        ("orders", "order_id", "customer_id", "staging.stg_shop__orders"),
        ("web_events", "event_id", "event_id", "staging.stg_web__events"),
        ("campaign_events", "event_id", "customer_id", "staging.stg_marketing__campaign_events"),
        (
            "social_interactions",
            "interaction_id",
            "customer_id",
            "staging.stg_social__interactions",
        ),
    ],
)
def test_duplicates_and_null_keys_are_removed(
    warehouse: duckdb.DuckDBPyConnection, raw_table: str, key: str, nulled: str, staging_table: str
) -> None:
    raw_rows = scalar(warehouse, f"select count(*) from raw.{raw_table}")
    raw_distinct = scalar(
        warehouse,
        f"select count(*) from (select distinct * exclude (_source_file) from raw.{raw_table})",
    )
    assert raw_rows > raw_distinct, "the demo data should hold exact duplicates"
    assert scalar(warehouse, f"select count(*) from raw.{raw_table} where {nulled} is null") > 0
    staged = scalar(warehouse, f"select count(*) from {staging_table}")
    assert staged == scalar(warehouse, f"select count(distinct {key}) from {staging_table}")
    assert scalar(warehouse, f"select count(*) from {staging_table} where {nulled} is null") == 0


@pytest.mark.parametrize(("raw_table", "column", "staging_table"), EVENT_SOURCES)
def test_timestamps_in_the_future_are_dropped(
    warehouse: duckdb.DuckDBPyConnection, raw_table: str, column: str, staging_table: str
) -> None:
    future = f"{column} > _loaded_at + {FUTURE_TOLERANCE}"
    assert scalar(warehouse, f"select count(*) from raw.{raw_table} where {future}") > 0
    loaded_at = scalar(warehouse, f"select max(_loaded_at) from raw.{raw_table}")
    latest = scalar(warehouse, f"select max({column}) from {staging_table}")
    assert latest <= loaded_at + timedelta(hours=24)


def test_frequency_counts_completed_and_returned_orders_only(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    """Frequency re-derived from raw orders, independently of the dbt models."""
    mismatches = scalar(
        warehouse,
        f"""
        with valid as (
            select distinct order_id, customer_id, lower(trim(status)) as status
            from raw.orders
            where order_id is not null and customer_id is not null
              and ordered_at <= _loaded_at + {FUTURE_TOLERANCE}
              and ordered_at < date '{AS_OF}' + interval 1 day
        ),
        expected as (
            select customer_id, count(*) filter (where status in ('completed', 'returned')) as n
            from valid group by customer_id
        )
        select count(*)
        from marts.customer_features as f
        left join expected as e using (customer_id)
        where f.frequency <> coalesce(e.n, 0)
        """,
    )
    assert mismatches == 0
    cancelled = scalar(
        warehouse, "select count(*) from staging.stg_shop__orders where status = 'cancelled'"
    )
    assert cancelled > 0


def test_returned_orders_keep_no_value(warehouse: duckdb.DuckDBPyConnection) -> None:
    returned = warehouse.execute(
        "select purchased_amount, returned_amount, net_amount from intermediate.int_orders_valued "
        "where status = 'returned'"
    ).fetchall()
    assert returned
    assert all(net == 0 and bought == back for bought, back, net in returned)
    partly_returned = scalar(
        warehouse,
        "select count(*) from intermediate.int_orders_valued "
        "where status = 'completed' and returned_amount > 0 and net_amount > 0",
    )
    assert partly_returned > 0, "negative-quantity lines should reduce, not erase, their order"


def test_messy_emails_hash_like_their_clean_form(warehouse: duckdb.DuckDBPyConnection) -> None:
    messy = warehouse.execute(
        "select distinct r.email, d.email_hash from raw.customers as r "
        "join marts.dim_customers as d using (customer_id) "
        "where r.email <> lower(trim(r.email)) limit 20"
    ).fetchall()
    assert messy
    for email, email_hash in messy:
        normalised = email.strip().lower().encode()
        assert email_hash == hmac.new(PII_HASH_KEY.encode(), normalised, hashlib.sha256).hexdigest()


def test_no_personal_data_outside_the_raw_schema(warehouse: duckdb.DuckDBPyConnection) -> None:
    """No email, phone, name or city value, raw or normalised, appears in any other table."""
    warehouse.execute(
        """
        create temp table personal_values as
        select distinct value from (
            select unnest([email, lower(trim(email)), full_name, phone,
                           regexp_replace(phone, '[^0-9+]', '', 'g'), city]) as value
            from raw.customers
        ) where value is not null
        """
    )
    text_columns = warehouse.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog <> 'temp' and table_schema <> 'raw' and data_type = 'VARCHAR'"
    ).fetchall()
    assert len(text_columns) > 20
    leaks = {
        f"{schema}.{table}.{column}": scalar(
            warehouse,
            f'select count(*) from {schema}.{table} where "{column}" in '
            '(select value from personal_values) or contains("' + column + "\", '@')",
        )
        for schema, table, column in text_columns
    }
    assert not {column: n for column, n in leaks.items() if n}
