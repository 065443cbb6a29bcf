"""Segmentation on demo data: published tables, reloadable model, reproducible idempotent runs."""

import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, materialize
from sklearn.metrics import adjusted_rand_score

from dagster_project.defs.resources import build_resources
from dagster_project.defs.segmentation import PUBLISHED_TABLES, segment_tables, segmentation_model
from dagster_project.lib.settings import Settings
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
        "select min(confidence) > 0 and max(confidence) <= 1 from segments.customer_segments"
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
        "confidence",
        "model_version",
        "as_of_date",
        "assigned_at",
    }
    assert columns("segment_history") == {"customer_id", "segment_id", "valid_from", "valid_to"}
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
    assert profiles["description"].str.contains("of customers").all()
    assert profiles["share"].sum() == pytest.approx(1.0)
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
    return settings_for(tmp_path, built_pipeline.settings.landing_dir)


def _published(settings: Settings) -> dict:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return {
            "assignments": conn.execute(
                "select customer_id, segment_id, segment_name from segments.customer_segments "
                "order by customer_id"
            ).df(),
            "history": conn.execute("select * from segments.segment_history order by all").df(),
            "transitions": conn.execute(
                "select * from segments.segment_transitions order by all"
            ).df(),
            "runs": conn.execute(
                "select algorithm, params, chosen_because from segments.model_runs "
                "order by trained_at"
            ).df(),
        }


def test_retraining_on_unchanged_data_reproduces_model_ids_and_assignments(
    copy_of_pipeline: Settings,
) -> None:
    before = _published(copy_of_pipeline)
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [segmentation_model, segment_tables],
            resources=build_resources(copy_of_pipeline),
            instance=instance,
        )
    assert result.success
    after = _published(copy_of_pipeline)
    assert after["assignments"].equals(before["assignments"])
    assert (
        adjusted_rand_score(before["assignments"]["segment_id"], after["assignments"]["segment_id"])
        == 1.0
    )
    assert after["runs"]["algorithm"].nunique() == 1 and len(after["runs"]) == 2
    assert after["runs"]["chosen_because"].iat[1].startswith("kept the previous model's segments")
    (stability,) = {
        e.materialization.metadata["stability_ari_vs_previous"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "segmentation_model"
    }
    assert stability == 1.0
    # Publishing the same date again changes no history: a re-run is idempotent.
    assert after["history"].equals(before["history"])
    assert after["transitions"].equals(before["transitions"])
