"""The data_checks API on a real DuckDB file with real Great Expectations validations."""

import dataclasses
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import great_expectations.expectations as gxe
import pytest

from data_checks.baseline import feature_columns, load_baseline, record_baseline
from data_checks.suites.customer_features import consistency_batch, valid_rows_batch
from data_checks.suites.raw import raw_batches, unvalidated_rows_with_sample
from data_checks.thresholds import Thresholds
from data_checks.validation import Batch, Validator


@pytest.fixture
def conn(tmp_path: Path):
    """A warehouse whose customer_features holds one row per kind of mistake."""
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    connection.execute("create schema marts")
    connection.execute(
        """
        create table marts.customer_features as
        select
            customer_id, as_of_date, recency_days, tenure_days, frequency,
            monetary::double as monetary,
            category_share_toys::double as category_share_toys,
            category_share_books::double as category_share_books,
            category_share_other::double as category_share_other,
            click_through_rate::double as click_through_rate
        from (values
            ('ok',        date '2024-06-30', 10, 100, 4, 250.0, 0.5, 0.5, 0.0, 0.2),
            ('rate_high', date '2024-06-30', 10, 100, 4, 250.0, 0.5, 0.5, 0.0, 1.7),
            ('recent',    date '2024-06-30', 90, 30,  2, 80.0,  0.5, 0.3, 0.0, 0.1),
            ('negative',  date '2024-06-30', 5,  40, -1, 10.0,  1.0, 0.0, 0.0, 0.0)
        ) as t(customer_id, as_of_date, recency_days, tenure_days, frequency, monetary,
               category_share_toys, category_share_books, category_share_other,
               click_through_rate)
        """
    )
    connection.execute(
        "create table marts.dim_customers as select customer_id from marts.customer_features"
    )
    yield connection
    connection.close()


def test_failures_name_table_column_expectation_and_offending_rows(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    validator = Validator(tmp_path / "quality")
    result = validator.validate(conn, [valid_rows_batch(feature_columns(conn), 4, Thresholds())])

    assert not result.success
    failed = {(f.columns[0], f.expectation) for f in result.failures}
    assert failed == {
        ("click_through_rate", "expect_column_values_to_be_between"),
        ("frequency", "expect_column_values_to_be_between"),
        ("tenure_days", "expect_column_pair_values_a_to_be_greater_than_b"),
        ("category_share_total", "expect_column_values_to_be_between"),
    }
    rate = next(f for f in result.failures if f.columns == ("click_through_rate",))
    assert (rate.unexpected_count, rate.element_count) == (1, 4)
    assert rate.sample.to_dict("records") == [
        {"click_through_rate": 1.7, "customer_id": "rate_high"}
    ]
    assert rate.keys == ("rate_high",)
    assert "marts.customer_features.click_through_rate" in rate.describe()
    assert "click_through_rate must be between 0 and 1 (expect_column_values_to_be_between)" in (
        result.summary()
    )
    assert result.main_docs_page.exists() and result.main_docs_page.suffix == ".html"
    assert (Validator.site_root(tmp_path / "quality") / "index.html").exists()


def test_data_docs_say_what_the_console_says_strict_bounds_included(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """A strict bound reads "> 0" in the Data Docs too (GX's own template drops a 0 bound)."""
    batch = Batch(
        suite="marts.customer_features.strict",
        table="marts.customer_features",
        query="select customer_id, frequency from marts.customer_features",
        expectations=[
            gxe.ExpectColumnValuesToBeBetween(column="frequency", min_value=0, strict_min=True)
        ],
        row_id="customer_id",
    )
    result = Validator(tmp_path / "q").validate(conn, [batch])
    (failure,) = result.failures
    assert failure.expected == "frequency must be > 0"
    assert "frequency must be > 0" in result.main_docs_page.read_text()


def test_a_lost_customer_fails_against_dim_customers(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    conn.execute("delete from marts.customer_features where customer_id <> 'ok'")
    conn.execute("delete from marts.dim_customers where customer_id = 'negative'")
    result = Validator(tmp_path / "q").validate(
        conn, [valid_rows_batch(feature_columns(conn), 3, Thresholds())]
    )
    (failure,) = result.failures
    assert failure.expectation == "expect_table_row_count_to_equal"
    assert failure.observed_value == 1


def test_consistency_with_the_recorded_baseline(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    thresholds = Thresholds(band_features=("monetary",))
    baseline = record_baseline(conn, thresholds.band_features)
    assert load_baseline(conn) == baseline
    assert (baseline.row_count, baseline.as_of_date) == (4, date(2024, 6, 30))
    assert baseline.means == {"monetary": pytest.approx(147.5)}
    validator = Validator(tmp_path / "q")
    batch = consistency_batch(feature_columns(conn), baseline, baseline.as_of_date, thresholds)
    assert validator.validate(conn, [batch]).success

    conn.execute(
        "update marts.customer_features set monetary = monetary * 10, frequency = 0 "
        "where customer_id = 'ok'"
    )
    result = validator.validate(conn, [batch])
    assert {(f.columns[0], f.expectation) for f in result.failures} == {
        ("monetary", "expect_column_mean_to_be_between"),
        ("frequency", "expect_column_pair_values_a_to_be_greater_than_b"),
    }

    earlier = consistency_batch(feature_columns(conn), baseline, date(2024, 1, 1), thresholds)
    assert "frequency" not in {f.columns[0] for f in validator.validate(conn, [earlier]).failures}


def test_thresholds_load_from_yaml_and_reject_unknown_names(tmp_path: Path) -> None:
    path = tmp_path / "quality.yml"
    path.write_text("row_count_band: 0.1\nmax_null_share_by_column: {avg_sentiment: 0.99}\n")
    thresholds = Thresholds.from_yaml(path)
    assert thresholds.row_count_band == 0.1
    assert thresholds.null_share_limit("avg_sentiment") == 0.99
    assert thresholds.null_share_limit("spend_trend") == Thresholds().null_share_limit(
        "spend_trend"
    )
    path.write_text("row_count_bandd: 0.1\n")
    with pytest.raises(ValueError, match=r"unknown threshold.*row_count_bandd"):
        Thresholds.from_yaml(path)


def test_validation_runs_in_duckdb_and_leaves_no_handle_on_the_warehouse(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """GX's queries run on a cursor of the caller's connection; once the validation returns,
    nothing of it holds the file, which dbt opens for writing next, from another process."""
    path = str(tmp_path / "warehouse.duckdb")
    rows = 54_321
    batch = Batch(
        suite="many.rows",
        table="many.rows",
        query=f"select range as n from range({rows})",
        expectations=[gxe.ExpectColumnValuesToNotBeNull(column="n")],
    )
    result = Validator(tmp_path / "quality").validate(conn, [batch])
    assert result.success and result.rows_validated == rows
    conn.close()

    writer = subprocess.run(
        [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", path],
        capture_output=True,
        text=True,
    )
    assert writer.returncode == 0, writer.stderr


def test_a_materialized_batch_finds_the_same_failures_and_rows(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Materializing a batch (once into a temporary table, for costly queries) changes only how
    often its query runs, not what its expectations see."""
    validator = Validator(tmp_path / "quality")
    batch = valid_rows_batch(feature_columns(conn), 4, Thresholds())

    def failures(materialize: bool) -> list[tuple]:
        result = validator.validate(conn, [dataclasses.replace(batch, materialize=materialize)])
        assert result.rows_validated == 4
        return [
            (f.columns, f.expectation, f.unexpected_count, f.sample.to_dict())
            for f in result.failures
        ]

    assert failures(materialize=False) == failures(materialize=True) != []


def test_raw_rows_sharing_a_key_fail_on_a_first_load_and_on_a_daily_sample(
    tmp_path: Path,
) -> None:
    """Each row whose key is on another row counts, with the key and its number of rows in the
    sample; a daily validation counts them among the newest rows and the sample of older ones."""
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    conn.execute("create schema raw")
    conn.execute(
        """
        create table raw.customers as
        select customer_id, timestamptz '2024-06-01 00:00:00+00' as signup_at,
            cast(loaded_at as timestamptz) as _loaded_at
        from (values
            ('a', '2024-06-02'), ('b', '2024-06-02'), ('c', '2024-06-02'), ('d', '2024-06-02'),
            ('e', '2024-06-03'), ('e', '2024-06-03'), ('f', '2024-06-03'), ('f', '2024-06-03'),
            ('f', '2024-06-03')
        ) as t(customer_id, loaded_at)
        """
    )
    contract = {"customer_id": "VARCHAR", "signup_at": "TIMESTAMP WITH TIME ZONE"}
    strict = Thresholds(max_duplicate_key_share=0.1)
    validator = Validator(tmp_path / "quality")

    def shared_keys(rows: str | None) -> tuple[int | None, int | None, list[dict]]:
        result = validator.validate(conn, raw_batches("customers", contract, strict, rows))
        (failure,) = result.failures
        assert failure.columns == ("rows_with_same_customer_id",)
        sample = failure.sample.sort_values("customer_id").to_dict("records")
        return failure.unexpected_count, failure.element_count, sample

    shared = [
        {"customer_id": "e", "rows_with_same_customer_id": 2},
        {"customer_id": "e", "rows_with_same_customer_id": 2},
        {"customer_id": "f", "rows_with_same_customer_id": 3},
        {"customer_id": "f", "rows_with_same_customer_id": 3},
        {"customer_id": "f", "rows_with_same_customer_id": 3},
    ]
    assert shared_keys(None) == (5, 9, shared)
    daily = unvalidated_rows_with_sample(
        "customers", "_loaded_at = '2024-06-03 00:00:00+00'", sample_rows=2
    )
    assert shared_keys(daily) == (5, 7, shared)
    conn.close()
