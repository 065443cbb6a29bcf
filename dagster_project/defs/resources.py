"""Dagster resources: the warehouse, its published snapshot, the landing folder, the as-of date,
data quality, segmentation, alerts and dbt. Each is configuration plus a thin call into `lib/`,
so the UI shows where a setting came from."""

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import duckdb
import yaml
from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from dagster_project.defs.dbt_cli import LockedDbtCliResource, locked_dbt_executable
from dagster_project.defs.interrupted_runs import process_tag
from dagster_project.lib import duckdb_files, model_store, prediction_store, warehouse_lock
from dagster_project.lib.alerts import RunFailure, record_failure
from dagster_project.lib.erasure.suppression import erasure_key
from dagster_project.lib.ingest.contract import RAW_SOURCES
from dagster_project.lib.ingest.guards import DEFAULT_MAX_REMOVED_SHARE, LoadLimits
from dagster_project.lib.ingest.mapping import Mapping, read_mapping
from dagster_project.lib.retention import parse_retention
from dagster_project.lib.settings import (
    CONSENT_POLICIES,
    DBT_PROJECT_DIR,
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    Settings,
    resolve_as_of_date,
)
from dagster_project.lib.snapshot import Snapshot, publish_snapshot
from data_checks.thresholds import Thresholds
from data_checks.validation import Validator
from ml.config import SegmentationConfig
from ml.model import SegmentationModel
from ml.predictions import PredictionModels


class WarehouseResource(ConfigurableResource):
    """The DuckDB warehouse file. Connections are short-lived and never held across a dbt run.
    A run holds the warehouse's lock from start to end (lib/warehouse_lock.py): runs queue."""

    path: str
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT  # DuckDB's, e.g. "3GB"; dbt gets it too
    _lock: IO[str] | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Waits for the warehouse's lock, then tags the run with the process that writes, so
        that if it dies the run can be failed and its pool slot freed (interrupted_runs.py)."""
        run_id = context.run.run_id if context.run is not None else "a run"
        self._lock = warehouse_lock.acquire(
            Path(self.path),
            f"run {run_id}",
            lambda holder: context.log.info(f"Waiting for the warehouse: {holder} holds it."),
        )
        if context.instance is not None and context.run is not None:
            context.instance.add_run_tags(context.run.run_id, process_tag())

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._lock is not None:
            warehouse_lock.release(self._lock)
            self._lock = None

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with duckdb_files.connect(Path(self.path), self.memory_limit, read_only) as conn:
            yield conn


class ServingResource(ConfigurableResource):
    """The read-only snapshot SQL users open, written aside and swapped in (lib/snapshot.py)."""

    path: str

    def publish(self, warehouse: WarehouseResource, run_id: str) -> Snapshot:
        with warehouse.connect(read_only=True) as conn:
            return publish_snapshot(conn, Path(self.path), run_id)


class PrivacyResource(ConfigurableResource):
    """The consent policy (docs/privacy.md): dbt leaves out of the marts whom it does not allow
    to profile; and how long raw events and segment history are kept (lib/retention.py)."""

    consent_policy: str = CONSENT_POLICIES[0]
    retention_days: str = ""

    def retention(self) -> dict[str, int]:
        return parse_retention(self.retention_days)

    def dbt_vars(self) -> dict[str, str]:
        return {"consent_policy": self.consent_policy}


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
    """Segmentation settings, and the folder of versioned model artifacts (lib/model_store.py)."""

    models_dir: str
    config_file: str = ""

    def config(self) -> SegmentationConfig:
        if not self.config_file:
            return SegmentationConfig()
        overrides = yaml.safe_load(Path(self.config_file).read_text()) or {}
        return SegmentationConfig.from_mapping(overrides, source=self.config_file)

    def save(self, model: SegmentationModel) -> Path:
        return model_store.save_model(Path(self.models_dir), model)

    def current(self) -> SegmentationModel:
        return model_store.current_model(Path(self.models_dir))

    def current_if_any(self) -> SegmentationModel | None:
        """The model in use, or None before the first training."""
        if not model_store.has_current_model(Path(self.models_dir)):
            return None
        return self.current()

    def load(self, version: str) -> SegmentationModel:
        return model_store.load_model(Path(self.models_dir), version)


class PredictionResource(ConfigurableResource):
    """The predictions' horizon, CLV discount rate and holdout floor, and their versioned models
    (lib/prediction_store.py)."""

    models_dir: str
    enabled: bool = True
    horizon_days: int = 90
    annual_discount_rate: float = 0.10
    min_roc_auc: float = 0.6

    def save_candidate(self, models: PredictionModels) -> Path:
        return prediction_store.save_candidate(Path(self.models_dir), models)

    def promote(self, version: str) -> None:
        prediction_store.promote(Path(self.models_dir), version)

    def current(self) -> PredictionModels | None:
        return prediction_store.current_prediction_models(Path(self.models_dir))


class LandingFolderResource(ConfigurableResource):
    """Where raw files come from: the landing folder, with one subfolder of Parquet files per raw
    source, or the user's own files described by a source-mapping file."""

    path: str
    source_config: str = ""
    source_root: str = ""  # mapped files must lie under it; empty: the mapping file's folder
    settle_seconds: int = 60
    max_removed_share: float = DEFAULT_MAX_REMOVED_SHARE
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT

    def mapping(self) -> Mapping | None:
        if not self.source_config:
            return None
        root = Path(self.source_root) if self.source_root else None
        return read_mapping(Path(self.source_config), RAW_SOURCES, root)

    def limits(self) -> LoadLimits:
        return LoadLimits(self.settle_seconds, self.max_removed_share, self.memory_limit)


class AsOfDateResource(ConfigurableResource):
    """The day features describe (YYYY-MM-DD); empty means the current UTC date of each run."""

    date: str = ""

    def resolve(self) -> datetime.date:
        return resolve_as_of_date(self.date)


class AlertsResource(ConfigurableResource):
    """Where failed runs go (lib/alerts.py): a DuckDB file of their own, and a webhook."""

    path: str
    webhook_url: str = ""
    allow_local_http: bool = False

    def record(self, failure: RunFailure) -> str:
        """Stores the failure and posts it; returns what happened to the post."""
        return record_failure(Path(self.path), failure, self.webhook_url, self.allow_local_http)


class AudiencesResource(ConfigurableResource):
    """Where exports go, and the warehouse whose erasure key recognises erased customers."""

    outbox_dir: str
    warehouse_path: str

    @property
    def outbox(self) -> Path:
        return Path(self.outbox_dir)

    def erasure_key(self) -> bytes:
        return erasure_key(Path(self.warehouse_path))


def warehouse_resource(settings: Settings) -> WarehouseResource:
    return WarehouseResource(
        path=str(settings.warehouse_path), memory_limit=settings.duckdb_memory_limit
    )


def build_resources(settings: Settings) -> dict[str, ConfigurableResource]:
    return {
        "warehouse": warehouse_resource(settings),
        "serving": ServingResource(path=str(settings.snapshot_path)),
        "landing": LandingFolderResource(
            path=str(settings.landing_dir),
            source_config=str(settings.source_config or ""),
            source_root=str(settings.source_root or ""),
            settle_seconds=settings.landing_settle_seconds,
            max_removed_share=settings.max_removed_share,
            memory_limit=settings.duckdb_memory_limit,
        ),
        "as_of": AsOfDateResource(date=settings.as_of_date),
        "privacy": PrivacyResource(
            consent_policy=settings.consent_policy, retention_days=settings.retention_days
        ),
        "quality": DataQualityResource(
            docs_dir=str(settings.quality_docs_dir),
            docs_url=settings.quality_docs_url,
            thresholds_file=str(settings.quality_config or ""),
        ),
        "segmentation": SegmentationResource(
            models_dir=str(settings.models_dir),
            config_file=str(settings.segmentation_config or ""),
        ),
        "predictions": PredictionResource(
            models_dir=str(settings.models_dir),
            enabled=settings.predictions,
            horizon_days=settings.prediction_horizon_days,
            annual_discount_rate=settings.clv_annual_discount_rate,
            min_roc_auc=settings.propensity_min_roc_auc,
        ),
        "alerts": AlertsResource(
            path=str(settings.alerts_path),
            webhook_url=settings.alert_webhook_url,
            allow_local_http=settings.alert_webhook_allow_local_http,
        ),
        "audiences": AudiencesResource(
            outbox_dir=str(settings.outbox_path), warehouse_path=str(settings.warehouse_path)
        ),
        "dbt": LockedDbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=locked_dbt_executable(),
        ),
    }
