"""The Dagster code location: assembles assets, checks, jobs, schedules, sensors and resources
from `defs/`. No logic lives here."""

from dagster import Definitions, in_process_executor

from dagster_project.defs.audiences import build_audiences
from dagster_project.defs.backfill import build_history_backfill
from dagster_project.defs.backtest import segment_backtests
from dagster_project.defs.customer_predictions import customer_predictions
from dagster_project.defs.dbt_models import dbt_models
from dagster_project.defs.enrichment import text_sentiment
from dagster_project.defs.erasure import erase_job
from dagster_project.defs.fairness import build_fairness_check, fairness_audit
from dagster_project.defs.freshness import sources_are_fresh
from dagster_project.defs.ingest import raw_table_checks, raw_tables
from dagster_project.defs.jobs import daily_refresh_job, full_refresh_job, retrain_job
from dagster_project.defs.predictions import build_prediction_models
from dagster_project.defs.quality import customer_features_baseline, customer_features_checks
from dagster_project.defs.resources import build_resources
from dagster_project.defs.retention import retention_purge_job
from dagster_project.defs.schedules import build_schedules
from dagster_project.defs.segmentation import segment_tables, segmentation_model
from dagster_project.defs.sensors import (
    build_landing_sensor,
    drift_retrain_sensor,
    interrupted_runs_sensor,
    run_failure_alerts,
)
from dagster_project.defs.serving import build_serving_snapshot
from dagster_project.lib.settings import Settings


def build_definitions(settings: Settings) -> Definitions:
    audiences = build_audiences(settings)
    return Definitions(
        assets=[
            raw_tables,
            text_sentiment,
            dbt_models,
            customer_features_baseline,
            segmentation_model,
            segment_tables,
            segment_backtests,
            fairness_audit,
            build_prediction_models(settings.predictions),
            customer_predictions,
            *audiences,
            build_serving_snapshot([audience.key for audience in audiences]),
            build_history_backfill(settings),
        ],
        asset_checks=[
            raw_table_checks,
            customer_features_checks,
            sources_are_fresh,
            build_fairness_check(settings.fairness_blocking),
        ],
        jobs=[full_refresh_job, daily_refresh_job, retrain_job, erase_job, retention_purge_job],
        schedules=build_schedules(settings),
        sensors=[
            build_landing_sensor(settings),
            drift_retrain_sensor,
            interrupted_runs_sensor,
            run_failure_alerts,
        ],
        resources=build_resources(settings),
        # One process per run: the warehouse lock is held by the run, not by each step.
        executor=in_process_executor,
    )


defs = build_definitions(Settings.from_env())
