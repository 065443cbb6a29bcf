"""Ingestion assets: landing files into raw, and clear failures that change nothing on bad input."""

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import ExecuteInProcessResult, materialize

from dagster_project.defs.ingest import RAW_SOURCES, raw_asset_key, raw_tables
from dagster_project.defs.resources import build_resources
from dagster_project.lib.settings import Settings
from demo_data.generate import DemoSpec, generate
from tests.conftest import settings_for


@pytest.fixture(scope="module")
def small_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("small_landing")
    generate(DemoSpec(customers=150, seed=3, end_date=date(2026, 11, 20)), landing)
    return landing


@pytest.fixture
def settings(tmp_path: Path, small_landing: Path) -> Settings:
    shutil.copytree(small_landing, tmp_path / "landing")
    return settings_for(tmp_path, tmp_path / "landing")


def load(settings: Settings) -> ExecuteInProcessResult:
    return materialize([raw_tables], resources=build_resources(settings), raise_on_error=False)


def failure_message(result: ExecuteInProcessResult) -> str:
    (failure,) = result.get_step_failure_events()
    return failure.step_failure_data.user_failure_data.description


def raw_fingerprints(settings: Settings) -> dict[str, tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return {
            s.table: conn.execute(
                f"select count(*), sum(hash(t)) from raw.{s.table} as t"
            ).fetchone()
            for s in RAW_SOURCES
        }


def orders_file(settings: Settings) -> Path:
    (path,) = (settings.landing_dir / "orders").glob("*.parquet")
    return path


def test_landing_files_load_into_raw_with_metadata(settings: Settings) -> None:
    result = load(settings)
    assert result.success
    materializations = {
        m.asset_key: m for m in result.asset_materializations_for_node("load_landing_files")
    }
    for source in RAW_SOURCES:
        expected_rows = len(pd.read_parquet(settings.landing_dir / source.table))
        materialization = materializations[raw_asset_key(source.table)]
        assert materialization.metadata["dagster/row_count"].value == expected_rows
        columns = [c.name for c in materialization.metadata["dagster/column_schema"].schema.columns]
        assert columns == [c.name for c in source.columns]


def drop_ordered_at(settings: Settings) -> None:
    path = orders_file(settings)
    pd.read_parquet(path).drop(columns="ordered_at").to_parquet(path)


def garble_ordered_at(settings: Settings) -> None:
    path = orders_file(settings)
    frame = pd.read_parquet(path)
    frame["ordered_at"] = frame["ordered_at"].astype(str)
    frame.loc[[3, 17], "ordered_at"] = ["not a date", "2024-13-45 10:00"]
    frame.to_parquet(path)


def empty_orders(settings: Settings) -> None:
    path = orders_file(settings)
    pd.read_parquet(path).head(0).to_parquet(path)


def truncate_orders(settings: Settings) -> None:
    path = orders_file(settings)
    path.write_bytes(path.read_bytes()[:200])


def remove_web_events(settings: Settings) -> None:
    shutil.rmtree(settings.landing_dir / "web_events")


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (drop_ordered_at, ['column "ordered_at"', "required column(s) missing: ordered_at"]),
        (
            garble_ordered_at,
            [
                'column "ordered_at"',
                "2 of ",
                "cannot be read as timestamp with time zone",
                "not a date",
                "2024-13-45 10:00",
                " 4 ",  # 1-based row numbers of the offending rows
                " 18 ",
            ],
        ),
        (empty_orders, ["the file has no rows"]),
        (truncate_orders, ["cannot be read as Parquet"]),
        (remove_web_events, ["web_events", "no *.parquet files for source 'web_events'"]),
    ],
)
def test_bad_landing_file_fails_clearly_and_changes_nothing(
    settings: Settings, corrupt: Callable[[Settings], None], expected: list[str]
) -> None:
    assert load(settings).success
    before = raw_fingerprints(settings)

    corrupt(settings)
    result = load(settings)

    assert not result.success
    message = failure_message(result)
    if corrupt is not remove_web_events:
        assert str(orders_file(settings)) in message
    for fragment in expected:
        assert fragment in message
    assert "nothing was loaded" in message
    assert raw_fingerprints(settings) == before
