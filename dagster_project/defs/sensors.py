"""Sensors: new landing files, drift-triggered retraining, interrupted runs and run-failure
alerts. All start switched on (`make ui` runs the daemon)."""

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from dagster import (
    AssetKey,
    DagsterEvent,
    DefaultSensorStatus,
    EventLogEntry,
    RunFailureSensorContext,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset_sensor,
    run_failure_sensor,
    sensor,
)

from dagster_project.defs.interrupted_runs import fail_interrupted_runs
from dagster_project.defs.jobs import daily_refresh_job, retrain_job
from dagster_project.defs.resources import AlertsResource, LandingFolderResource
from dagster_project.lib.alerts import RunFailure
from dagster_project.lib.landing_watch import describe_change, landing_state, watched_files
from dagster_project.lib.names import (
    CUSTOMER_SEGMENTS,
    LANDING_CHANGE_TAG,
    RETRAIN_METADATA,
    TRAINED_BECAUSE_TAG,
)
from dagster_project.lib.settings import Settings


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
        files = watched_files(Path(landing.path), landing.mapping())
        after = landing_state(files, settings.landing_settle_seconds, now)
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
    asset_key=AssetKey(CUSTOMER_SEGMENTS),
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
