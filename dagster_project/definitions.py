"""The Dagster code location: assembles assets, jobs and resources. No logic lives here."""

from dagster import Definitions

from dagster_project.assets.enrichment import text_sentiment
from dagster_project.assets.ingest import raw_table_checks, raw_tables
from dagster_project.assets.quality import customer_features_baseline, customer_features_checks
from dagster_project.assets.segmentation import segment_tables, segmentation_model
from dagster_project.assets.transform import dbt_models
from dagster_project.jobs import full_refresh_job
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
        ],
        asset_checks=[raw_table_checks, customer_features_checks],
        jobs=[full_refresh_job],
        resources=build_resources(settings),
    )


defs = build_definitions(Settings.from_env())
