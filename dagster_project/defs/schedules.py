"""Schedules: the daily refresh (re-scoring, no training) and the weekly full refresh that
retrains, in the configured time zone. Both start switched on (`make ui` runs the daemon)."""

from dagster import DefaultScheduleStatus, ScheduleDefinition

from dagster_project.defs.jobs import daily_refresh_job, full_refresh_job
from dagster_project.lib.names import TRAINED_BECAUSE_TAG
from dagster_project.lib.settings import Settings


def build_schedules(settings: Settings) -> list[ScheduleDefinition]:
    return [
        ScheduleDefinition(
            name="daily_refresh_schedule",
            job=daily_refresh_job,
            cron_schedule=settings.daily_refresh_cron,
            execution_timezone=settings.schedule_timezone,
            default_status=DefaultScheduleStatus.RUNNING,
            description="Ingests new files, rebuilds the features and re-scores every customer "
            "with the current model.",
        ),
        ScheduleDefinition(
            name="weekly_retrain_schedule",
            job=full_refresh_job,
            cron_schedule=settings.weekly_retrain_cron,
            execution_timezone=settings.schedule_timezone,
            default_status=DefaultScheduleStatus.RUNNING,
            tags={TRAINED_BECAUSE_TAG: "weekly schedule"},
            description="The full refresh, retraining the segmentation.",
        ),
    ]
