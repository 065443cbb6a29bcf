"""The daily-refresh benchmark at a tiny size, so that it cannot rot: a real full refresh, a
real daily refresh over one new day, and its report. No timing is asserted."""

import json
from pathlib import Path

import pytest

from bench.daily_refresh import STAGING_INCREMENTAL, main
from demo_data.split import split_day
from tests.conftest import AS_OF, QUICK_TRAINING

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast


def test_the_daily_benchmark_times_both_refreshes_and_counts_what_the_day_rebuilt(
    tmp_path: Path, demo_landing: Path
) -> None:
    split_day(demo_landing, tmp_path / "history", tmp_path / "day", AS_OF, late_orders=3)
    config = tmp_path / "training.yaml"
    config.write_text(QUICK_TRAINING)
    work = tmp_path / "work"
    main([
        "--history", str(tmp_path / "history"), "--day-dir", str(tmp_path / "day"),
        "--as-of", AS_OF.isoformat(), "--work", str(work), "--segmentation-config", str(config),
    ])  # fmt: skip

    report = json.loads((work / "daily_refresh.json").read_text())
    full, daily = report["full_refresh"], report["daily_refresh"]
    assert (full["job"], daily["job"]) == ("full_refresh", "daily_refresh")
    assert daily["as_of"] == AS_OF.isoformat()
    for run in (full, daily):
        steps = {step["step"] for step in run["steps"]}
        assert {"load_landing_files", "dbt_models", "segment_tables"} <= steps
        assert all(step["peak_rss_gib"] > 0 for step in run["steps"])
        assert run["peak_rss_gib"] > 0
        assert run["dbt"]["models_seconds"] > 0
    assert "segmentation_model" in {step["step"] for step in full["steps"]}
    assert "segmentation_model" not in {step["step"] for step in daily["steps"]}

    staging = report["staging_rows"]
    assert set(staging) == set(STAGING_INCREMENTAL)
    orders = staging["stg_shop__orders"]
    # The day's orders and the three late ones, not the history.
    assert 3 < orders["rebuilt_by_daily_refresh"] < orders["rows"] / 10
