"""Helpers to load landing data with the ingestion assets and run the real `dbt build` CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

from dagster import materialize

from dagster_project.defs.enrichment import text_sentiment
from dagster_project.defs.ingest import raw_tables
from dagster_project.defs.resources import build_resources
from dagster_project.lib.settings import DBT_PROJECT_DIR, Settings

DBT = str(Path(sys.executable).with_name("dbt"))


def load_raw(settings: Settings) -> None:
    result = materialize([raw_tables, text_sentiment], resources=build_resources(settings))
    assert result.success


def dbt_build(settings: Settings, work_dir: Path, *flags: str, **extra_vars: object) -> Path:
    """`dbt build` on the settings' warehouse; returns the target folder with its artifacts."""
    completed = dbt_command("build", settings, work_dir, *flags, **extra_vars)
    assert completed.returncode == 0, completed.stdout[-5000:]
    return work_dir / "dbt_target"


def dbt_command(
    command: str, settings: Settings, work_dir: Path, *flags: str, **extra_vars: object
) -> subprocess.CompletedProcess:
    """Any dbt command on the settings' warehouse, artifacts in `work_dir`/dbt_target."""
    target = work_dir / "dbt_target"
    dbt_vars = {
        "warehouse_path": str(settings.warehouse_path),
        "as_of_date": settings.as_of_date,
        **extra_vars,
    }
    return subprocess.run(
        [DBT, command, *flags, "--vars", json.dumps(dbt_vars)],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target)},
        capture_output=True,
        text=True,
    )


def artifact(target: Path, name: str) -> dict:
    return json.loads((target / f"{name}.json").read_text())
