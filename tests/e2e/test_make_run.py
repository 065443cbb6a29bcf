"""`make run`'s entry point on an empty landing folder: demo data, the whole job, a summary."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dagster_project.lib.settings import REPO_ROOT, Settings
from dagster_project.run import ensure_landing_data
from tests.conftest import duckdb_cli

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast


def test_first_run_generates_demo_data_and_builds_everything(tmp_path: Path) -> None:
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO_ROOT / ".dagster_home" / "dagster.yaml", dagster_home)
    config = tmp_path / "segmentation.yml"
    config.write_text("algorithms: [kmeans]\n")  # the full search runs in tests/conftest.py
    env = {
        **os.environ,
        "SEG_WAREHOUSE_PATH": str(tmp_path / "warehouse" / "warehouse.duckdb"),
        "SEG_LANDING_DIR": str(tmp_path / "landing"),
        "SEG_AS_OF_DATE": "2026-11-20",
        "SEG_DEMO_CUSTOMERS": "1000",
        "SEG_GENERATE_DEMO": "1",  # not the default landing folder: demo data only when asked
        "SEG_SEGMENTATION_CONFIG": str(config),
        "DAGSTER_HOME": str(dagster_home),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "dagster_project.run"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    out = completed.stdout
    assert "generated demo data for 1,000 customers" in out
    assert f"Warehouse: {tmp_path / 'warehouse' / 'warehouse.duckdb'}" in out
    snapshot = tmp_path / "warehouse" / "segments.duckdb"
    assert f"Snapshot for SQL users (make sql): {snapshot}" in out
    features_rows = int(
        re.search(r"marts\.customer_features\s+([\d,]+) rows", out)[1].replace(",", "")
    )
    assert 550 < features_rows <= 750  # of 1,000: the customers with marketing consent
    assert list(dagster_home.glob("history/runs/*")) or (dagster_home / "history").exists()

    # The landing folder now holds data: a second run would use it, not generate more.
    assert not ensure_landing_data(Settings.from_env(env))

    # A query answers on the snapshot in the duckdb CLI installed with the project (make sql),
    # and the CLI opens the working warehouse too.
    query = "SELECT segment_name, count(*) AS customers FROM segments.customer_segments GROUP BY 1"
    answer = duckdb_cli(snapshot, query)
    assert answer[0] == "segment_name,customers"
    counts = [int(line.rsplit(",", 1)[1]) for line in answer[1:]]
    assert len(counts) >= 2 and sum(counts) == features_rows
    warehouse = tmp_path / "warehouse" / "warehouse.duckdb"
    assert duckdb_cli(warehouse, "SELECT count(*) AS n FROM marts.customer_features") == [
        "n",
        str(features_rows),
    ]
