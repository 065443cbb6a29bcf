"""`segments.prediction_runs`: one row per prediction model trained (kind clv or propensity),
with its parameters, its holdout evaluation, why the published propensity uses the model it
uses, and whether it became the current model."""

import json
from datetime import UTC, date, datetime

import duckdb
import pandas as pd

from dagster_project.lib.names import PREDICTION_RUNS, SEGMENTS_SCHEMA
from dagster_project.lib.segment_store.reads import table_exists
from ml.prediction_holdout import BGNBD, PUBLISHED, HoldoutReport
from ml.predictions import PredictionModels

TABLE = f"{SEGMENTS_SCHEMA}.{PREDICTION_RUNS}"
HEADLINE_METRICS = (
    "roc_auc",
    "pr_auc",
    "top_decile_lift",
    "top_decile_buyers_share",
    "brier",
    "calibration_error",
)


def prediction_run_rows(
    models: PredictionModels,
    report: HoldoutReport,
    as_of_date: date,
    cutoff: date,
    promoted: bool,
) -> pd.DataFrame:
    """The clv row carries BG/NBD's holdout metrics (its probability of a purchase, on the
    customers with one) and the CLV intervals' coverage; the propensity row the published score's
    metrics on every customer, and the whole comparison."""
    metrics = report.metrics.set_index(["score", "customers_scored"])
    shared = {
        "model_version": models.version,
        "trained_at": datetime.now(UTC).replace(tzinfo=None),
        "as_of_date": as_of_date,
        "cutoff_date": cutoff,
        "horizon_days": models.horizon_days,
        "promoted": promoted,
    }
    clv = {
        **shared,
        "kind": "clv",
        "customers": models.clv.fitted_customers,
        "parameters": _json(models.clv.parameters()),
        **metrics.loc[(BGNBD, "with_purchase"), list(HEADLINE_METRICS)].to_dict(),
        "interval_coverage": report.clv_checks["interval_coverage"],
        "holdout_metrics": _json(
            {**report.clv_checks, "parameters_at_cutoff": report.clv_at_cutoff.parameters()}
        ),
        "chosen_because": "",
    }
    propensity = {
        **shared,
        "kind": "propensity",
        "customers": models.propensity.trained_rows,
        "parameters": _json(
            {
                "chosen": models.chosen,
                "features": list(models.propensity.features),
                "buyer_share": models.propensity.buyer_share,
            }
        ),
        **metrics.loc[(PUBLISHED, "all"), list(HEADLINE_METRICS)].to_dict(),
        "interval_coverage": None,
        "holdout_metrics": report.metrics.to_json(orient="records"),
        "chosen_because": report.chosen_because,
    }
    return pd.DataFrame([clv, propensity])


def record_prediction_runs(conn: duckdb.DuckDBPyConnection, runs: pd.DataFrame) -> None:
    conn.register("new_runs", runs)
    try:
        if table_exists(conn, PREDICTION_RUNS):
            conn.execute(f"insert into {TABLE} by name select * from new_runs")
        else:
            conn.execute(f"create schema if not exists {SEGMENTS_SCHEMA}")
            conn.execute(f"create table {TABLE} as select * from new_runs")
    finally:
        conn.unregister("new_runs")


def _json(values: dict) -> str:
    return json.dumps(values, sort_keys=True, default=float)
