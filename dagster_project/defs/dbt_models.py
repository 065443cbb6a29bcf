"""dbt models as assets: staging, intermediate and marts, built and tested by `dbt build`."""

import json
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetExecutionContext, AssetKey, AssetMaterialization, Failure, Output
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.defs.dbt_project import SegmentsDbtTranslator, dbt_project
from dagster_project.defs.metadata import table_metadata
from dagster_project.defs.resources import (
    AsOfDateResource,
    DataQualityResource,
    PrivacyResource,
    WarehouseResource,
)
from dagster_project.lib.ingest.load_log import clear_rebuilds, pending_rebuilds
from dagster_project.lib.names import (
    CUSTOMERS_LEFT_OUT_TABLE,
    DIM_CUSTOMERS_TABLE,
    WAREHOUSE_POOL,
)
from dagster_project.lib.pii_key import (
    KeyMismatchError,
    prepare_build,
    record_build,
    resolve_key,
)
from dagster_project.lib.segment_store.reads import table_exists


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=SegmentsDbtTranslator(),
    pool=WAREHOUSE_POOL,
)
def dbt_models(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    as_of: AsOfDateResource,
    quality: DataQualityResource,
    privacy: PrivacyResource,
) -> Iterator[Any]:
    """Runs `dbt build` (models, tests, unit tests) on the warehouse as of the configured date.
    Staging models of orders, order lines and events are incremental (only newly loaded rows);
    after a load that deleted or replaced raw rows the build is a full refresh, once."""
    thresholds = quality.thresholds()
    key = resolve_key(Path(warehouse.path))
    with warehouse.connect() as conn:
        try:
            prepare_build(conn, key)
        except KeyMismatchError as error:
            raise Failure(description=str(error)) from None
        rebuilds = pending_rebuilds(conn)
    dbt_vars = {
        "warehouse_path": warehouse.path,
        "duckdb_memory_limit": warehouse.memory_limit,
        "as_of_date": as_of.resolve().isoformat(),
        # dbt cleans and tests with the same tolerances as the raw checks.
        "future_tolerance_hours": thresholds.future_tolerance_hours,
        "max_dirty_row_share": thresholds.max_dirty_row_share,
        # The key file's path, never the key (SEG_PII_HASH_KEY, when set, reaches dbt itself).
        "pii_key_file": str(key.file or ""),
        **privacy.dbt_vars(),
    }
    context.log.info(f"dbt vars: {dbt_vars}")
    full_refresh = ["--full-refresh"] if rebuilds else []
    for source, reason in rebuilds:
        context.log.info(f"Full refresh: raw.{source} {reason}")
    invocation = dbt.cli(
        ["build", *full_refresh, "--vars", json.dumps(dbt_vars)],
        context=context,
        raise_on_error=False,
    )
    # dbt holds the DuckDB write lock until it exits; only then can the tables be read, through one
    # short-lived connection (dagster-dbt's own fetchers would keep a connection open in-process).
    events = list(invocation.stream())
    with warehouse.connect(read_only=True) as conn:
        for event in events:
            yield _with_table_metadata(conn, invocation.manifest, event)
        refusal = everyone_left_out(conn, privacy.consent_policy)
    if refusal:
        raise Failure(description=refusal)
    error = invocation.get_error()
    if error is not None:
        raise error
    # A pending full refresh is done (and the key's hashes all made) only when this build covered
    # every incremental model.
    rebuilt = not rebuilds or _builds_all_incremental_models(context, invocation.manifest)
    with warehouse.connect() as conn:
        if rebuilds and rebuilt:
            clear_rebuilds(conn)
        if rebuilt:
            record_build(conn, key)
    # Each run gets its own target folder; keep it only when it explains a failure.
    shutil.rmtree(invocation.target_path, ignore_errors=True)


def everyone_left_out(conn: duckdb.DuckDBPyConnection, consent_policy: str) -> str:
    """Why nobody can be segmented, when the consent policy left out every known customer (own
    data without a consent column, typically); empty otherwise."""
    if not table_exists(conn, CUSTOMERS_LEFT_OUT_TABLE) or not table_exists(
        conn, DIM_CUSTOMERS_TABLE
    ):
        return ""
    ((profiled,),) = conn.execute(f"select count(*) from {DIM_CUSTOMERS_TABLE}").fetchall()
    ((left_out,),) = conn.execute(f"select count(*) from {CUSTOMERS_LEFT_OUT_TABLE}").fetchall()
    if profiled or not left_out:
        return ""
    return (
        f"All {left_out} customers known on the as-of date are left out by "
        f"SEG_CONSENT_POLICY={consent_policy}: none has marketing consent in raw.customers "
        "(column marketing_consent false or missing; with your own files, map it in the source "
        "mapping). If your legal basis for analysing customers is legitimate interest, set "
        "SEG_CONSENT_POLICY=profile_all_activate_consented: everyone is profiled and only "
        "consenting customers are ever activated (docs/privacy.md#consent)."
    )


def _builds_all_incremental_models(
    context: AssetExecutionContext, manifest: Mapping[str, Any]
) -> bool:
    """Whether this run rebuilt every incremental model, so pending rebuilds are done."""
    incremental = {
        AssetKey(node["name"])
        for node in manifest["nodes"].values()
        if node["config"].get("materialized") == "incremental"
    }
    return incremental <= context.selected_asset_keys


def _with_table_metadata(
    conn: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any], event: Any
) -> Any:
    """Row count and column schema of the table a model or seed materialized."""
    if not isinstance(event, Output | AssetMaterialization):
        return event
    node = manifest["nodes"].get(event.metadata["unique_id"].value)
    if node is None or node["config"].get("materialized") not in ("table", "seed", "incremental"):
        return event
    return event.with_metadata(
        {**event.metadata, **table_metadata(conn, node["schema"], node["alias"])}
    )
