"""The freshness check: every event source still delivering (lib/freshness.py). Not blocking, since
segments on the last data delivered are still the best there are; a stale source alerts, and
segment_tables requests no drift retrain while one is stale."""

from datetime import UTC, datetime

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from dagster_project.defs.metadata import markdown_table
from dagster_project.defs.quality import CUSTOMER_FEATURES
from dagster_project.defs.resources import AlertsResource, DataQualityResource, WarehouseResource
from dagster_project.lib.alerts import RunFailure
from dagster_project.lib.freshness import describe_stale, source_ages, stale_sources
from dagster_project.lib.names import WAREHOUSE_POOL
from dagster_project.lib.segment_store.reads import features_as_of

SOURCES_ARE_FRESH = "sources_are_fresh"


@asset_check(
    asset=CUSTOMER_FEATURES,
    name=SOURCES_ARE_FRESH,
    blocking=False,
    description="Every event source provided is still delivering: silent no longer than "
    "max_source_age_days or than its own longest silence before; a stale one alerts and holds "
    "back drift retraining.",
    pool=WAREHOUSE_POOL,
)
def sources_are_fresh(
    context: AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    quality: DataQualityResource,
    alerts: AlertsResource,
) -> AssetCheckResult:
    limit = quality.thresholds().max_source_age_days
    with warehouse.connect(read_only=True) as conn:
        ages = source_ages(conn, features_as_of(conn))
    stale = stale_sources(ages, limit)
    table = pd.DataFrame(
        [
            {
                "source": age.source,
                "newest_event": age.newest_event.isoformat() if age.newest_event else "none",
                "days_silent": age.days_silent,
                "longest_usual_silence": age.longest_usual_silence,
                "stale": age.stale(limit),
            }
            for age in ages
        ]
    )
    metadata = {"sources": markdown_table(table), "max_source_age_days": MetadataValue.int(limit)}
    if not stale:
        return AssetCheckResult(passed=True, metadata=metadata)
    description = describe_stale(stale, limit)
    run = context.run
    posted = alerts.record(
        RunFailure(run.run_id, run.job_name, datetime.now(UTC), SOURCES_ARE_FRESH, description)
    )
    context.log.warning(f"{description} Alert: {posted}")
    return AssetCheckResult(
        passed=False,
        severity=AssetCheckSeverity.ERROR,
        description=description,
        metadata=metadata,
    )
