"""Configuration: environment variables with defaults that give an embedded setup in the repo.

Every variable, its default and its meaning are in docs/configuration.md (the one table of them);
`Settings.from_env` is the one place that reads them.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from dagster_project.lib.retention import parse_retention

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LANDING_DIR = REPO_ROOT / "landing"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DEFAULT_QUALITY_DOCS_URL = "http://127.0.0.1:3001"
DEFAULT_DUCKDB_MEMORY_LIMIT = "3GB"
CONSENT_POLICIES = ("exclude", "profile_all_activate_consented")
"""Who may be profiled (docs/privacy.md): only customers with marketing consent, or everyone
with activation left to the consenting ones."""
"""DuckDB's own default is 80 % of RAM, which it fills with buffers on large builds: dbt's
process peaked at 13.8 GiB on a 1M-customer full refresh. Above this limit DuckDB spills to a
temporary folder beside the warehouse; the heaviest 1M models ran no slower at 3 GB."""


@dataclass(frozen=True)
class Settings:
    warehouse_path: Path
    landing_dir: Path
    as_of_date: str  # YYYY-MM-DD, or "" for the current UTC date at run time
    demo_customers: int
    demo_seed: int
    quality_config: Path | None = None
    quality_docs_url: str = DEFAULT_QUALITY_DOCS_URL
    segmentation_config: Path | None = None
    source_config: Path | None = None
    schedule_timezone: str = "UTC"
    daily_refresh_cron: str = "0 6 * * *"
    weekly_retrain_cron: str = "0 3 * * 1"
    landing_settle_seconds: int = 60
    history_start_date: str = "2024-01-01"
    alert_webhook_url: str = ""
    alert_webhook_allow_local_http: bool = False
    serving_path: Path | None = None  # None: segments.duckdb beside the warehouse file
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    source_root: Path | None = None  # None: the source mapping file's folder
    max_removed_share: float = 0.5
    generate_demo: bool = False  # into a landing folder other than the default, when empty
    fairness_blocking: bool = False  # a flagged fairness audit stops the snapshot publish
    consent_policy: str = CONSENT_POLICIES[0]
    retention_days: str = ""  # source=days,... (lib/retention.py); empty keeps everything
    predictions: bool = True  # individual predictions (docs/predictions.md); 0 switches them off
    prediction_horizon_days: int = 90
    clv_annual_discount_rate: float = 0.10
    propensity_min_roc_auc: float = 0.6
    audiences_config: Path | None = None  # docs/audiences.md; None: no audiences
    outbox_dir: Path | None = None  # None: outbox/ beside the warehouse file

    def __post_init__(self) -> None:
        check_paths_apart(self)
        check_webhook(self.alert_webhook_url, self.alert_webhook_allow_local_http)
        if not 0 <= self.max_removed_share <= 1:
            raise ValueError(
                "SEG_MAX_REMOVED_SHARE must be a share between 0 and 1, got "
                f"{self.max_removed_share}"
            )
        if self.consent_policy not in CONSENT_POLICIES:
            raise ValueError(
                f"SEG_CONSENT_POLICY must be one of {', '.join(CONSENT_POLICIES)}, got "
                f"'{self.consent_policy}'"
            )
        parse_retention(self.retention_days)
        check_prediction_settings(self)

    @property
    def quality_docs_dir(self) -> Path:
        """The Great Expectations project and its Data Docs site, beside the warehouse file."""
        return self.warehouse_path.parent / "quality"

    @property
    def alerts_path(self) -> Path:
        """Failed runs, in a DuckDB file of their own: the alert sensor must be able to write
        while a run holds the warehouse."""
        return self.warehouse_path.parent / "alerts.duckdb"

    @property
    def snapshot_path(self) -> Path:
        """The published snapshot that SQL users open (never the working warehouse)."""
        return self.serving_path or self.warehouse_path.parent / "segments.duckdb"

    @property
    def outbox_path(self) -> Path:
        """Where audience exports are written for the tools that take them (docs/audiences.md)."""
        return self.outbox_dir or self.warehouse_path.parent / "outbox"

    @property
    def models_dir(self) -> Path:
        """Versioned model artifacts, beside the warehouse file."""
        return self.warehouse_path.parent / "models"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        as_of_date = environ.get("SEG_AS_OF_DATE", "").strip()
        if as_of_date:
            parse_as_of_date(as_of_date)
        return cls(
            warehouse_path=Path(
                environ.get("SEG_WAREHOUSE_PATH", REPO_ROOT / "warehouse" / "warehouse.duckdb")
            ).absolute(),
            landing_dir=Path(environ.get("SEG_LANDING_DIR", DEFAULT_LANDING_DIR)).absolute(),
            as_of_date=as_of_date,
            demo_customers=int(environ.get("SEG_DEMO_CUSTOMERS", "20000")),
            demo_seed=int(environ.get("SEG_DEMO_SEED", "42")),
            quality_config=_optional_path(environ.get("SEG_QUALITY_CONFIG")),
            quality_docs_url=environ.get("SEG_QUALITY_DOCS_URL", DEFAULT_QUALITY_DOCS_URL),
            segmentation_config=_optional_path(environ.get("SEG_SEGMENTATION_CONFIG")),
            source_config=_optional_path(environ.get("SEG_SOURCE_CONFIG")),
            schedule_timezone=environ.get("SEG_SCHEDULE_TIMEZONE", "UTC"),
            daily_refresh_cron=environ.get("SEG_DAILY_REFRESH_CRON", "0 6 * * *"),
            weekly_retrain_cron=environ.get("SEG_WEEKLY_RETRAIN_CRON", "0 3 * * 1"),
            landing_settle_seconds=int(environ.get("SEG_LANDING_SETTLE_SECONDS", "60")),
            history_start_date=environ.get("SEG_HISTORY_START_DATE", "2024-01-01"),
            alert_webhook_url=environ.get("SEG_ALERT_WEBHOOK_URL", ""),
            alert_webhook_allow_local_http=_flag(environ, "SEG_ALERT_WEBHOOK_ALLOW_LOCAL_HTTP"),
            serving_path=_optional_path(environ.get("SEG_SERVING_PATH")),
            duckdb_memory_limit=environ.get("SEG_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT),
            source_root=_optional_path(environ.get("SEG_SOURCE_ROOT")),
            max_removed_share=_share(environ.get("SEG_MAX_REMOVED_SHARE", "0.5")),
            generate_demo=_flag(environ, "SEG_GENERATE_DEMO"),
            fairness_blocking=_flag(environ, "SEG_FAIRNESS_BLOCKING"),
            consent_policy=environ.get("SEG_CONSENT_POLICY", CONSENT_POLICIES[0]).strip(),
            retention_days=environ.get("SEG_RETENTION_DAYS", ""),
            predictions=_flag(environ, "SEG_PREDICTIONS", default=True),
            prediction_horizon_days=_number(environ, "SEG_PREDICTION_HORIZON_DAYS", "90", int),
            clv_annual_discount_rate=_number(environ, "SEG_CLV_ANNUAL_DISCOUNT_RATE", "0.10"),
            propensity_min_roc_auc=_number(environ, "SEG_PROPENSITY_MIN_ROC_AUC", "0.6"),
            audiences_config=_optional_path(environ.get("SEG_AUDIENCES_CONFIG")),
            outbox_dir=_optional_path(environ.get("SEG_OUTBOX_DIR")),
        )


def _flag(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    value = environ.get(name, "").strip().lower()
    if value not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ValueError(f"{name} must be 1 or 0, got '{value}'")
    return default if value == "" else value in ("1", "true", "yes")


def _share(value: str) -> float:
    try:
        return float(value)
    except ValueError as error:
        raise ValueError(
            f"SEG_MAX_REMOVED_SHARE must be a number like 0.5, got '{value}'"
        ) from error


def _number(environ: Mapping[str, str], name: str, default: str, kind: type = float) -> float:
    value = environ.get(name, default).strip()
    try:
        return kind(value)
    except ValueError as error:
        raise ValueError(f"{name} must be a {kind.__name__}, got '{value}'") from error


def check_prediction_settings(settings: "Settings") -> None:
    if not 7 <= settings.prediction_horizon_days <= 730:
        raise ValueError(
            "SEG_PREDICTION_HORIZON_DAYS must be between 7 and 730 days, got "
            f"{settings.prediction_horizon_days}"
        )
    if not 0 <= settings.clv_annual_discount_rate < 1:
        raise ValueError(
            "SEG_CLV_ANNUAL_DISCOUNT_RATE must be a yearly rate in [0, 1) such as 0.10, got "
            f"{settings.clv_annual_discount_rate}"
        )
    if not 0.5 <= settings.propensity_min_roc_auc <= 1:
        raise ValueError(
            "SEG_PROPENSITY_MIN_ROC_AUC must be between 0.5 (no better than chance) and 1, got "
            f"{settings.propensity_min_roc_auc}"
        )


def check_paths_apart(settings: "Settings") -> None:
    """Refuses settings under which one file would be written over another: the snapshot renamed
    over the warehouse, or the pipeline's files inside the landing folder it reads."""
    files = {
        "SEG_WAREHOUSE_PATH": settings.warehouse_path,
        "SEG_SERVING_PATH (the snapshot)": settings.snapshot_path,
        "the alerts file": settings.alerts_path,
    }
    seen: dict[Path, str] = {}
    for name, path in files.items():
        resolved = path.resolve()
        if resolved in seen:
            raise ValueError(
                f"{name} and {seen[resolved]} are the same file, {path}: set them apart."
            )
        seen[resolved] = name
        if resolved.is_relative_to(settings.landing_dir.resolve()):
            raise ValueError(
                f"{name} ({path}) is inside the landing folder {settings.landing_dir}: the "
                "pipeline's own files must live outside the folder it reads."
            )
    if settings.outbox_path.resolve().is_relative_to(settings.landing_dir.resolve()):
        raise ValueError(
            f"SEG_OUTBOX_DIR ({settings.outbox_path}) is inside the landing folder "
            f"{settings.landing_dir}: exports must not be read back as input."
        )
    if settings.landing_dir.resolve() in (
        settings.outbox_path.resolve(),
        settings.warehouse_path.parent.resolve(),
        settings.models_dir.resolve(),
        settings.quality_docs_dir.resolve(),
    ):
        raise ValueError(
            f"SEG_LANDING_DIR ({settings.landing_dir}) is the warehouse's own folder: point it at "
            "the folder your files arrive in."
        )


def check_webhook(url: str, allow_local_http: bool) -> None:
    """Alerts may carry run details: they go over https, or plain http to this machine when
    explicitly allowed (a local relay or a test receiver)."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS and allow_local_http:
        return
    raise ValueError(
        "SEG_ALERT_WEBHOOK_URL must be an https:// URL"
        + (
            "; plain http is allowed only to localhost with SEG_ALERT_WEBHOOK_ALLOW_LOCAL_HTTP=1"
            if parts.scheme == "http"
            else ""
        )
        + f" (got a {parts.scheme or 'schemeless'} URL)."
    )


def _optional_path(value: str | None) -> Path | None:
    return Path(value).absolute() if value else None


def parse_as_of_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"SEG_AS_OF_DATE must be a date like 2024-06-30, got '{value}'") from error


def resolve_as_of_date(value: str) -> date:
    """The configured as-of date, or today in UTC when none is configured."""
    return parse_as_of_date(value) if value else datetime.now(UTC).date()
