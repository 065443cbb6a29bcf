"""Bad inputs stop at the intended blocking check: a good run, then one corruption per run.

Each corruption is applied to a copy of the good run's landing folder and warehouse, and the full
job runs again. The intended check (and only it) fails with a message naming the table, column and
expectation; nothing downstream of it is materialized; the validated baseline is unchanged.
"""

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance, ExecuteInProcessResult

from dagster_project import run as dagster_run
from dagster_project.defs.segmentation import PUBLISHED_TABLES
from dagster_project.lib.settings import Settings
from dagster_project.run import run_job
from demo_data.generate import DemoSpec, generate
from tests.conftest import settings_for

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast

AS_OF = date(2026, 11, 20)
RAW_CHECK = "meets_raw_expectations"
SEGMENTATION = {"segmentation_model", *PUBLISHED_TABLES}
DOWNSTREAM_OF_FEATURES = {"customer_features_baseline", *SEGMENTATION}
DOWNSTREAM_OF_RAW = {"customer_features", "dim_customers", *DOWNSTREAM_OF_FEATURES}


def run(settings: Settings) -> ExecuteInProcessResult:
    with DagsterInstance.ephemeral() as instance:
        return run_job(settings, instance)


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("good_run")
    generate(DemoSpec(customers=500, seed=21, end_date=AS_OF), root / "landing")
    settings = settings_for(root, root / "landing", as_of=AS_OF)
    result = run(settings)
    assert result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert not failed, "a clean run must pass every check"
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized >= SEGMENTATION
    return settings


def baseline_fingerprint(settings: Settings) -> tuple:
    """Row count and content hash of the validated baseline and of every published segment
    table, plus the current model version: none of them may change when a gate fails."""
    tables = [
        f"quality.{table}"
        for table in ("customer_features_baseline", "customer_frequency_baseline")
    ] + [f"segments.{table}" for table in PUBLISHED_TABLES]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        contents = tuple(
            conn.execute(f"select count(*), sum(hash(t)) from {table} as t").fetchone()
            for table in tables
        )
    return (*contents, (settings.models_dir / "current").read_text())


def frame(settings: Settings, source: str) -> tuple[Path, pd.DataFrame]:
    (path,) = (settings.landing_dir / source).glob("*.parquet")
    return path, pd.read_parquet(path)


def rewrite(
    settings: Settings, source: str, change: Callable[[pd.DataFrame], pd.DataFrame]
) -> None:
    path, rows = frame(settings, source)
    change(rows).to_parquet(path)


# Corruptions: each changes the landing folder of a copy of the good run.


def duplicate_customer_ids(settings: Settings) -> None:
    def change(customers: pd.DataFrame) -> pd.DataFrame:
        copies = customers.dropna(subset=["customer_id"]).iloc[::4].copy()
        copies["email"] = "copy." + copies["email"].str.strip()
        return pd.concat([customers, copies])

    rewrite(settings, "customers", change)


def drop_orders(settings: Settings, order_ids: set[str]) -> None:
    """Orders vanish with their lines, leaving no orphans behind."""
    rewrite(settings, "orders", lambda rows: rows[~rows["order_id"].isin(order_ids)])
    rewrite(settings, "order_items", lambda rows: rows[~rows["order_id"].isin(order_ids)])


def vanish_one_customers_orders(settings: Settings) -> None:
    _, orders = frame(settings, "orders")
    completed = orders[orders["status"] == "completed"].dropna(subset=["customer_id"])
    customer = completed["customer_id"].value_counts().index[0]
    drop_orders(settings, set(orders.loc[orders["customer_id"] == customer, "order_id"]))


def negative_prices(settings: Settings) -> None:
    def change(items: pd.DataFrame) -> pd.DataFrame:
        items.loc[items.index[[3, 40, 77]], "unit_price"] = -9.99
        return items

    rewrite(settings, "order_items", change)


def more_clicks_than_sends(settings: Settings) -> None:
    """A tenth of the customers clicked campaigns that were never sent to them."""

    def change(events: pd.DataFrame) -> pd.DataFrame:
        sends = (
            events[events["event_type"] == "send"].groupby("customer_id")["campaign_id"].nunique()
        )
        clicks = [
            {
                "event_id": f"X{customer}-{n}",
                "customer_id": customer,
                "campaign_id": f"CMP-NEVER-SENT-{n}",
                "channel": "email",
                "event_type": "click",
                "event_at": pd.Timestamp(AS_OF - timedelta(days=3), tz="UTC"),
            }
            for customer, sent in sends.iloc[::10].items()
            for n in range(sent + 1)
        ]
        return pd.concat([events, pd.DataFrame(clicks)])

    rewrite(settings, "campaign_events", change)


def timestamp_ten_years_ahead(settings: Settings) -> None:
    def change(orders: pd.DataFrame) -> pd.DataFrame:
        orders.loc[orders.index[7], "ordered_at"] = pd.Timestamp(
            datetime.now(UTC) + timedelta(days=3650)
        )
        return orders

    rewrite(settings, "orders", change)


def unknown_order_status(settings: Settings) -> None:
    def change(orders: pd.DataFrame) -> pd.DataFrame:
        orders.loc[orders.index[:5], "status"] = "refunded"
        return orders

    rewrite(settings, "orders", change)


def key_column_full_of_nulls(settings: Settings) -> None:
    def change(orders: pd.DataFrame) -> pd.DataFrame:
        orders["customer_id"] = None
        return orders.astype({"customer_id": "str"})

    rewrite(settings, "orders", change)


def comment_texts_full_of_nulls(settings: Settings) -> None:
    def change(interactions: pd.DataFrame) -> pd.DataFrame:
        interactions["text"] = pd.Series([None] * len(interactions), dtype="str")
        return interactions

    rewrite(settings, "social_interactions", change)


def a_third_of_the_customers(settings: Settings) -> None:
    """Every third customer disappears from every source, consistently (less than the share a
    load may remove without confirmation, so the consistency gate is what stops it)."""
    _, customers = frame(settings, "customers")
    ids = customers["customer_id"].dropna().drop_duplicates().sort_values()
    gone = set(ids.iloc[::3])
    _, orders = frame(settings, "orders")
    drop_orders(settings, set(orders.loc[orders["customer_id"].isin(gone), "order_id"]))
    for source in ("customers", "web_events", "campaign_events", "social_interactions"):
        rewrite(settings, source, lambda rows: rows[~rows["customer_id"].isin(gone)])


def order_values_times_ten(settings: Settings) -> None:
    def change(items: pd.DataFrame) -> pd.DataFrame:
        items["unit_price"] = items["unit_price"] * 10
        return items

    rewrite(settings, "order_items", change)


@dataclass(frozen=True)
class Case:
    corrupt: Callable[[Settings], None]
    failing_check: tuple[str, str]  # (asset, check)
    message: tuple[str, ...]  # fragments naming table, column and expectation
    downstream: set[str]


CASES = [
    Case(
        duplicate_customer_ids,
        ("raw_customers", RAW_CHECK),
        ("raw.customers.rows_with_same_customer_id", "expect_column_values_to_be_between"),
        DOWNSTREAM_OF_RAW,
    ),
    Case(
        vanish_one_customers_orders,
        ("customer_features", "consistent_with_last_validated_run"),
        ("marts.customer_features.frequency", "expect_column_pair_values_a_to_be_greater_than_b"),
        DOWNSTREAM_OF_FEATURES,
    ),
    Case(
        negative_prices,
        ("raw_order_items", RAW_CHECK),
        ("raw.order_items.unit_price", "expect_column_values_to_be_between", "3 of"),
        DOWNSTREAM_OF_RAW,
    ),
    Case(
        more_clicks_than_sends,
        ("raw_campaign_events", RAW_CHECK),
        ("raw.campaign_events.campaigns_sent (with campaigns_clicked)", "a_to_be_greater_than_b"),
        DOWNSTREAM_OF_RAW,
    ),
    Case(
        timestamp_ten_years_ahead,
        ("raw_orders", RAW_CHECK),
        ("raw.orders.ordered_at_hours_after_load", "expect_column_values_to_be_between", "1 of"),
        DOWNSTREAM_OF_RAW,
    ),
    Case(
        unknown_order_status,
        ("raw_orders", RAW_CHECK),
        ("raw.orders.status", "expect_column_values_to_be_in_set", "5 of"),
        DOWNSTREAM_OF_RAW,
    ),
    Case(
        key_column_full_of_nulls,
        ("raw_orders", RAW_CHECK),
        ("raw.orders.customer_id", "expect_column_values_to_not_be_null"),
        DOWNSTREAM_OF_RAW,
    ),
    Case(
        comment_texts_full_of_nulls,
        ("customer_features", "valid_rows"),
        ("marts.customer_features.avg_sentiment", "expect_column_values_to_not_be_null"),
        DOWNSTREAM_OF_FEATURES,
    ),
    Case(
        a_third_of_the_customers,
        ("customer_features", "consistent_with_last_validated_run"),
        ("marts.customer_features", "expect_table_row_count_to_be_between"),
        DOWNSTREAM_OF_FEATURES,
    ),
    Case(
        order_values_times_ten,
        ("customer_features", "consistent_with_last_validated_run"),
        ("marts.customer_features.avg_order_value", "expect_column_mean_to_be_between"),
        DOWNSTREAM_OF_FEATURES,
    ),
]


@pytest.fixture
def copy_of_good_run(good_run: Settings, tmp_path: Path) -> Settings:
    shutil.copytree(good_run.landing_dir, tmp_path / "landing")
    shutil.copytree(good_run.warehouse_path.parent, tmp_path / "warehouse")
    return settings_for(tmp_path, tmp_path / "landing", as_of=AS_OF)


@pytest.mark.parametrize("case", CASES, ids=[case.corrupt.__name__ for case in CASES])
def test_corruption_stops_at_the_intended_check(case: Case, copy_of_good_run: Settings) -> None:
    settings = copy_of_good_run
    before = baseline_fingerprint(settings)
    case.corrupt(settings)

    result = run(settings)

    assert not result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [(e.asset_key.to_user_string(), e.check_name) for e in failed] == [case.failing_check]
    (evaluation,) = failed
    for fragment in case.message:
        assert fragment in evaluation.description
    assert evaluation.metadata["failed expectations"].value >= 1
    assert "❌" in evaluation.metadata["expectations"].value
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert not materialized & case.downstream
    assert baseline_fingerprint(settings) == before


def test_an_empty_source_file_stops_at_the_loader(copy_of_good_run: Settings) -> None:
    """An empty file never reaches the raw checks: the loader's contract check refuses it."""
    settings = copy_of_good_run
    before = baseline_fingerprint(settings)
    rewrite(settings, "orders", lambda orders: orders.head(0))

    result = run(settings)

    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "load_landing_files"
    assert "the file has no rows" in failure.step_failure_data.user_failure_data.description
    assert not result.get_asset_materialization_events()
    assert baseline_fingerprint(settings) == before


def test_a_stopped_run_explains_the_failed_expectation_on_the_console(
    copy_of_good_run: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`make run` on an export whose order lines include prices of 0: its last lines name the
    table, the expectation in words (a strict bound: "> 0"), the column, the count, the
    offending keys and the Data Docs page."""
    settings = copy_of_good_run
    path, items = frame(settings, "order_items")
    zero = items.index[[5, 50, 500]]
    items.loc[zero, "unit_price"] = 0.0
    items.to_parquet(path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("SEG_WAREHOUSE_PATH", str(settings.warehouse_path))
    monkeypatch.setenv("SEG_LANDING_DIR", str(settings.landing_dir))
    monkeypatch.setenv("SEG_LANDING_SETTLE_SECONDS", "0")
    monkeypatch.setenv("SEG_AS_OF_DATE", settings.as_of_date)

    assert dagster_run.main([]) == 1

    report = capsys.readouterr().err.split("Run ")[-1]
    assert "Stopped by 1 failed data-quality check(s):" in report
    assert "raw_order_items / meets_raw_expectations" in report
    assert "raw.order_items: unit_price must be > 0: 3 of " in report
    assert "column: unit_price; offending keys: " in report
    for order_id in items.loc[zero, "order_id"]:
        assert order_id in report
    (docs,) = [line.split("Data Docs: ")[1] for line in report.splitlines() if "Data Docs" in line]
    assert "unit_price must be > 0" in Path(docs).read_text()  # GX writes the text as given
