"""Schedules, the landing-folder sensor and run-failure alerts, on real files, real runs and a
real HTTP endpoint."""

import dataclasses
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import duckdb
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    SensorResult,
    SkipReason,
    build_run_status_sensor_context,
    build_sensor_context,
)

from dagster_project.definitions import build_definitions
from dagster_project.defs.jobs import daily_refresh_job, full_refresh_job
from dagster_project.defs.resources import AlertsResource, LandingFolderResource
from dagster_project.defs.sensors import build_landing_sensor, run_failure_alerts
from dagster_project.lib.names import TRAINED_BECAUSE_TAG
from dagster_project.lib.settings import Settings
from dagster_project.run import run_job
from tests.conftest import duckdb_cli, settings_for

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast


def _settings(tmp_path: Path, **changes: object) -> Settings:
    return dataclasses.replace(settings_for(tmp_path, tmp_path / "landing"), **changes)


def test_schedules_are_on_in_the_configured_time_zone(tmp_path: Path) -> None:
    defs = build_definitions(_settings(tmp_path, schedule_timezone="Europe/Paris"))
    schedules = {schedule.name: schedule for schedule in defs.schedules}
    daily, weekly = schedules["daily_refresh_schedule"], schedules["weekly_retrain_schedule"]
    for schedule in (daily, weekly):
        assert schedule.execution_timezone == "Europe/Paris"
        assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert (daily.job_name, daily.cron_schedule) == (daily_refresh_job.name, "0 6 * * *")
    assert (weekly.job_name, weekly.cron_schedule) == (full_refresh_job.name, "0 3 * * 1")
    assert weekly.tags[TRAINED_BECAUSE_TAG] == "weekly schedule"
    daily_assets = defs.resolve_job_def(daily_refresh_job.name).asset_layer.selected_asset_keys
    assert AssetKey("customer_segments") in daily_assets
    assert AssetKey("segmentation_model") not in daily_assets
    assert all(sensor.default_status == DefaultSensorStatus.RUNNING for sensor in defs.sensors)


def _write_orders(path: Path, rows: int = 3) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as conn:
        conn.execute(
            f"copy (select 'o' || range as order_id from range({rows})) "
            f"to '{path}' (format parquet)"
        )


def _evaluate(settings: Settings, cursor: str | None) -> SensorResult | SkipReason:
    sensor = build_landing_sensor(settings)
    context = build_sensor_context(
        cursor=cursor, resources={"landing": LandingFolderResource(path=str(settings.landing_dir))}
    )
    return sensor(context)


def test_the_landing_sensor_fires_once_per_new_or_changed_file(tmp_path: Path) -> None:
    settings = _settings(tmp_path, landing_settle_seconds=0)
    assert isinstance(_evaluate(settings, None), SkipReason)  # empty folder

    _write_orders(settings.landing_dir / "orders" / "day-1.parquet")
    first = _evaluate(settings, None)
    assert isinstance(first, SensorResult) and len(first.run_requests) == 1
    assert "new: day-1.parquet" in first.run_requests[0].tags["segments/landing_change"]
    # The same state gives the same run key (Dagster starts one run per key), and a restarted
    # daemon resumes from the stored cursor without firing again.
    assert _evaluate(settings, None).run_requests[0].run_key == first.run_requests[0].run_key
    assert isinstance(_evaluate(settings, first.cursor), SkipReason)

    _write_orders(settings.landing_dir / "orders" / "day-2.parquet")
    second = _evaluate(settings, first.cursor)
    assert isinstance(second, SensorResult)
    assert second.run_requests[0].tags["segments/landing_change"] == "new: day-2.parquet"
    assert second.run_requests[0].run_key != first.run_requests[0].run_key

    _write_orders(settings.landing_dir / "orders" / "day-2.parquet", rows=5)  # rewritten
    third = _evaluate(settings, second.cursor)
    assert third.run_requests[0].tags["segments/landing_change"] == "changed: day-2.parquet"
    assert isinstance(_evaluate(settings, third.cursor), SkipReason)


def test_a_file_still_being_written_is_not_picked_up(tmp_path: Path) -> None:
    settings = _settings(tmp_path, landing_settle_seconds=0)
    partial = settings.landing_dir / "orders" / "day-3.parquet"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"PAR1" + b"\0" * 100)  # header written, footer not yet
    staged = settings.landing_dir / "orders" / ".day-4.parquet"  # staged aside by its writer
    _write_orders(staged)
    assert isinstance(_evaluate(settings, None), SkipReason)

    _write_orders(partial)  # the writer finished
    done = _evaluate(settings, None)
    assert done.run_requests[0].tags["segments/landing_change"] == "new: day-3.parquet"


def test_a_file_is_taken_only_once_it_has_settled(tmp_path: Path) -> None:
    settings = _settings(tmp_path, landing_settle_seconds=60)
    path = settings.landing_dir / "orders" / "day-5.parquet"
    _write_orders(path)
    assert isinstance(_evaluate(settings, None), SkipReason)
    settled = time.time() - 120
    os.utime(path, (settled, settled))
    assert isinstance(_evaluate(settings, None), SensorResult)


class _Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Webhook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook_url():
    server = HTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Webhook.received = []
    yield f"http://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()


def _failed_run_context(tmp_path: Path, alerts: AlertsResource):
    """A real failed run: the daily refresh on an empty landing folder."""
    (tmp_path / "landing").mkdir(exist_ok=True)
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    instance = DagsterInstance.local_temp(str(tmp_path / "dagster_home"))
    result = run_job(_settings(tmp_path), instance, daily_refresh_job.name)
    assert not result.success
    return build_run_status_sensor_context(
        sensor_name="run_failure_alerts",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alerts": alerts},
    ).for_run_failure()


def test_a_failed_run_is_recorded_and_posted(tmp_path: Path, webhook_url: str) -> None:
    alerts = AlertsResource(
        path=str(tmp_path / "alerts.duckdb"), webhook_url=webhook_url, allow_local_http=True
    )
    context = _failed_run_context(tmp_path, alerts)
    run_failure_alerts(context)
    with duckdb.connect(alerts.path, read_only=True) as conn:
        rows = conn.execute(
            "select job_name, step_key, error, webhook from run_failures"
        ).fetchall()
    assert len(rows) == 1
    job_name, step_key, error, webhook = rows[0]
    assert (job_name, step_key, webhook) == (
        "daily_refresh",
        "load_landing_files",
        "posted: HTTP 200",
    )
    assert "no *.parquet files for source" in error
    # Readable in the duckdb CLI installed with the project, as docs/querying.md shows.
    assert duckdb_cli(Path(alerts.path), "SELECT job_name, step_key FROM run_failures") == [
        "job_name,step_key",
        "daily_refresh,load_landing_files",
    ]
    assert len(_Webhook.received) == 1
    assert _Webhook.received[0]["step_key"] == "load_landing_files"
    assert _Webhook.received[0]["run_id"] == context.dagster_run.run_id


def test_an_unreachable_webhook_still_records_the_failure(tmp_path: Path) -> None:
    alerts = AlertsResource(
        path=str(tmp_path / "alerts.duckdb"),
        webhook_url="http://127.0.0.1:9/nothing-here",
        allow_local_http=True,
    )
    run_failure_alerts(_failed_run_context(tmp_path, alerts))
    with duckdb.connect(alerts.path, read_only=True) as conn:
        (webhook,) = conn.execute("select webhook from run_failures").fetchone()
    assert webhook.startswith("post failed")
