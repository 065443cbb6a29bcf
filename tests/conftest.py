"""Shared fixtures: demo landing data and one full pipeline run in a temporary directory."""

import dataclasses
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckEvaluation, DagsterInstance, ExecuteInProcessResult

from dagster_project.lib.duckdb_files import base_table_columns
from dagster_project.lib.settings import REPO_ROOT, Settings
from dagster_project.run import run_job
from demo_data.generate import DemoSpec, generate

AS_OF = date(2026, 11, 20)
DEMO_CUSTOMERS = 1000
DEMO_SEED = 7
PII_HASH_KEY = "test-pseudonymisation-key"

# dbt runs as a subprocess and inherits this; tests recompute hashes with the same key.
os.environ["SEG_PII_HASH_KEY"] = PII_HASH_KEY
# Two test workers share the two cores (`-n 2` in pyproject's addopts). OpenMP's busy-waiting
# threads (KMeans) over-subscribe them: training with the earlier gradient-boosting assigner ran
# 30 times slower. The workers start after this file is imported by the controller, and inherit
# one OpenMP thread each.
os.environ.setdefault("OMP_NUM_THREADS", "1")


# A segmentation config for tests about runs rather than about the model: one algorithm, a short
# k range, 2-fold CV and a small importance sample. The chosen segments are the same whatever the
# folds and the importance sample (they only measure the assigner).
QUICK_TRAINING = "algorithms: [kmeans]\nk_range: [3, 9]\ncv_folds: 2\nimportance_sample: 300\n"


def check_evaluation(result: ExecuteInProcessResult, check_name: str) -> AssetCheckEvaluation:
    """The one evaluation of the asset check `check_name` in a run."""
    (evaluation,) = [
        event.event_specific_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
        and event.event_specific_data.check_name == check_name
    ]
    return evaluation


def warehouse_columns(
    conn: duckdb.DuckDBPyConnection,
    schemas: tuple[str, ...] | None = None,
    data_type: str | None = None,
    except_schemas: tuple[str, ...] = (),
) -> list[tuple[str, str]]:
    """(`"schema"."table"`, column) for every column of every base table, of `schemas` (all when
    None, but `except_schemas`) and of `data_type` when given: what the privacy tests search."""
    return [
        (table, column)
        for table, columns in base_table_columns(conn).items()
        if (schema := table.split(".")[0].strip('"')) not in except_schemas
        and (schemas is None or schema in schemas)
        for column, kind in columns.items()
        if data_type is None or kind == data_type
    ]


def settings_for(
    root: Path, landing_dir: Path, as_of: date = AS_OF, predictions: bool = False
) -> Settings:
    """Settings for a warehouse under `root`. Predictions are off unless asked for: each full
    refresh with them rebuilds the features as of two past days (about 30 s on 1,000 customers),
    which only the tests of predictions, and those that must see every table, need."""
    return Settings(
        warehouse_path=root / "warehouse" / "warehouse.duckdb",
        landing_dir=landing_dir,
        as_of_date=as_of.isoformat(),
        demo_customers=DEMO_CUSTOMERS,
        demo_seed=DEMO_SEED,
        # Tests write their files before they run: none is still being written.
        landing_settle_seconds=0,
        predictions=predictions,
    )


def duckdb_cli(database: Path, query: str) -> list[str]:
    """The lines the duckdb CLI installed with the project (`make sql`, DuckDB 1.5) prints for
    `query` on `database`, opened read-only, as CSV: the files the pipeline writes must open in
    it although the pipeline runs on DuckDB 2.0."""
    cli = Path(sys.executable).with_name("duckdb")
    return subprocess.run(
        [str(cli), "-readonly", "-csv", str(database), "-c", query],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()


@pytest.fixture(scope="session")
def demo_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo data (with dirt) for 1,000 customers, written once per test session."""
    landing = tmp_path_factory.mktemp("landing")
    generate(DemoSpec(customers=DEMO_CUSTOMERS, seed=DEMO_SEED, end_date=AS_OF), landing)
    return landing


@dataclass(frozen=True)
class BuiltPipeline:
    settings: Settings
    result: ExecuteInProcessResult

    def connect(self) -> duckdb.DuckDBPyConnection:
        conn = duckdb.connect(str(self.settings.warehouse_path), read_only=True)
        conn.execute("set TimeZone = 'UTC'")
        return conn


@pytest.fixture(scope="session")
def built_pipeline(tmp_path_factory: pytest.TempPathFactory, demo_landing: Path) -> BuiltPipeline:
    """The full_refresh job, run once on the demo landing data into a temporary warehouse, with
    the example audiences."""
    settings = dataclasses.replace(
        settings_for(tmp_path_factory.mktemp("pipeline"), demo_landing, predictions=True),
        audiences_config=REPO_ROOT / "examples" / "audiences" / "audiences.yml",
    )
    with DagsterInstance.ephemeral() as instance:
        result = run_job(settings, instance)
    return BuiltPipeline(settings, result)


@pytest.fixture
def copy_of_pipeline(built_pipeline: BuiltPipeline, tmp_path: Path) -> Settings:
    """The session's published pipeline, copied so that a test may refresh or break it."""
    assert built_pipeline.result.success, "the full pipeline run failed; see its log"
    shutil.copytree(built_pipeline.settings.warehouse_path.parent, tmp_path / "warehouse")
    return dataclasses.replace(
        built_pipeline.settings, warehouse_path=tmp_path / "warehouse" / "warehouse.duckdb"
    )


def refresh_environment(root: Path, settings: Settings, as_of: str) -> dict[str, str]:
    """The environment of `python -m dagster_project.run` on `settings`, with a Dagster home and
    a quick segmentation config created under `root`, on the instance configuration of
    `make run` (one warehouse pool slot, one warehouse-writing run at a time)."""
    home = root / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text((REPO_ROOT / ".dagster_home" / "dagster.yaml").read_text())
    config = root / "segmentation.yml"
    config.write_text(QUICK_TRAINING)
    return os.environ | {
        "DAGSTER_HOME": str(home),
        "SEG_WAREHOUSE_PATH": str(settings.warehouse_path),
        "SEG_LANDING_DIR": str(settings.landing_dir),
        "SEG_LANDING_SETTLE_SECONDS": "0",
        "SEG_AS_OF_DATE": as_of,
        "SEG_SEGMENTATION_CONFIG": str(config),
        "SEG_PREDICTIONS": "0",
    }


@pytest.fixture
def warehouse(built_pipeline: BuiltPipeline):
    assert built_pipeline.result.success, "the full pipeline run failed; see its log"
    conn = built_pipeline.connect()
    yield conn
    conn.close()


# xdist hands modules to its workers in collection order: the longest ones (whole refreshes,
# repeated) go first, so that the two workers finish at about the same time.
LONGEST_FIRST = (
    "tests/e2e/test_dynamic_segments.py",
    "tests/e2e/test_personal_data.py",
    "tests/e2e/test_pii_key.py",
    "tests/e2e/test_crash_safety.py",
    "tests/e2e/test_refresh_stability.py",
    "tests/e2e/test_audiences.py",
    "tests/e2e/test_predictions.py",
    "tests/e2e/test_serving.py",
    "tests/bench/",
    "tests/e2e/test_ui.py",
    "tests/e2e/test_make_run.py",
    "tests/e2e/",
    "tests/dbt/test_cleaning.py",
    "tests/dagster_project/test_quality_gates.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        starts = [item.nodeid.startswith(prefix) for prefix in LONGEST_FIRST]
        return starts.index(True) if True in starts else len(LONGEST_FIRST)

    items.sort(key=rank)
