"""A full materialization of every asset on demo data, in a temporary directory."""

import duckdb
import pytest
from dagster import AssetKey

from dagster_project.definitions import build_definitions
from dagster_project.lib.names import HISTORY_BACKFILL
from tests.conftest import AS_OF, BuiltPipeline

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast


def test_every_asset_is_materialized(built_pipeline: BuiltPipeline) -> None:
    assert built_pipeline.result.success
    materialized = {
        event.asset_key for event in built_pipeline.result.get_asset_materialization_events()
    }
    definitions = build_definitions(built_pipeline.settings)  # with the example audiences
    every_asset = set(definitions.resolve_asset_graph().get_all_asset_keys())
    assert AssetKey("audience_win_back_valuable") in every_asset
    assert materialized == every_asset - {AssetKey(HISTORY_BACKFILL)}


def test_customer_features_has_one_row_per_known_customer(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    known = warehouse.execute(
        "select count(distinct trim(customer_id)) from raw.customers "
        f"where customer_id is not null and signup_at < date '{AS_OF}' + interval 1 day"
    ).fetchone()[0]
    rows, customers, as_of_dates = warehouse.execute(
        "select count(*), count(distinct customer_id), list(distinct as_of_date) "
        "from marts.customer_features"
    ).fetchone()
    # The default consent policy leaves out the customers without marketing consent.
    left_out = warehouse.execute("select count(*) from marts.customers_left_out").fetchone()[0]
    assert rows == customers == known - left_out > 500
    assert known > 900
    assert as_of_dates == [AS_OF]
    missing = warehouse.execute(
        "select count(*) from marts.dim_customers "
        "anti join marts.customer_features using (customer_id)"
    ).fetchone()[0]
    assert missing == 0


def test_materializations_carry_row_counts_and_schemas(
    built_pipeline: BuiltPipeline, warehouse: duckdb.DuckDBPyConnection
) -> None:
    events = {
        event.asset_key.to_user_string(): event.materialization
        for event in built_pipeline.result.get_asset_materialization_events()
    }
    features = events["customer_features"].metadata
    table_rows = warehouse.execute("select count(*) from marts.customer_features").fetchone()[0]
    assert features["dagster/row_count"].value == table_rows
    columns = {column.name for column in features["dagster/column_schema"].schema.columns}
    assert {"recency_days", "frequency", "monetary", "bounce_rate", "avg_sentiment"} <= columns
    assert events["raw_orders"].metadata["dagster/row_count"].value > 0


def test_a_clean_run_passes_every_check(built_pipeline: BuiltPipeline) -> None:
    """dbt tests and Great Expectations gates alike: all green on clean (if dirty) demo data."""
    evaluations = built_pipeline.result.get_asset_check_evaluations()
    assert len(evaluations) > 100
    assert [e.check_name for e in evaluations if not e.passed] == []
    gates = {e.check_name for e in evaluations} & {"meets_raw_expectations", "valid_rows"}
    assert gates == {"meets_raw_expectations", "valid_rows"}


def test_no_warehouse_connection_is_left_open(built_pipeline: BuiltPipeline) -> None:
    """The run happened in this process; a writer must still be able to open the file."""
    with duckdb.connect(str(built_pipeline.settings.warehouse_path)) as conn:
        assert conn.execute("select count(*) from marts.dim_customers").fetchone()[0] > 0
