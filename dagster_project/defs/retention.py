"""The `retention_purge` job: raw events and segment history older than SEG_RETENTION_DAYS allow
are deleted (dagster_project/lib/retention.py, docs/privacy.md); scheduled in schedules.py."""

from datetime import UTC, datetime

from dagster import (
    OpExecutionContext,
    in_process_executor,
    job,
    op,
)

from dagster_project.defs.jobs import WRITES_WAREHOUSE
from dagster_project.defs.resources import AsOfDateResource, PrivacyResource, WarehouseResource
from dagster_project.lib.retention import purge


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
