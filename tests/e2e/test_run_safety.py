"""Runs against one warehouse cannot hurt each other or the current state: two refreshes started
together run one after the other, and a full refresh for an earlier day leaves the current model
and the quality baseline alone."""

import dataclasses
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterEventType, DagsterInstance

from dagster_project.lib.model_store import CURRENT_POINTER
from dagster_project.lib.settings import Settings
from dagster_project.run import run_job
from tests.conftest import AS_OF, refresh_environment
from tests.e2e.forked_refresh import start_refresh

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast


def _span(instance: DagsterInstance, run_id: str) -> tuple[float, float]:
    """When the run's first step started and when its last step ended."""
    records = instance.get_records_for_run(run_id).records
    starts = [
        r.event_log_entry.timestamp
        for r in records
        if r.event_log_entry.dagster_event_type == DagsterEventType.STEP_START
    ]
    ends = [
        r.event_log_entry.timestamp
        for r in records
        if r.event_log_entry.dagster_event_type
        in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE)
    ]
    return min(starts), max(ends)


def test_two_refreshes_started_together_run_one_after_the_other(
    copy_of_pipeline: Settings, tmp_path: Path
) -> None:
    environment = refresh_environment(tmp_path, copy_of_pipeline, AS_OF.isoformat())
    home = Path(environment["DAGSTER_HOME"])
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    # The instance's SQLite storage is created (and migrated) here, before any refresh starts: a
    # refresh creating it while this test opens it raced in its migrations. The second refresh
    # starts seconds after the first, once the first has registered its run (two processes
    # creating the same job snapshot at once race in that storage too).
    with DagsterInstance.from_config(str(home)) as instance:
        assert not instance.get_runs()
    processes = [start_refresh("daily_refresh", environment, logs[0])]
    with DagsterInstance.from_config(str(home)) as instance:
        deadline = time.monotonic() + 120
        while not instance.get_runs() and time.monotonic() < deadline:
            time.sleep(0.2)
    processes.append(start_refresh("daily_refresh", environment, logs[1]))
    for process in processes:
        process.join(timeout=900)
    assert [p.exitcode for p in processes] == [0, 0], [log.read_text()[-3000:] for log in logs]
    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 2
        spans = sorted(_span(instance, run.run_id) for run in runs)
    (_, first_end), (second_start, _) = spans
    assert first_end <= second_start, f"the runs interleaved: {spans}"
    waited = [log for log in logs if "Waiting for the warehouse: run" in log.read_text()]
    assert len(waited) == 1


def test_a_full_refresh_for_an_earlier_day_keeps_the_current_model_and_baseline(
    copy_of_pipeline: Settings,
) -> None:
    models = copy_of_pipeline.models_dir
    current = (models / CURRENT_POINTER).read_text()
    snapshot_before = copy_of_pipeline.snapshot_path.read_bytes()

    def baseline_day() -> object:
        with duckdb.connect(str(copy_of_pipeline.warehouse_path), read_only=True) as conn:
            return conn.execute(
                "select max(as_of_date) from quality.customer_features_baseline"
            ).fetchone()[0]

    baseline_before = baseline_day()
    earlier = dataclasses.replace(
        copy_of_pipeline, as_of_date=(AS_OF - timedelta(days=10)).isoformat()
    )
    with DagsterInstance.ephemeral() as instance:
        result = run_job(earlier, instance)
    assert not result.success
    (failure,) = [
        event
        for event in result.get_step_failure_events()
        if event.step_key == "segmentation_model"
    ]
    message = failure.step_failure_data.user_failure_data.description
    assert "segment_history_backfill" in message and "current model is unchanged" in message
    assert (models / CURRENT_POINTER).read_text() == current
    assert baseline_day() == baseline_before
    assert copy_of_pipeline.snapshot_path.read_bytes() == snapshot_before
