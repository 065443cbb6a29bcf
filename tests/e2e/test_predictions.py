"""Predictions end to end on the demo: the full refresh trains both models on a time holdout,
judges them and publishes customer_predictions with the snapshot; the daily refresh re-scores
with the same models; a model below the holdout floor publishes nothing."""

import dataclasses
import json
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance

from dagster_project.lib.settings import Settings
from dagster_project.run import run_job
from tests.conftest import AS_OF, BuiltPipeline

pytestmark = pytest.mark.slow  # real dbt builds and Dagster runs: left out of make test-fast

HORIZON = timedelta(days=90)


def check_results(result) -> dict[str, bool]:
    return {
        evaluation.check_name: evaluation.passed
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.asset_key.to_user_string() in ("clv_model", "purchase_propensity_model")
    }


def test_the_models_are_judged_on_the_last_horizon_and_the_better_ranking_scores(
    built_pipeline: BuiltPipeline,
) -> None:
    assert built_pipeline.result.success
    assert check_results(built_pipeline.result) == {
        "parameters_in_range": True,
        "holdout_roc_auc_above_floor": True,
    }
    with built_pipeline.connect() as conn:
        runs = conn.execute("select * from segments.prediction_runs order by kind").df()
    assert list(runs["kind"]) == ["clv", "propensity"] and runs["promoted"].all()
    assert (runs["cutoff_date"].dt.date == AS_OF - HORIZON).all()
    assert (runs["as_of_date"].dt.date == AS_OF).all()
    clv = json.loads(runs["parameters"].iat[0])
    assert set(clv) == {"r", "alpha", "a", "b", "p", "q", "gamma"}
    metrics = pd.DataFrame(json.loads(runs["holdout_metrics"].iat[1])).set_index(
        ["score", "customers_scored"]
    )
    # On the same customers, the better ranking of later buyers scores them. (On these 600
    # customers BG/NBD's structure wins; on the 20,000 of make run and on Online Retail the
    # classifier does: docs/predictions.md.)
    classifier = metrics.loc[("classifier", "with_purchase"), "roc_auc"]
    baseline = metrics.loc[("bgnbd", "with_purchase"), "roc_auc"]
    chosen = json.loads(runs["parameters"].iat[1])["chosen"]
    assert chosen == ("classifier" if classifier >= baseline else "bgnbd")
    published = metrics.loc[("purchase_propensity", "all")]
    assert published["roc_auc"] >= metrics.loc[("classifier", "all"), "roc_auc"] - 0.005
    assert published["roc_auc"] == pytest.approx(runs["roc_auc"].iat[1])
    assert published["calibration_error"] < 0.1
    coverage = json.loads(runs["holdout_metrics"].iat[0])
    assert 0.7 <= coverage["interval_coverage"] <= 0.95


def test_every_profiled_customer_is_predicted_and_served(built_pipeline: BuiltPipeline) -> None:
    with built_pipeline.connect() as conn:
        features = conn.execute(
            "select customer_id, frequency from marts.customer_features order by customer_id"
        ).df()
        predictions = conn.execute(
            "select * from segments.customer_predictions order by customer_id"
        ).df()
        profiles = conn.execute(
            "select p.segment_id, p.mean_clv, p.mean_purchase_propensity, "
            "avg(c.clv) as clv, avg(c.purchase_propensity) as propensity "
            "from segments.segment_profiles as p "
            "join segments.customer_segments as s using (segment_id) "
            "join segments.customer_predictions as c using (customer_id) "
            "group by all"
        ).df()
    assert list(predictions["customer_id"]) == list(features["customer_id"])
    bought = features["frequency"].to_numpy() > 0
    assert (predictions["p_alive"].notna().to_numpy() == bought).all()
    buyers = predictions[bought]
    assert (buyers["clv_low"] <= buyers["clv_high"]).all() and (buyers["clv_low"] >= 0).all()
    assert buyers["p_alive"].between(0, 1).all() and (buyers["clv"] > 0).all()
    assert predictions["purchase_propensity"].between(0, 1).all()
    np.testing.assert_allclose(buyers["churn_risk"], 1 - buyers["purchase_propensity"])
    assert predictions.loc[~bought, "churn_risk"].isna().all()
    assert (predictions["horizon_days"] == HORIZON.days).all()
    np.testing.assert_allclose(profiles["mean_clv"], profiles["clv"])
    np.testing.assert_allclose(profiles["mean_purchase_propensity"], profiles["propensity"])

    with duckdb.connect(str(built_pipeline.settings.snapshot_path), read_only=True) as snapshot:
        served = snapshot.execute(
            "select count(*), count(clv_low) from segments.customer_predictions"
        ).fetchone()
    assert served == (len(features), int(bought.sum()))


def test_the_daily_refresh_rescores_with_the_same_models(copy_of_pipeline: Settings) -> None:
    with duckdb_connect(copy_of_pipeline) as conn:
        (version,) = conn.execute(
            "select distinct model_version from segments.customer_predictions"
        ).fetchone()
    next_day = dataclasses.replace(
        copy_of_pipeline, as_of_date=(AS_OF + timedelta(days=1)).isoformat()
    )
    with DagsterInstance.ephemeral() as instance:
        result = run_job(next_day, instance, "daily_refresh")
    assert result.success
    with duckdb_connect(copy_of_pipeline) as conn:
        versions = conn.execute(
            "select distinct model_version, as_of_date from segments.customer_predictions"
        ).fetchall()
        history = conn.execute(
            "select as_of_date, count(*) from segments.prediction_history group by all order by 1"
        ).fetchall()
        runs = conn.execute("select count(*) from segments.prediction_runs").fetchone()[0]
    assert [(v, d.isoformat()) for v, d in versions] == [(version, next_day.as_of_date)]
    assert [day.isoformat() for day, _ in history] == [AS_OF.isoformat(), next_day.as_of_date]
    assert runs == 2  # nothing retrained


def test_a_model_below_the_floor_publishes_nothing(copy_of_pipeline: Settings) -> None:
    """The floor raised above what the current models reached on their holdout: the blocking
    check fails, so neither predictions nor a snapshot are published, and what was served stays."""
    before = published_predictions(copy_of_pipeline)
    strict = dataclasses.replace(copy_of_pipeline, propensity_min_roc_auc=1.0)
    with DagsterInstance.ephemeral() as instance:
        result = run_job(strict, instance)
    assert not result.success
    assert check_results(result)["holdout_roc_auc_above_floor"] is False
    materialized = {
        event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
    }
    assert not {"customer_predictions", "serving_snapshot"} & materialized
    assert published_predictions(copy_of_pipeline) == before


def duckdb_connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(settings.warehouse_path), read_only=True)


def published_predictions(settings: Settings) -> tuple:
    with duckdb.connect(str(settings.snapshot_path), read_only=True) as snapshot:
        return snapshot.execute(
            "select model_version, as_of_date, count(*), sum(clv) "
            "from segments.customer_predictions group by all"
        ).fetchone()


def test_unchanged_inputs_reuse_the_models_and_switched_off_nothing_is_served(
    copy_of_pipeline: Settings,
) -> None:
    """A full refresh on the same data trains nothing and publishes the same predictions; the
    daily refresh after predictions are switched off serves none."""
    before = published_predictions(copy_of_pipeline)
    with DagsterInstance.ephemeral() as instance:
        result = run_job(copy_of_pipeline, instance)
    assert result.success
    assert check_results(result) == {
        "parameters_in_range": True,
        "holdout_roc_auc_above_floor": True,
    }
    reused = [
        event.materialization.metadata["reused_because"].value
        for event in result.get_asset_materialization_events()
        if event.asset_key.to_user_string() == "clv_model"
    ]
    assert reused and reused[0].startswith("reused ")
    with duckdb_connect(copy_of_pipeline) as conn:
        runs = conn.execute("select count(*) from segments.prediction_runs").fetchone()[0]
    assert runs == 2
    assert published_predictions(copy_of_pipeline) == before

    # The example audiences compare predictions: without them, such a file is refused.
    off = dataclasses.replace(copy_of_pipeline, predictions=False, audiences_config=None)
    with DagsterInstance.ephemeral() as instance:
        result = run_job(off, instance, "daily_refresh")
    assert result.success and not check_results(result)
    for path in (off.warehouse_path, off.snapshot_path):
        with duckdb.connect(str(path), read_only=True) as conn:
            tables = {
                name
                for (name,) in conn.execute("select table_name from duckdb_tables()").fetchall()
            }
        assert not {"customer_predictions", "prediction_history"} & tables, path
