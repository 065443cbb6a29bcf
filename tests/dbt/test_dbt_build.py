"""`dbt build` on generated demo data in a temporary warehouse: every model, test and unit test."""

from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from dagster_project.defs.resources import warehouse_resource
from dagster_project.lib.settings import Settings
from tests.conftest import settings_for
from tests.dbt.conftest import artifact, dbt_build, dbt_command, load_raw

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, demo_landing: Path) -> Settings:
    return settings_for(tmp_path_factory.mktemp("dbt_build"), demo_landing)


@pytest.fixture(scope="module")
def target(settings: Settings) -> Path:
    load_raw(settings)
    return dbt_build(settings, settings.warehouse_path.parent)


@pytest.fixture(scope="module")
def run_results(target: Path) -> dict:
    return artifact(target, "run_results")


def test_every_node_succeeds(run_results: dict) -> None:
    """Planted dirt leaves orphans (within tolerance), and still every test is green."""
    statuses = {r["unique_id"]: r["status"] for r in run_results["results"]}
    assert {uid: s for uid, s in statuses.items() if s not in ("success", "pass")} == {}
    assert any(uid.startswith("test.customer_segments.mostly_related") for uid in statuses)


def test_unit_tests_ran(run_results: dict) -> None:
    unit_tests = [r for r in run_results["results"] if r["unique_id"].startswith("unit_test.")]
    assert len(unit_tests) >= 11
    assert all(r["status"] == "pass" for r in unit_tests)


def test_marts_are_built_with_enforced_contracts(target: Path, run_results: dict) -> None:
    nodes = artifact(target, "manifest")["nodes"]
    built = {r["unique_id"] for r in run_results["results"] if r["status"] == "success"}
    for mart in ("customer_features", "dim_customers"):
        unique_id = f"model.customer_segments.{mart}"
        assert unique_id in built
        assert nodes[unique_id]["config"]["contract"]["enforced"] is True


def test_every_model_and_column_is_documented(target: Path, settings: Settings) -> None:
    models = [
        n for n in artifact(target, "manifest")["nodes"].values() if n["resource_type"] == "model"
    ]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        for model in models:
            assert model["description"], model["name"]
            built = conn.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [model["schema"], model["alias"]],
            ).fetchall()
            documented = {c for c, spec in model["columns"].items() if spec.get("description")}
            assert {column for (column,) in built} <= documented, model["name"]


def test_duckdb_memory_limit_reaches_dagster_and_dbt(settings: Settings, target: Path) -> None:
    """SEG_DUCKDB_MEMORY_LIMIT bounds the warehouse connections of the assets and of dbt alike
    (dbt receives it as a var from the dbt asset)."""
    limited = replace(settings, duckdb_memory_limit="1GB")
    with warehouse_resource(limited).connect(read_only=True) as conn:
        (in_dagster,) = conn.execute("select current_setting('memory_limit')").fetchone()
    shown = dbt_command(
        "show",
        limited,
        settings.warehouse_path.parent,
        "--inline",
        "select current_setting('memory_limit') as memory_limit",
        "--output",
        "json",
        duckdb_memory_limit=limited.duckdb_memory_limit,
    )
    assert shown.returncode == 0, shown.stdout[-3000:]
    with duckdb.connect() as conn:
        (expected,) = conn.execute(
            "set memory_limit = '1GB'; select current_setting('memory_limit')"
        ).fetchone()
    assert in_dagster == expected
    assert f'"memory_limit": "{expected}"' in shown.stdout
