"""The `retention_purge` job and its daily schedule: raw events and segment history older than
SEG_RETENTION_DAYS allow are deleted (dagster_project/lib/retention.py, docs/privacy.md)."""

from datetime import UTC, datetime

from dagster import (
    DefaultScheduleStatus,
    OpExecutionContext,
    ScheduleDefinition,
    in_process_executor,
    job,
    op,
)

from dagster_project.defs.jobs import WRITES_WAREHOUSE
from dagster_project.defs.resources import AsOfDateResource, PrivacyResource, WarehouseResource
from dagster_project.lib.retention import purge
from dagster_project.lib.settings import Settings


@op(name="purge_expired_rows")
def purge_expired_rows(
    context: OpExecutionContext,
    warehouse: WarehouseResource,
    privacy: PrivacyResource,
    as_of: AsOfDateResource,
) -> None:
    retention = privacy.retention()
    if not retention:
        context.log.info("SEG_RETENTION_DAYS is not set: everything is kept.")
        return
    with warehouse.connect() as conn:
        removed = purge(conn, retention, as_of.resolve(), datetime.now(UTC))
    context.log.info(
        "Purged past retention (recorded in raw._retention_purges): "
        + (
            ", ".join(f"{table} {rows} rows" for table, rows in sorted(removed.items()))
            or "nothing"
        )
    )


@job(name="retention_purge", executor_def=in_process_executor, tags=WRITES_WAREHOUSE)
def retention_purge_job() -> None:
    """Delete raw events and segment history older than SEG_RETENTION_DAYS allows."""
    purge_expired_rows()


def build_retention_schedule(settings: Settings) -> ScheduleDefinition:
    return ScheduleDefinition(
        name="retention_purge_schedule",
        job=retention_purge_job,
        cron_schedule=settings.daily_refresh_cron,
        execution_timezone=settings.schedule_timezone,
        default_status=DefaultScheduleStatus.RUNNING,
        description="Deletes what is older than SEG_RETENTION_DAYS allows (queued with the daily "
        "refresh: one warehouse-writing run at a time).",
    )
