"""The benchmark harness at a tiny size, so that it cannot rot: a real full refresh, both
baselines in their own processes, the equality check and the reports. No timing is asserted."""

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pytest

from bench.feature_equality import feature_differences
from bench.refresh import main, run_baseline
from bench.report import render_markdown
from tests.conftest import AS_OF, QUICK_TRAINING

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast

SIZE = 500
REFRESH_STEPS = {
    "load_landing_files",
    "raw_table_checks",
    "dbt_models",
    "customer_features_checks",
    "segmentation_model",
    "segment_tables",
    "prediction_models",
    "customer_predictions",
    "serving_snapshot",
}


def test_the_benchmark_runs_every_stage_and_its_baselines_agree_with_dbt(tmp_path: Path) -> None:
    config = tmp_path / "training.yaml"
    config.write_text(QUICK_TRAINING)
    work, results_dir = tmp_path / "work", tmp_path / "results"
    main([
        "--size", str(SIZE), "--as-of", AS_OF.isoformat(), "--work", str(work),
        "--results", str(results_dir), "--segmentation-config", str(config),
    ])  # fmt: skip

    results = json.loads((results_dir / f"refresh-{SIZE}.json").read_text())
    assert results["feature_differences"] == {}
    stages = {stage["step"]: stage for stage in results["refresh"]["stages"]}
    assert set(stages) >= REFRESH_STEPS
    assert all(stage["peak_rss_gib"] > 0 for stage in stages.values())
    assert results["refresh"]["dbt"]["models_seconds"] > 0
    assert results["refresh"]["dbt"]["tests_seconds"] > 0
    assert [baseline["name"] for baseline in results["baselines"]] == ["hand_sql", "pandas"]
    assert set(results["ratios"]) >= {"features_over_hand_sql", "pandas_over_features"}
    assert results["ratios"]["prediction_fit_and_score_seconds"] > 0
    markdown = (results_dir / f"refresh-{SIZE}.md").read_text()
    assert "Both baselines computed the same feature table" in markdown
    assert "| dbt_models |" in markdown

    # The equality check that guards the comparison does catch a wrong value.
    hand_sql = pd.read_parquet(work / "hand_sql_features.parquet")
    pandas = pd.read_parquet(work / "pandas_features.parquet")
    assert feature_differences(hand_sql, pandas) == []
    hand_sql.loc[hand_sql.index[0], "monetary"] += 0.01
    assert [line.split(":")[0] for line in feature_differences(pandas, hand_sql)] == ["monetary"]

    # A baseline passing its memory cap is stopped and reported, not left to exhaust the machine.
    warehouse = work / "warehouse" / "warehouse.duckdb"
    stopped, features = run_baseline("pandas", warehouse, AS_OF, work, memory_cap_gib=0.05)
    assert features is None
    assert stopped.stopped_because == "stopped when its memory passed 0.05 GiB"
    assert stopped.peak_rss_gib >= 0.05
    results["baselines"][1] = asdict(stopped)
    results["ratios"]["pandas_over_features"] = None
    markdown = render_markdown(results)
    assert "| pandas baseline | did not finish: stopped when its memory passed 0.05 GiB" in markdown
    assert "hand_sql computed the same feature table as the dbt models (checked)" in markdown
