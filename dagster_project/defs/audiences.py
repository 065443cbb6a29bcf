"""One asset per audience of the audiences file (SEG_AUDIENCES_CONFIG, docs/audiences.md), and
`audience_lift`, which measures them all; in the daily and the full refresh.

An audience asset selects, holds out its control group, and writes its outbox batch
(lib/audiences/export.py); its checks are decided before anything is published, so a failing one
means nothing of this run left: `size_within_bounds` (the exported arm against the last export)
and `no_excluded_customer_exported` (every file read back). They do not stop the rest of the
refresh: the segments are published whatever an audience does. `delivered` (when the audience
has an HTTP destination) warns and alerts when the destination did not take a batch; the batch
stays in the outbox and the next run sends it again.
"""

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from dagster_project.defs.metadata import markdown_table
from dagster_project.defs.model_report import image
from dagster_project.defs.quality import CUSTOMER_FEATURES
from dagster_project.defs.resources import (
    AlertsResource,
    AudiencesResource,
    WarehouseResource,
)
from dagster_project.lib.alerts import RunFailure
from dagster_project.lib.audiences.audience import Audience, AudiencesConfig
from dagster_project.lib.audiences.config import describe, load_audiences
from dagster_project.lib.audiences.delivery import deliver
from dagster_project.lib.audiences.export import ExportResult, export_audience
from dagster_project.lib.audiences.impact import MEASURES, measure_lift, replace_lift
from dagster_project.lib.audiences.outbox import batches
from dagster_project.lib.names import (
    AUDIENCE_LIFT,
    CUSTOMER_PREDICTIONS,
    CUSTOMER_SEGMENTS,
    DIM_CUSTOMERS,
    WAREHOUSE_POOL,
)
from dagster_project.lib.segment_store.audiences import record_delivery
from dagster_project.lib.segment_store.reads import features_as_of
from dagster_project.lib.settings import Settings
from ml.lift_plots import lift_plot

SIZE_WITHIN_BOUNDS = "size_within_bounds"
NO_EXCLUDED_CUSTOMER = "no_excluded_customer_exported"
DELIVERED = "delivered"


def build_audiences(settings: Settings) -> list[AssetsDefinition]:
    """The audience assets and audience_lift; none without an audiences file. The file is read
    and validated here, when the code location loads: a mistake stops everything before any
    run, naming the audience and the key."""
    if settings.audiences_config is None:
        return []
    config = load_audiences(settings.audiences_config, settings.predictions)
    return [*(_audience_asset(config, audience) for audience in config.audiences), _lift(config)]


def _audience_asset(config: AudiencesConfig, audience: Audience) -> AssetsDefinition:
    key = AssetKey(audience.asset_name)
    checks = [
        AssetCheckSpec(SIZE_WITHIN_BOUNDS, asset=key, description=_SIZE_DESCRIPTION),
        AssetCheckSpec(NO_EXCLUDED_CUSTOMER, asset=key, description=_EXCLUDED_DESCRIPTION),
    ]
    if audience.http is not None:
        checks.append(AssetCheckSpec(DELIVERED, asset=key, description=_DELIVERED_DESCRIPTION))
    upstream = [CUSTOMER_SEGMENTS, DIM_CUSTOMERS]
    if audience.uses_predictions:
        upstream.append(CUSTOMER_PREDICTIONS)

    @asset(
        key=key,
        deps=[*map(AssetKey, upstream), CUSTOMER_FEATURES],
        check_specs=checks,
        group_name="audiences",
        kinds={"duckdb", "parquet", "csv"},
        pool=WAREHOUSE_POOL,
        description=audience.description or f"Audience {audience.name} ({audience.channel}).",
        metadata={"definition": MetadataValue.json(dict(describe(audience)))},
    )
    def _export(
        context: AssetExecutionContext,
        warehouse: WarehouseResource,
        audiences: AudiencesResource,
        alerts: AlertsResource,
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        with warehouse.connect() as conn:
            result = export_audience(
                conn,
                audience,
                config.path,
                audiences.outbox,
                audiences.erasure_key(),
                features_as_of(conn),
                context.run.run_id,
            )
        yield from _checks(key, result)
        if audience.http is not None:  # this run's batch, and any an earlier run left
            yield _delivery(context, key, audience, audiences, warehouse, alerts)
        yield MaterializeResult(metadata=_export_metadata(result))

    return _export


def _checks(key: AssetKey, result: ExportResult) -> Iterator[AssetCheckResult]:
    yield AssetCheckResult(
        asset_key=key,
        check_name=SIZE_WITHIN_BOUNDS,
        passed=result.size.passed,
        description=result.size.description,
    )
    yield AssetCheckResult(
        asset_key=key,
        check_name=NO_EXCLUDED_CUSTOMER,
        passed=result.no_excluded_customer.passed,
        description=result.no_excluded_customer.description,
    )


def _delivery(
    context: AssetExecutionContext,
    key: AssetKey,
    audience: Audience,
    audiences: AudiencesResource,
    warehouse: WarehouseResource,
    alerts: AlertsResource,
) -> AssetCheckResult:
    token = os.environ.get(audience.http.token_env, "") if audience.http.token_env else ""
    report = deliver(batches(audiences.outbox, audience.name), audience.http, token)
    with warehouse.connect() as conn:
        record_delivery(conn, audience.name, context.run.run_id, report.summary)
    if report.failed:
        posted = alerts.record(
            RunFailure(
                run_id=context.run.run_id,
                job_name=context.run.job_name,
                failed_at=datetime.now(UTC),
                step_key=audience.asset_name,
                error=f"audience delivery {report.summary}; the outbox keeps it for the next run",
            )
        )
        context.log.warning(f"{audience.name}: delivery {report.summary} (alert {posted})")
    return AssetCheckResult(
        asset_key=key,
        check_name=DELIVERED,
        passed=not report.failed,
        severity=AssetCheckSeverity.WARN,
        description=report.summary,
        metadata={"requests": MetadataValue.int(report.requests)},
    )


def _export_metadata(result: ExportResult) -> dict[str, MetadataValue]:
    run = result.run
    counts = {
        "matched": run.matched,
        "treated (exported)": run.treated,
        "control (held out)": run.control,
        "left out: no marketing consent": run.left_out_no_marketing_consent,
        "left out: erased": run.left_out_erased,
        "added": run.added,
        "removed": run.removed,
        "left without listing (may no longer be activated)": run.removed_unlisted,
    }
    metadata = {
        "exported": MetadataValue.bool(run.exported),
        "as_of_date": MetadataValue.text(run.as_of_date.isoformat()),
        "counts": markdown_table(
            pd.DataFrame({"": list(counts), "customers": list(counts.values())}),
            max_rows=len(counts),
        ),
        "treated": MetadataValue.int(run.treated),
        "control": MetadataValue.int(run.control),
    }
    if result.batch is not None:
        metadata["outbox batch"] = MetadataValue.path(str(result.batch.folder))
    else:
        metadata["not_exported_because"] = MetadataValue.text(run.not_exported_because)
    return metadata


def _lift(config: AudiencesConfig) -> AssetsDefinition:
    @asset(
        name=AUDIENCE_LIFT,
        deps=[AssetKey(audience.asset_name) for audience in config.audiences],
        group_name="audiences",
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
    )
    def audience_lift(warehouse: WarehouseResource) -> MaterializeResult:
        """Treated against control, for every audience and activation date whose window has
        passed: conversion, orders and revenue per customer, with 95 % intervals."""
        with warehouse.connect() as conn:
            as_of_date = features_as_of(conn)
            lift = pd.concat(
                [
                    measure_lift(conn, audience.name, audience.lift_window_days, as_of_date)
                    for audience in config.audiences
                ],
                ignore_index=True,
            )
            replace_lift(conn, lift)
        metadata = {
            "rows": MetadataValue.int(len(lift)),
            "measures": MetadataValue.md("\n".join(f"- `{m}`: {t}" for m, t in MEASURES.items())),
            "lift": markdown_table(lift.round(4), max_rows=60),
        }
        if not lift.empty:
            metadata["lift_plot"] = image(lift_plot(lift))
        return MaterializeResult(metadata=metadata)

    return audience_lift


_SIZE_DESCRIPTION = (
    "The exported (treated) arm holds between 1/max_size_ratio and max_size_ratio times the "
    "customers of the last export; otherwise nothing is exported this run."
)
_EXCLUDED_DESCRIPTION = (
    "Every file of the batch, read back before it is published, names only customers who may be "
    "activated: profiled, with marketing consent, not erased."
)
_DELIVERED_DESCRIPTION = (
    "The HTTP destination accepted every pending batch (warns and alerts otherwise; the outbox "
    "keeps the batches for the next run)."
)
