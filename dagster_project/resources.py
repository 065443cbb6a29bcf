"""Dagster resources: the warehouse, the landing folder, the as-of date and dbt."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource

from dagster_project.settings import DBT_PROJECT_DIR, Settings, resolve_as_of_date

# DuckDB allows one writing process per file: every asset that writes the warehouse (including the
# dbt subprocess) runs in this pool, whose limit is 1 (.dagster_home/dagster.yaml).
WAREHOUSE_POOL = "duckdb_warehouse"


class WarehouseResource(ConfigurableResource):
    """The DuckDB warehouse file. Connections are short-lived and never held across a dbt run."""

    path: str

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = duckdb.connect(self.path, read_only=read_only)
        try:
            conn.execute("set TimeZone = 'UTC'")
            yield conn
        finally:
            conn.close()


class LandingFolderResource(ConfigurableResource):
    """Folder with one subfolder of Parquet files per raw source."""

    path: str


class AsOfDateResource(ConfigurableResource):
    """The day features describe (YYYY-MM-DD); empty means the current UTC date of each run."""

    date: str = ""

    def resolve(self) -> date:
        return resolve_as_of_date(self.date)


def _locked_dbt_executable() -> str:
    """The dbt installed beside this interpreter (the locked version), even when the virtual
    environment is not activated and `dbt` is not on PATH; otherwise whatever PATH finds."""
    beside_python = Path(sys.executable).with_name("dbt")
    return str(beside_python) if beside_python.exists() else "dbt"


def build_resources(settings: Settings) -> dict[str, ConfigurableResource]:
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse_path)),
        "landing": LandingFolderResource(path=str(settings.landing_dir)),
        "as_of": AsOfDateResource(date=settings.as_of_date),
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=_locked_dbt_executable(),
        ),
    }
