"""Serving: the read-only snapshot of the segment tables that SQL users open."""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from dagster_project.defs.metadata import markdown_table
from dagster_project.defs.quality import CUSTOMER_FEATURES
from dagster_project.defs.resources import ServingResource, WarehouseResource
from dagster_project.defs.segmentation import PUBLISHED_TABLES
from dagster_project.lib.names import (
    BACKTESTS,
    CUSTOMER_PREDICTIONS,
    DIM_CUSTOMERS,
    FAIRNESS_AUDIT,
    SERVING_SNAPSHOT,
    WAREHOUSE_POOL,
)
from dagster_project.lib.snapshot import Snapshot


def build_serving_snapshot(activation: list[AssetKey]) -> AssetsDefinition:
    """The snapshot asset, after every segment table and, when audiences are configured, after
    `activation` (the audience assets and audience_lift), so one publish carries them all."""

    @asset(
        name=SERVING_SNAPSHOT,
        deps=[
            *map(AssetKey, [*PUBLISHED_TABLES, BACKTESTS, FAIRNESS_AUDIT, CUSTOMER_PREDICTIONS]),
            CUSTOMER_FEATURES,
            AssetKey(DIM_CUSTOMERS),
            *activation,
        ],
        group_name="serving",
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
    )
    def serving_snapshot(
        context: AssetExecutionContext, warehouse: WarehouseResource, serving: ServingResource
    ) -> MaterializeResult:
        """Publishes schema `segments`, customer_features and dim_customers (without contact
        hashes) to the read-only snapshot file SQL users open: written aside, then swapped in
        with an atomic rename, so a reader sees the previous publication or this one, never a
        mix."""
        snapshot = serving.publish(warehouse, context.run.run_id)
        return MaterializeResult(metadata=snapshot_metadata(snapshot))

    return serving_snapshot


def snapshot_metadata(snapshot: Snapshot) -> dict[str, MetadataValue]:
    rows = [{"table": table, "rows": count} for table, count in snapshot.table_rows.items()]
    return {
        "path": MetadataValue.path(str(snapshot.path)),
        "model_version": MetadataValue.text(snapshot.model_version),
        "as_of_date": MetadataValue.text(snapshot.as_of_date.isoformat()),
        "tables": markdown_table(pd.DataFrame(rows), max_rows=len(rows)),
        "size_mib": MetadataValue.float(round(snapshot.bytes / 2**20, 2)),
        "publish_seconds": MetadataValue.float(snapshot.seconds),
    }
