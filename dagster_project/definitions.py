"""The Dagster code location: assembles assets, jobs, schedules, sensors and resources. No logic
lives here."""

from dagster import Definitions

from dagster_project.assets.backfill import build_history_backfill
from dagster_project.assets.enrichment import text_sentiment
from dagster_project.assets.ingest import raw_table_checks, raw_tables
from dagster_project.assets.quality import customer_features_baseline, customer_features_checks
from dagster_project.assets.segmentation import segment_tables, segmentation_model
from dagster_project.assets.serving import serving_snapshot
from dagster_project.assets.transform import dbt_models
from dagster_project.automation import (
    build_landing_sensor,
    build_schedules,
    drift_retrain_sensor,
    interrupted_runs_sensor,
    run_failure_alerts,
)
from dagster_project.jobs import daily_refresh_job, full_refresh_job, retrain_job
from dagster_project.resources import build_resources
from dagster_project.settings import Settings


def build_definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=[
            raw_tables,
            text_sentiment,
            dbt_models,
            customer_features_baseline,
            segmentation_model,
            segment_tables,
            serving_snapshot,
            build_history_backfill(settings),
        ],
        asset_checks=[raw_table_checks, customer_features_checks],
        jobs=[full_refresh_job, daily_refresh_job, retrain_job],
        schedules=build_schedules(settings),
        sensors=[
            build_landing_sensor(settings),
            drift_retrain_sensor,
            interrupted_runs_sensor,
            run_failure_alerts,
        ],
        resources=build_resources(settings),
    )


defs = build_definitions(Settings.from_env())
