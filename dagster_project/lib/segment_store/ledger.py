"""The ledger tables of schema segments: what was scored when and with which model
(`scoring_runs`), how far each feature drifted (`feature_drift`), and every published model
(`model_runs`). Also the in-place upgrades of warehouses created by earlier releases."""

import json
from datetime import date

import duckdb
import pandas as pd

from dagster_project.lib.names import (
    FEATURE_DRIFT,
    MODEL_RUNS,
    SCORING_RUNS,
    SEGMENT_TRANSITIONS,
    SEGMENTS_SCHEMA,
)
from dagster_project.lib.segment_store.reads import UNKNOWN_MODEL
from ml.model import SegmentationModel
from ml.scoring import Scored

SCORED = f"{SEGMENTS_SCHEMA}.{SCORING_RUNS}"
DRIFT = f"{SEGMENTS_SCHEMA}.{FEATURE_DRIFT}"
MODELS = f"{SEGMENTS_SCHEMA}.{MODEL_RUNS}"

MODEL_RUN_COLUMNS = {
    "model_version": ("varchar primary key", "version"),
    "trained_at": ("timestamp with time zone", "trained_at"),
    "algorithm": ("varchar", "algorithm"),
    "params": ("json", "params"),
    "n_customers": ("bigint", "n_customers"),
    "features": ("json", "features"),
    "silhouette": ("double", "silhouette"),
    "calinski_harabasz": ("double", "calinski_harabasz"),
    "davies_bouldin": ("double", "davies_bouldin"),
    "bootstrap_stability": ("double", "stability"),
    "min_separation": ("double", "min_separation"),
    "stability_ari": ("double", "stability_ari"),
    "explainer_f1": ("double", "explainer_macro_f1"),
    "assignment_fidelity_f1": ("double", "assignment_fidelity_macro_f1"),
    "membership_calibration_error": ("double", "membership_calibration_error"),
    "median_membership_probability": ("double", "median_membership_probability"),
    "data_fingerprint": ("varchar", "data_fingerprint"),
    "training_fingerprint": ("varchar", "training_fingerprint"),
    "chosen_because": ("varchar", "chosen_because"),
    "trained_because": ("varchar", "trained_because"),
}
"""model_runs columns: their type, and the model metric each comes from."""


def create_ledger_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """scoring_runs and feature_drift; a warehouse from before scoring_runs gets the dates already
    in its transitions entered as scored by an unknown model (call after the history tables
    exist)."""
    conn.execute(f"create schema if not exists {SEGMENTS_SCHEMA}")
    conn.execute(
        f"""
        create table if not exists {SCORED} (
            as_of_date date primary key, model_version varchar not null,
            scored_at timestamp with time zone not null, customers bigint not null,
            customers_moved bigint not null, max_feature_psi double,
            max_segment_share_change double, retrain_requested_because varchar,
            features_fingerprint varchar not null, customers_left_out bigint
        );
        create table if not exists {DRIFT} (
            as_of_date date not null, model_version varchar not null, feature varchar not null,
            psi double not null, threshold double not null, drifted boolean not null
        );
        """
    )
    # Warehouses from before the consent policy: their earlier dates count nobody left out.
    conn.execute(f"alter table {SCORED} add column if not exists customers_left_out bigint")
    conn.execute(
        f"""
        insert into {SCORED}
        select distinct as_of_date, '{UNKNOWN_MODEL}', now(), 0, 0, null, null, null,
               '{UNKNOWN_MODEL}', null
        from {SEGMENTS_SCHEMA}.{SEGMENT_TRANSITIONS}
        where as_of_date not in (select as_of_date from {SCORED})
        """
    )


def scored_before(conn: duckdb.DuckDBPyConnection, as_of_date: date) -> tuple[str, str] | None:
    """(model version, features fingerprint) of `as_of_date`'s last publish, if any."""
    rows = conn.execute(
        f"select model_version, features_fingerprint from {SCORED} where as_of_date = ?",
        [as_of_date],
    ).fetchall()  # fetchone would leave the result open, and DuckDB 2.0 then refuses register()
    return rows[0] if rows else None


def later_dates(conn: duckdb.DuckDBPyConnection, as_of_date: date) -> tuple[date, ...]:
    """The dates scored after `as_of_date`, in order."""
    rows = conn.execute(
        f"select as_of_date from {SCORED} where as_of_date > ? order by 1", [as_of_date]
    ).fetchall()
    return tuple(day for (day,) in rows)


def record_drift(
    conn: duckdb.DuckDBPyConnection,
    model_version: str,
    feature_psi: pd.DataFrame,
    as_of_date: date,
    threshold: float,
) -> None:
    conn.register("new_drift", feature_psi)
    try:
        conn.execute(f"delete from {DRIFT} where as_of_date = ?", [as_of_date])
        conn.execute(
            f"insert into {DRIFT} "
            "select $as_of, $version, feature, psi, $threshold, psi > $threshold from new_drift",
            {"as_of": as_of_date, "version": model_version, "threshold": threshold},
        )
    finally:
        conn.unregister("new_drift")


def record_scoring(
    conn: duckdb.DuckDBPyConnection,
    model_version: str,
    scored: Scored,
    as_of_date: date,
    customers_moved: int,
    fingerprint: str,
    retrain_because: str,
    customers_left_out: int,
) -> None:
    psi = scored.feature_psi["psi"]
    changes = scored.segment_share_changes["change"].abs()
    conn.execute(
        f"insert or replace into {SCORED} values (?, ?, now(), ?, ?, ?, ?, ?, ?, ?)",
        [
            as_of_date,
            model_version,
            len(scored.assignments),
            customers_moved,
            float(psi.max()) if len(psi) else None,
            float(changes.max()) if len(changes) else None,
            retrain_because or None,
            fingerprint,
            customers_left_out,
        ],
    )


def record_model_run(conn: duckdb.DuckDBPyConnection, model: SegmentationModel) -> None:
    """Adds the model to model_runs, once (a model re-published later is not added again)."""
    columns = ", ".join(f"{name} {kind}" for name, (kind, _) in MODEL_RUN_COLUMNS.items())
    conn.execute(f"create table if not exists {MODELS} ({columns})")
    # Columns added after the first release: older warehouses gain them (null for old models).
    for name, (kind, _) in list(MODEL_RUN_COLUMNS.items())[1:]:
        conn.execute(f"alter table {MODELS} add column if not exists {name} {kind}")
    values = {"version": model.version, **model.metrics}
    conn.execute(
        f"insert or ignore into {MODELS} ({', '.join(MODEL_RUN_COLUMNS)}) "
        f"values ({', '.join(['?'] * len(MODEL_RUN_COLUMNS))})",
        [
            json.dumps(values.get(metric)) if kind == "json" else values.get(metric)
            for kind, metric in MODEL_RUN_COLUMNS.values()
        ],
    )
