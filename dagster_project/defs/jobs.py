"""Jobs: named selections of assets, run in one process.

Every step that writes the warehouse is serialized by the `duckdb_warehouse` pool anyway, so a
process per step (Dagster's default executor) would only add start-up time: about 20 s per step
in a daemon-launched run, more than most steps of a daily refresh take.
"""

from dagster import AssetSelection, define_asset_job, in_process_executor

from dagster_project.lib.names import (
    BACKTESTS,
    CLV_MODEL,
    HISTORY_BACKFILL,
    PROPENSITY_MODEL,
    SEGMENTATION_MODEL,
    WAREHOUSE_TAG,
)

# Daily partitions of past days (HISTORY_BACKFILL) are materialized by backfills, never by a
# refresh.
CURRENT_STATE = AssetSelection.all() - AssetSelection.assets(HISTORY_BACKFILL)
WRITES_WAREHOUSE = {WAREHOUSE_TAG: "writes"}
TRAINING = AssetSelection.assets(SEGMENTATION_MODEL, BACKTESTS, CLV_MODEL, PROPENSITY_MODEL)
"""What only the weekly (full) refresh and the drift retrain run: the daily refresh scores with
the models already trained."""

full_refresh_job = define_asset_job(
    name="full_refresh",
    selection=CURRENT_STATE,
    executor_def=in_process_executor,
    tags=WRITES_WAREHOUSE,
    description="Load the landing files, score sentiment, build every dbt model and test, "
    "validate, train the segmentation and the prediction models, publish the segment tables "
    "and predictions, and backtest the segmentation.",
)

daily_refresh_job = define_asset_job(
    name="daily_refresh",
    selection=CURRENT_STATE - TRAINING,
    executor_def=in_process_executor,
    tags=WRITES_WAREHOUSE,
    description="Load new landing files, rebuild the features (incremental staging), validate, "
    "and re-score every customer with the current models (segments and predictions): no "
    "retraining.",
)

retrain_job = define_asset_job(
    name="retrain",
    selection=AssetSelection.assets(SEGMENTATION_MODEL).downstream(),
    executor_def=in_process_executor,
    tags=WRITES_WAREHOUSE,
    description="Retrain the segmentation on the current features, re-publish the segment "
    "tables and backtest (started by the drift sensor).",
)
