"""Jobs: named selections of assets."""

from dagster import AssetSelection, define_asset_job

full_refresh_job = define_asset_job(
    name="full_refresh",
    selection=AssetSelection.all(),
    description="Load the landing files, score sentiment, build every dbt model and test, "
    "validate, train the segmentation and publish the segment tables.",
)
