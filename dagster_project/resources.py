"""Dagster resources: the warehouse, its published snapshot, the landing folder, the as-of date,
alerts and dbt."""

import datetime
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import yaml
from dagster import ConfigurableResource, InitResourceContext

from dagster_project.dbt_cli import LockedDbtCliResource, locked_dbt_executable
from dagster_project.duckdb_files import create_if_missing
from dagster_project.ingest.contract import RAW_SOURCES
from dagster_project.ingest.mapping import Mapping, read_mapping
from dagster_project.interrupted import process_tag
from dagster_project.serving import Snapshot, publish_snapshot
from dagster_project.settings import (
    DBT_PROJECT_DIR,
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    Settings,
    resolve_as_of_date,
)
from data_checks.thresholds import Thresholds
from data_checks.validation import Validator
from ml.config import SegmentationConfig
from ml.model import SegmentationModel

# DuckDB allows one writing process per file: every asset that writes the warehouse (including the
# dbt subprocess) runs in this pool, whose limit is 1 (.dagster_home/dagster.yaml).
WAREHOUSE_POOL = "duckdb_warehouse"


class WarehouseResource(ConfigurableResource):
    """The DuckDB warehouse file. Connections are short-lived and never held across a dbt run."""

    path: str
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT  # DuckDB's, e.g. "3GB"; dbt gets it too

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Tags the run with the process that writes, so that if it dies the run can be failed
        and its pool slot freed (interrupted.py)."""
        if context.instance is not None and context.run is not None:
            context.instance.add_run_tags(context.run.run_id, process_tag())

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        create_if_missing(Path(self.path))
        conn = duckdb.connect(self.path, read_only=read_only)
        try:
            conn.execute("set TimeZone = 'UTC'")
            conn.execute("set memory_limit = ?", [self.memory_limit])
            yield conn
        finally:
            conn.close()


class ServingResource(ConfigurableResource):
    """The read-only snapshot SQL users open, written aside and swapped in (serving.py)."""

    path: str

    def publish(self, warehouse: WarehouseResource, run_id: str) -> Snapshot:
        with warehouse.connect(read_only=True) as conn:
            return publish_snapshot(conn, Path(self.path), run_id)


class DataQualityResource(ConfigurableResource):
    """Great Expectations: thresholds, and the project whose Data Docs site records every result."""

    docs_dir: str
    docs_url: str
    thresholds_file: str = ""

    def thresholds(self) -> Thresholds:
        return (
            Thresholds.from_yaml(Path(self.thresholds_file))
            if self.thresholds_file
            else Thresholds()
        )

    def validator(self) -> Validator:
        return Validator(Path(self.docs_dir))

    def page_url(self, page: Path) -> str:
        """The page's address on the site that `make docs` serves."""
        site = Validator.site_root(Path(self.docs_dir))
        return f"{self.docs_url.rstrip('/')}/{page.relative_to(site).as_posix()}"


class SegmentationResource(ConfigurableResource):
    """Segmentation settings, and the folder of versioned model artifacts."""

    models_dir: str
    config_file: str = ""

    def config(self) -> SegmentationConfig:
        if not self.config_file:
            return SegmentationConfig()
        overrides = yaml.safe_load(Path(self.config_file).read_text()) or {}
        return SegmentationConfig.from_mapping(overrides, source=self.config_file)

    def save(self, model: SegmentationModel) -> Path:
        """Writes the artifacts, then points `current` at them: a half-written model is never
        the current one."""
        folder = model.save(Path(self.models_dir) / model.version)
        pointer = Path(self.models_dir) / "current"
        staged = pointer.with_suffix(".tmp")
        staged.write_text(model.version)
        staged.replace(pointer)
        return folder

    def current(self) -> SegmentationModel:
        pointer = Path(self.models_dir) / "current"
        if not pointer.exists():
            raise FileNotFoundError(
                f"No trained model in {self.models_dir}: materialize segmentation_model first."
            )
        return self.load(pointer.read_text().strip())

    def load(self, version: str) -> SegmentationModel:
        folder = Path(self.models_dir) / version
        if not folder.is_dir():
            raise FileNotFoundError(
                f"Model {version} is published but its artifacts are missing from {folder}: "
                f"restore that folder, or drop schema segments to start again."
            )
        return SegmentationModel.load(folder)


class LandingFolderResource(ConfigurableResource):
    """Where raw files come from: the landing folder, with one subfolder of Parquet files per raw
    source, or the user's own files described by a source-mapping file."""

    path: str
    source_config: str = ""

    def mapping(self) -> Mapping | None:
        if not self.source_config:
            return None
        return read_mapping(Path(self.source_config), RAW_SOURCES)


class AsOfDateResource(ConfigurableResource):
    """The day features describe (YYYY-MM-DD); empty means the current UTC date of each run."""

    date: str = ""

    def resolve(self) -> datetime.date:
        return resolve_as_of_date(self.date)


@dataclass(frozen=True)
class RunFailure:
    run_id: str
    job_name: str
    failed_at: datetime.datetime
    step_key: str  # the failing step, or "run" when the run failed outside any step
    error: str


class AlertsResource(ConfigurableResource):
    """Where failed runs go: table `run_failures` in a DuckDB file of its own (the warehouse may
    be locked by the run that is failing), and a webhook when one is configured."""

    path: str
    webhook_url: str = ""

    def record(self, failure: RunFailure) -> str:
        """Stores the failure and posts it; returns what happened to the post."""
        posted = self._post(failure) if self.webhook_url else "no webhook configured"
        create_if_missing(Path(self.path))
        with duckdb.connect(self.path) as conn:
            conn.execute(
                """
                create table if not exists run_failures (
                    run_id varchar, job_name varchar, failed_at timestamp with time zone,
                    step_key varchar, error varchar, webhook varchar
                )
                """
            )
            conn.execute(
                "insert into run_failures values (?, ?, ?, ?, ?, ?)",
                [*asdict(failure).values(), posted],
            )
        return posted

    def _post(self, failure: RunFailure) -> str:
        body = json.dumps({**asdict(failure), "failed_at": failure.failed_at.isoformat()})
        request = urllib.request.Request(
            self.webhook_url,
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return f"posted: HTTP {response.status}"
        except (urllib.error.URLError, TimeoutError) as error:
            return f"post failed: {error}"


def warehouse_resource(settings: Settings) -> WarehouseResource:
    return WarehouseResource(
        path=str(settings.warehouse_path), memory_limit=settings.duckdb_memory_limit
    )


def build_resources(settings: Settings) -> dict[str, ConfigurableResource]:
    return {
        "warehouse": warehouse_resource(settings),
        "serving": ServingResource(path=str(settings.snapshot_path)),
        "landing": LandingFolderResource(
            path=str(settings.landing_dir), source_config=str(settings.source_config or "")
        ),
        "as_of": AsOfDateResource(date=settings.as_of_date),
        "quality": DataQualityResource(
            docs_dir=str(settings.quality_docs_dir),
            docs_url=settings.quality_docs_url,
            thresholds_file=str(settings.quality_config or ""),
        ),
        "segmentation": SegmentationResource(
            models_dir=str(settings.models_dir),
            config_file=str(settings.segmentation_config or ""),
        ),
        "alerts": AlertsResource(
            path=str(settings.alerts_path), webhook_url=settings.alert_webhook_url
        ),
        "dbt": LockedDbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=locked_dbt_executable(),
        ),
    }
