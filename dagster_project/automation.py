"""Schedules and sensors: daily re-scoring, weekly retraining, new landing files, drift-triggered
retraining, interrupted runs and run-failure alerts. All start switched on (`make ui` runs the
daemon)."""

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from dagster import (
    AssetKey,
    DagsterEvent,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    EventLogEntry,
    RunFailureSensorContext,
    RunRequest,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset_sensor,
    run_failure_sensor,
    sensor,
)

from dagster_project.assets.segmentation import RETRAIN_METADATA, TRAINED_BECAUSE_TAG
from dagster_project.ingest.contract import RAW_SOURCES
from dagster_project.ingest.loader import landing_files
from dagster_project.interrupted import fail_interrupted_runs
from dagster_project.jobs import daily_refresh_job, full_refresh_job, retrain_job
from dagster_project.resources import AlertsResource, LandingFolderResource, RunFailure
from dagster_project.settings import Settings

PARQUET_MAGIC = b"PAR1"
LANDING_CHANGE_TAG = "segments/landing_change"


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


def watched_files(landing: LandingFolderResource) -> list[Path]:
    """The files a refresh would read: the landing folder's, or those the source mapping names."""
    mapping = landing.mapping()
    if mapping is None:
        return [
            path for source in RAW_SOURCES for path in landing_files(Path(landing.path), source)
        ]
    return sorted({path for source in mapping.sources for path in source.files.paths()})


def is_complete(path: Path, settle_seconds: float, now: float) -> bool:
    """Written to the end: untouched for `settle_seconds`, and, for Parquet, with the format's
    magic bytes at both ends (a writer adds the footer last)."""
    stat = path.stat()
    if now - stat.st_mtime < settle_seconds:
        return False
    if path.suffix.lower() != ".parquet":
        return True
    if stat.st_size < 2 * len(PARQUET_MAGIC):
        return False
    with path.open("rb") as file:
        head = file.read(len(PARQUET_MAGIC))
        file.seek(-len(PARQUET_MAGIC), 2)
        return head == PARQUET_MAGIC and file.read() == PARQUET_MAGIC


def landing_state(files: list[Path], settle_seconds: float, now: float) -> dict[str, str]:
    """path -> size and modification time, of the complete files only."""
    state = {}
    for path in files:
        if is_complete(path, settle_seconds, now):
            stat = path.stat()
            state[str(path)] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return state


def describe_change(before: dict[str, str], after: dict[str, str]) -> str:
    added = [Path(p).name for p in after if p not in before]
    changed = [Path(p).name for p in after if p in before and before[p] != after[p]]
    removed = [Path(p).name for p in before if p not in after]
    parts = [
        f"{label}: {', '.join(names)}"
        for label, names in (("new", added), ("changed", changed), ("removed", removed))
        if names
    ]
    return "; ".join(parts)


def build_landing_sensor(settings: Settings) -> SensorDefinition:
    @sensor(
        name="landing_files_sensor",
        job=daily_refresh_job,
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING,
        description="Starts the daily refresh once for every change of the landing files (new, "
        "rewritten or removed complete files; files still being written wait).",
    )
    def landing_files_sensor(
        context: SensorEvaluationContext, landing: LandingFolderResource
    ) -> SensorResult | SkipReason:
        before = json.loads(context.cursor) if context.cursor else {}
        now = datetime.now(UTC).timestamp()
        after = landing_state(watched_files(landing), settings.landing_settle_seconds, now)
        # Files still being written count as absent, so they are taken once they are complete.
        change = describe_change(before, after)
        if not change:
            return SkipReason("no new, changed or removed complete landing file")
        state = json.dumps(after, sort_keys=True)
        return SensorResult(
            run_requests=[
                RunRequest(
                    run_key=hashlib.sha256(state.encode()).hexdigest()[:32],
                    tags={LANDING_CHANGE_TAG: change[:1000]},
                )
            ],
            cursor=state,
        )

    return landing_files_sensor


@asset_sensor(
    asset_key=AssetKey("customer_segments"),
    job=retrain_job,
    default_status=DefaultSensorStatus.RUNNING,
    description="Retrains when a refresh found feature drift or segment sizes beyond the "
    "thresholds of the segmentation config (the reason goes into model_runs.trained_because).",
)
def drift_retrain_sensor(
    context: SensorEvaluationContext, asset_event: EventLogEntry
) -> RunRequest | SkipReason:
    materialization = asset_event.asset_materialization
    reason = materialization.metadata.get(RETRAIN_METADATA) if materialization else None
    if reason is None or reason.value == "no":
        return SkipReason("no drift beyond the thresholds")
    run = context.instance.get_run_by_id(asset_event.run_id)
    if run is not None and run.job_name == retrain_job.name:
        # The drift is measured against the snapshot the retrain just took: do not loop.
        return SkipReason(f"drift right after a retrain, not retraining again: {reason.value}")
    return RunRequest(
        run_key=f"drift-after-{asset_event.run_id}",
        tags={TRAINED_BECAUSE_TAG: f"drift sensor: {reason.value}"[:1000]},
    )


@sensor(
    name="interrupted_runs",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Fails runs whose process died (killed, out of memory, restart) and frees their "
    "warehouse pool slot, so the next run does not wait for it forever.",
)
def interrupted_runs_sensor(context: SensorEvaluationContext) -> SkipReason:
    failed = fail_interrupted_runs(context.instance)
    return SkipReason(
        f"failed interrupted runs {', '.join(failed)}" if failed else "no interrupted run"
    )


@run_failure_sensor(
    name="run_failure_alerts",
    default_status=DefaultSensorStatus.RUNNING,
    description="Records every failed run (job, failing step, error) in run_failures of "
    "warehouse/alerts.duckdb and posts it to SEG_ALERT_WEBHOOK_URL when set.",
)
def run_failure_alerts(context: RunFailureSensorContext, alerts: AlertsResource) -> None:
    run = context.dagster_run
    failed_at = datetime.now(UTC)
    steps = context.get_step_failure_events()
    failures = [
        RunFailure(run.run_id, run.job_name, failed_at, event.step_key or "run", _error(event))
        for event in steps
    ] or [
        RunFailure(run.run_id, run.job_name, failed_at, "run", context.failure_event.message or "")
    ]
    for failure in failures:
        posted = alerts.record(failure)
        context.log.info(f"Recorded failure of {failure.job_name} at {failure.step_key}: {posted}")


def _error(event: DagsterEvent) -> str:
    error = event.event_specific_data.error
    return error.message.strip() if error is not None else ""
