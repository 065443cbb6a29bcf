"""Jobs: named selections of assets."""

from dagster import AssetSelection, define_asset_job

SEGMENTATION_MODEL = "segmentation_model"
# Daily partitions of past days, materialized by backfills; never part of a refresh.
HISTORY_BACKFILL = "segment_history_backfill"
CURRENT_STATE = AssetSelection.all() - AssetSelection.assets(HISTORY_BACKFILL)

full_refresh_job = define_asset_job(
    name="full_refresh",
    selection=CURRENT_STATE,
    description="Load the landing files, score sentiment, build every dbt model and test, "
    "validate, train the segmentation and publish the segment tables.",
)

daily_refresh_job = define_asset_job(
    name="daily_refresh",
    selection=CURRENT_STATE - AssetSelection.assets(SEGMENTATION_MODEL),
    description="Load new landing files, rebuild the features (incremental staging), validate, "
    "and re-score every customer with the current model: no retraining.",
)

retrain_job = define_asset_job(
    name="retrain",
    selection=AssetSelection.assets(SEGMENTATION_MODEL).downstream(),
    description="Retrain the segmentation on the current features and re-publish the segment "
    "tables (started by the drift sensor).",
)
