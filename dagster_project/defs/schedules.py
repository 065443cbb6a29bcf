"""Schedules: the daily refresh (re-scoring, no training), the weekly full refresh that retrains,
and the daily retention purge, in the configured time zone. All start switched on (`make ui` runs
the daemon)."""

from dagster import DefaultScheduleStatus, ScheduleDefinition

from dagster_project.defs.jobs import daily_refresh_job, full_refresh_job
from dagster_project.defs.retention import retention_purge_job
from dagster_project.lib.names import TRAINED_BECAUSE_TAG
from dagster_project.lib.settings import Settings


def build_schedules(settings: Settings) -> list[ScheduleDefinition]:
    def running(
        name: str, job: object, cron: str, description: str, **tags: str
    ) -> ScheduleDefinition:
        """In the configured time zone, switched on."""
        return ScheduleDefinition(
            name=name,
            job=job,
            cron_schedule=cron,
            execution_timezone=settings.schedule_timezone,
            default_status=DefaultScheduleStatus.RUNNING,
            tags=tags or None,
            description=description,
        )

    return [
        running(
            "daily_refresh_schedule",
            daily_refresh_job,
            settings.daily_refresh_cron,
            "Ingests new files, rebuilds the features and re-scores every customer with the "
            "current model.",
        ),
        running(
            "weekly_retrain_schedule",
            full_refresh_job,
            settings.weekly_retrain_cron,
            "The full refresh, retraining the segmentation.",
            **{TRAINED_BECAUSE_TAG: "weekly schedule"},
        ),
        running(
            "retention_purge_schedule",
            retention_purge_job,
            settings.daily_refresh_cron,
            "Deletes what is older than SEG_RETENTION_DAYS allows (queued with the daily "
            "refresh: one warehouse-writing run at a time).",
        ),
    ]
