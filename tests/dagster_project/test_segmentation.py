"""Segmentation on demo data: published tables, reloadable model, reproducible idempotent runs."""

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from dagster_project.defs.segmentation import PUBLISHED_TABLES
from dagster_project.lib.settings import Settings
from dagster_project.run import run_job
from ml.config import SegmentationConfig
from ml.model import SegmentationModel
from tests.conftest import BuiltPipeline, settings_for

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast

PERSONAL_DATA = {"email", "email_hash", "full_name", "phone", "phone_hash", "city", "birth_date"}


def test_every_customer_has_one_named_segment(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows, customers, named, features = warehouse.execute(
        "select count(*), count(distinct customer_id), count(segment_name), "
        "(select count(*) from marts.customer_features) from segments.customer_segments"
    ).fetchone()
    assert rows == customers == named == features
    assert warehouse.execute(
        "select min(membership_probability) >= 0 and max(membership_probability) <= 1 "
        "from segments.customer_segments"
    ).fetchone()[0]


def test_segment_tables_follow_the_published_contract(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    def columns(table: str) -> set[str]:
        return {row[0] for row in warehouse.execute(f"describe segments.{table}").fetchall()}

    assert columns("customer_segments") == {
        "customer_id",
        "segment_id",
        "segment_name",
        "membership_probability",
        "model_version",
        "as_of_date",
        "assigned_at",
    }
    assert columns("segment_history") == {
        "customer_id",
        "segment_id",
        "valid_from",
        "valid_to",
        "closed_because",
    }
    assert columns("segment_transitions") == {
        "as_of_date",
        "from_segment_id",
        "to_segment_id",
        "customers",
    }
    assert {"model_version", "segment_name", "description", "customers", "share"} <= columns(
        "segment_profiles"
    )
    assert {"mean_monetary", "lift_monetary"} <= columns("segment_profiles")
    assert {"silhouette", "stability_ari", "explainer_f1", "data_fingerprint"} <= columns(
        "model_runs"
    )
    for table in PUBLISHED_TABLES:
        assert not columns(table) & PERSONAL_DATA, table


def test_profiles_describe_every_segment(warehouse: duckdb.DuckDBPyConnection) -> None:
    profiles = warehouse.execute("select * from segments.segment_profiles").df()
    assert profiles["segment_name"].is_unique
    assert profiles["description"].str.startswith("Stands out on").all()
    assert profiles["share"].sum() == pytest.approx(1.0)
    counted = warehouse.execute(
        "select segment_id, count(*) from segments.customer_segments group by 1"
    ).fetchall()
    assert dict(counted) == dict(zip(profiles["segment_id"], profiles["customers"], strict=True))


def test_every_word_of_a_name_has_its_effect_in_the_profiles(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    profiles = warehouse.execute(
        "select segment_name, name_evidence from segments.segment_profiles"
    ).fetchall()
    for name, evidence in profiles:
        words = [word.strip().lower() for word in name.rstrip("0123456789 ").split(",")]
        supported = {item["phrase"].lower(): item for item in json.loads(evidence)}
        if words == ["typical customers"]:
            assert not supported, name
            continue
        assert set(words) == set(supported), name
        for item in supported.values():
            assert abs(item["effect"]) >= SegmentationConfig().min_name_effect, name
            percentile = item["population_percentile"]
            assert percentile >= 0.75 if item["effect"] > 0 else percentile <= 0.25, name


def test_the_backtest_measures_segments_beside_the_rfm_cells(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    rows = warehouse.execute(
        "select grouping, measure, eta_squared, customers, cutoff_date, "
        "(select max(as_of_date) from marts.customer_features) - cutoff_date "
        "from segments.backtests"
    ).fetchall()
    assert {(grouping, measure) for grouping, measure, *_ in rows} == {
        (grouping, measure)
        for grouping in ("segments", "rfm")
        for measure in ("purchases", "spend", "any_purchase")
    }
    assert all(0 <= eta <= 1 for _, _, eta, *_ in rows)
    assert {days for *_, days in rows} == {SegmentationConfig().backtest_horizon_days}
    (known_then,) = warehouse.execute("select count(*) from pit_marts.customer_features").fetchone()
    assert {customers for _, _, _, customers, *_ in rows} == {known_then}


def test_the_unbiased_demo_passes_the_fairness_audit(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    """The demo draws demographics independently of behaviour: nothing may be flagged."""
    rows, flagged, attributes = warehouse.execute(
        "select count(*), count(*) filter (where flagged), count(distinct attribute) "
        "from segments.fairness_audit"
    ).fetchone()
    assert rows > 0 and attributes == 3
    assert flagged == 0


def test_demographics_are_profiled_per_segment(warehouse: duckdb.DuckDBPyConnection) -> None:
    demographics = warehouse.execute("select * from segments.segment_demographics").df()
    assert set(demographics["attribute"]) == {"age_band", "gender", "country"}
    sums = demographics.groupby(["segment_id", "attribute"])["share_in_segment"].sum()
    assert sums.to_numpy() == pytest.approx(1.0)
    sizes = demographics.groupby(["segment_id", "attribute"])["customers"].sum()
    counted = dict(
        warehouse.execute(
            "select segment_id, count(*) from segments.customer_segments group by 1"
        ).fetchall()
    )
    for (segment_id, _), customers in sizes.items():
        assert customers == counted[segment_id]
    (explainer_f1,) = warehouse.execute("select explainer_f1 from segments.model_runs").fetchone()
    assert explainer_f1 > 0.8


def test_history_and_transitions_start_with_everyone(warehouse: duckdb.DuckDBPyConnection) -> None:
    open_rows, closed_rows = warehouse.execute(
        "select count(*) filter (valid_to is null), count(valid_to) from segments.segment_history"
    ).fetchone()
    (arrivals,) = warehouse.execute(
        "select sum(customers) from segments.segment_transitions where from_segment_id is null"
    ).fetchone()
    (customers,) = warehouse.execute("select count(*) from segments.customer_segments").fetchone()
    assert open_rows == arrivals == customers and closed_rows == 0


def test_rfm_baseline_scores_every_customer(warehouse: duckdb.DuckDBPyConnection) -> None:
    scores, cells = warehouse.execute(
        "select count(*) filter (recency_score between 1 and 5 and monetary_score between 1 and 5),"
        " count(distinct rfm_segment) from segments.rfm_segments"
    ).fetchone()
    (customers,) = warehouse.execute("select count(*) from marts.customer_features").fetchone()
    assert scores == customers and cells >= 5


def test_the_saved_model_reassigns_without_retraining(built_pipeline: BuiltPipeline) -> None:
    settings = built_pipeline.settings
    model_dir = settings.models_dir / (settings.models_dir / "current").read_text()
    model = SegmentationModel.load(model_dir)
    with built_pipeline.connect() as conn:
        features = conn.execute("select * from marts.customer_features order by customer_id").df()
        published = conn.execute(
            "select segment_id from segments.customer_segments order by customer_id"
        ).df()
    assert (model.assign(features)["segment_id"].to_numpy() == published["segment_id"]).all()


@pytest.fixture
def copy_of_pipeline(built_pipeline: BuiltPipeline, tmp_path: Path) -> Settings:
    assert built_pipeline.result.success
    shutil.copytree(built_pipeline.settings.warehouse_path.parent, tmp_path / "warehouse")
    return settings_for(tmp_path, built_pipeline.settings.landing_dir, predictions=True)


def _every_published_table(settings: Settings) -> dict[str, list[tuple]]:
    """Every row of every table of schema segments, in a fixed order."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "select table_name from duckdb_tables() where schema_name = 'segments'"
            ).fetchall()
        ]
        return {
            name: conn.execute(f"select * from segments.{name} order by all").fetchall()
            for name in tables
        }


def test_unchanged_data_publishes_identical_tables_run_after_run(
    copy_of_pipeline: Settings,
) -> None:
    """The session's first full run, then two more on the same data: the model is reused (no new
    version), and every published table is equal to the first run's, value for value."""
    first = _every_published_table(copy_of_pipeline)
    versions = sorted(path.name for path in copy_of_pipeline.models_dir.iterdir())
    with DagsterInstance.ephemeral() as instance:
        for _ in range(2):
            result = run_job(copy_of_pipeline, instance)
            assert result.success
            (reused,) = {
                e.materialization.metadata["reused_because"].value
                for e in result.get_asset_materialization_events()
                if e.asset_key.to_user_string() == "segmentation_model"
            }
            assert reused.startswith("reused model")
            assert _every_published_table(copy_of_pipeline) == first
    assert sorted(path.name for path in copy_of_pipeline.models_dir.iterdir()) == versions
