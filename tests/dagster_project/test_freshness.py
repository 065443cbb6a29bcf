"""A source that stopped delivering: a month after the last delivery, with no new files, the
freshness check fails and alerts, and the drift that the stall causes requests no retrain."""

import dataclasses
from datetime import timedelta

import duckdb
import pytest
from dagster import DagsterInstance

from dagster_project.defs.freshness import SOURCES_ARE_FRESH
from dagster_project.defs.jobs import daily_refresh_job
from dagster_project.lib.names import RETRAIN_METADATA
from dagster_project.lib.settings import Settings
from dagster_project.run import run_job
from tests.conftest import AS_OF, check_evaluation

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast


def test_a_stalled_feed_alerts_instead_of_retraining(copy_of_pipeline: Settings) -> None:
    # The demo data ends on AS_OF, but for a few rows stamped a few days late (clock dirt).
    a_month_later = dataclasses.replace(
        copy_of_pipeline, as_of_date=(AS_OF + timedelta(days=30)).isoformat()
    )
    with DagsterInstance.ephemeral() as instance:
        result = run_job(a_month_later, instance, daily_refresh_job.name)
    assert result.success  # the segments are still published, from the last data delivered

    evaluation = check_evaluation(result, SOURCES_ARE_FRESH)
    assert not evaluation.passed
    assert "orders: newest event" in evaluation.description
    with duckdb.connect(str(a_month_later.alerts_path), read_only=True) as conn:
        alerts = conn.execute(
            "select error from run_failures where step_key = ?", [SOURCES_ARE_FRESH]
        ).fetchall()
    assert len(alerts) == 1 and "stale sources" in alerts[0][0]

    (segments,) = [
        event.materialization.metadata
        for event in result.get_asset_materialization_events()
        if event.asset_key.to_user_string() == "customer_segments"
    ]
    assert segments["max_feature_psi"].value > 0.25  # recency moved by a month for everyone
    assert segments[RETRAIN_METADATA].value == "no"


def test_fresh_sources_pass(copy_of_pipeline: Settings) -> None:
    with DagsterInstance.ephemeral() as instance:
        result = run_job(copy_of_pipeline, instance, daily_refresh_job.name)
    evaluation = check_evaluation(result, SOURCES_ARE_FRESH)
    assert evaluation.passed
