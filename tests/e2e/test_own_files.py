"""A user's own orders-only CSV (customer;date;amount) through a source mapping, end to end:
segments are written, features of sources not provided are null and left out of the model, and
a broken file later fails the run without touching what was published."""

import re
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from dagster_project.run import features_without_data, run_job
from tests.conftest import AS_OF, settings_for, warehouse_columns

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast

MAPPING = """
files:
  sales:
    path: sales.csv
    delimiter: ";"
    date_format: "%d/%m/%Y %H:%M"
    drop:
      refunds: try_cast(amount as double) <= 0
sources:
  orders:
    from: sales
    columns:
      order_id: customer || '@' || day  # no order number: one order per customer and minute
      customer_id: customer
      ordered_at: day
      status: "'completed'"
      currency: "'GBP'"
  order_items:
    from: sales
    columns:
      order_id: customer || '@' || day
      line_number: "1"
      quantity: "1"
      unit_price: amount
"""


def write_orders_csv(demo_landing: Path, folder: Path) -> int:
    """One row per customer and minute of completed demo orders: customer, day (dd/mm/yyyy
    hh:mm), amount."""
    with duckdb.connect() as conn:
        conn.execute(
            f"""
            copy (
                select o.customer_id as customer, strftime(o.ordered_at, '%d/%m/%Y %H:%M') as day,
                       round(sum(i.quantity * i.unit_price * (1 - i.discount)), 2) as amount
                from read_parquet('{demo_landing}/orders/*.parquet') as o
                join read_parquet('{demo_landing}/order_items/*.parquet') as i using (order_id)
                where o.status = 'completed' and o.customer_id is not null
                    and o.ordered_at < date '{AS_OF}'
                group by all
                order by customer, day
            ) to '{folder / "sales.csv"}' (header, delimiter ';')
            """
        )
        return conn.execute(
            f"select count(*) from read_csv('{folder / 'sales.csv'}', delim = ';')"
        ).fetchone()[0]


def test_an_orders_only_csv_gets_segments(demo_landing: Path, tmp_path: Path) -> None:
    rows = write_orders_csv(demo_landing, tmp_path)
    (tmp_path / "sources.yml").write_text(MAPPING)
    settings = replace(
        settings_for(tmp_path, tmp_path / "no-landing-folder"),
        source_config=tmp_path / "sources.yml",
    )
    # Orders carry no consent: under the default policy nobody may be profiled, and the run
    # stops after dbt with advice instead of training on nobody.
    with DagsterInstance.ephemeral() as instance:
        refused = run_job(settings, instance)
    assert not refused.success
    (failure,) = [
        event.step_failure_data.error.message
        for event in refused.all_events
        if event.event_type_value == "STEP_FAILURE"
    ]
    assert "left out by SEG_CONSENT_POLICY=exclude" in failure
    assert "SEG_CONSENT_POLICY=profile_all_activate_consented" in failure

    settings = replace(settings, consent_policy="profile_all_activate_consented")
    with DagsterInstance.ephemeral() as instance:
        result = run_job(settings, instance)
    assert result.success

    (cleaning,) = [
        event.materialization.metadata["cleaning"].value
        for event in result.get_asset_materialization_events()
        if event.asset_key.to_user_string() == "raw_orders"
    ]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        refunds = conn.execute(
            f"select count(*) from read_csv('{tmp_path / 'sales.csv'}', delim = ';') "
            "where amount <= 0"
        ).fetchone()[0]
        assert conn.execute("select count(*) from raw.orders").fetchone()[0] == rows - refunds
        customers = conn.execute("select count(distinct customer_id) from raw.orders").fetchone()
        assert conn.execute("select count(*) from raw.customers").fetchone() == customers
        assert conn.execute("select count(*) from raw.web_events").fetchone() == (0,)
        segmented = conn.execute(
            "select count(*), count(distinct segment_id) from segments.customer_segments"
        ).fetchone()
        features = conn.execute(
            "select count(monetary), count(sessions_90d), count(likes), "
            "count(category_share_other), count(click_through_rate) from marts.customer_features"
        ).fetchone()
        modelled = conn.execute(
            "select features from segments.model_runs order by trained_at desc limit 1"
        ).fetchone()[0]
        published = conn.execute("select * from segments.customer_segments order by all").df()
    assert f"| removed: refunds | {refunds} |" in cleaning
    assert segmented[0] == customers[0] and segmented[1] >= 2
    assert features[0] == customers[0] and features[1:] == (0, 0, 0, 0)
    unobserved = features_without_data(settings)
    assert {"sessions_90d", "likes", "category_share_other", "click_through_rate"} <= set(
        unobserved
    )
    assert not any(name in modelled for name in unobserved)

    # A broken export fails at ingest, naming file and column; the published segments stay.
    with (tmp_path / "sales.csv").open("a") as sales:
        sales.write("C-late;31/02/2026 10:00;12.50\n")
    with DagsterInstance.ephemeral() as instance:
        failed = run_job(settings, instance)
    assert not failed.success
    (failure,) = [
        event.step_failure_data.error.message
        for event in failed.all_events
        if event.is_step_failure
    ]
    assert "sales.csv" in failure and 'column "ordered_at"' in failure and "31/02/2026" in failure
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        after = conn.execute("select * from segments.customer_segments order by all").df()
    assert after.equals(published)


EMAIL_KEYED = """
pseudonymize_customer_id: true    # the shop keys customers by email
files:
  sales:
    path: sales.csv
    date_format: "%d/%m/%Y %H:%M"
sources:
  orders:
    from: sales
    distinct: true
    columns:
      order_id: order_ref
      customer_id: customer
      ordered_at: day
      status: "'completed'"
      currency: "'GBP'"
  order_items:
    from: sales
    columns:
      order_id: order_ref
      line_number: "1"
      quantity: "1"
      unit_price: amount
"""


def test_customers_keyed_by_email_are_published_only_pseudonymously(
    demo_landing: Path, tmp_path: Path
) -> None:
    with duckdb.connect() as conn:
        conn.execute(
            f"""
            copy (
                select o.order_id as order_ref, any_value(lower(trim(c.email))) as customer,
                       strftime(o.ordered_at, '%d/%m/%Y %H:%M') as day,
                       round(sum(i.quantity * i.unit_price), 2) as amount
                from read_parquet('{demo_landing}/orders/*.parquet') as o
                join read_parquet('{demo_landing}/order_items/*.parquet') as i using (order_id)
                join read_parquet('{demo_landing}/customers/*.parquet') as c
                  on trim(c.customer_id) = trim(o.customer_id)
                where o.status = 'completed' and c.email is not null
                  and o.ordered_at < date '{AS_OF}'
                group by o.order_id, o.ordered_at
                having sum(i.quantity * i.unit_price) > 0
            ) to '{tmp_path / "sales.csv"}' (header)
            """
        )
    (tmp_path / "sources.yml").write_text(EMAIL_KEYED)
    settings = replace(
        settings_for(tmp_path, tmp_path / "no-landing-folder"),
        source_config=tmp_path / "sources.yml",
        consent_policy="profile_all_activate_consented",
    )
    with DagsterInstance.ephemeral() as instance:
        assert run_job(settings, instance).success

    def emails_and_ids(database: Path, schemas: tuple[str, ...]) -> tuple[int, set[str]]:
        with duckdb.connect(str(database), read_only=True) as conn:
            columns = warehouse_columns(conn, schemas, "VARCHAR")
            emails = sum(
                conn.execute(f"select count(*) from {t} where contains(\"{c}\", '@')").fetchone()[0]
                for t, c in columns
            )
            ids = {
                customer
                for t, c in columns
                if c == "customer_id"
                for (customer,) in conn.execute(f"select distinct customer_id from {t}").fetchall()
            }
        return emails, ids

    published = ("raw", "staging", "intermediate", "marts", "segments")
    emails, ids = emails_and_ids(settings.warehouse_path, published)
    served_emails, served_ids = emails_and_ids(settings.snapshot_path, ("main", "marts"))
    assert emails == 0 and served_emails == 0
    assert len(ids) > 500 and served_ids <= ids
    assert all(re.fullmatch("[0-9a-f]{32}", customer) for customer in ids)
