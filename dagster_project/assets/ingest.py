"""Ingestion: landing files into the warehouse's raw schema, one asset per raw source."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    multi_asset,
    multi_asset_check,
)

from dagster_project.ingest.contract import RAW_SCHEMA, RAW_SOURCES, RawSource
from dagster_project.ingest.loader import LandingFileError, LoadedTable, load_landing
from dagster_project.ingest.mapping import Mapping, SourceMappingError
from dagster_project.ingest.user_files import Cleaning, load_mapped
from dagster_project.metadata import check_result, markdown_table, table_metadata
from dagster_project.resources import (
    WAREHOUSE_POOL,
    DataQualityResource,
    LandingFolderResource,
    WarehouseResource,
)
from data_checks.suites.raw import raw_batches

RAW_CHECK = "meets_raw_expectations"


def raw_asset_key(table: str) -> AssetKey:
    return AssetKey(f"raw_{table}")


def _spec(source: RawSource) -> AssetSpec:
    return AssetSpec(
        key=raw_asset_key(source.table),
        description=f"{source.description} Loaded from landing folder `{source.table}/`, or "
        "from your own files through the source mapping (SEG_SOURCE_CONFIG).",
        group_name="ingest",
        kinds={"duckdb", "parquet"},
        metadata={
            "dagster/column_schema": TableSchema(
                columns=[TableColumn(c.name, c.data_type) for c in source.columns]
            ),
            "dagster/table_name": f"{RAW_SCHEMA}.{source.table}",
        },
    )


@multi_asset(
    name="load_landing_files",
    specs=[_spec(source) for source in RAW_SOURCES],
    can_subset=True,
    pool=WAREHOUSE_POOL,
)
def raw_tables(
    context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingFolderResource
) -> Iterator[MaterializeResult]:
    """Validate the files of the selected sources (the landing folder's, or the user's own through
    the source mapping of SEG_SOURCE_CONFIG) against the raw contract, then replace their raw
    tables in one transaction. A bad file fails the run, naming the file, the column and
    offending rows, and leaves every raw table as it was."""
    selected = [s for s in RAW_SOURCES if raw_asset_key(s.table) in context.selected_asset_keys]
    with warehouse.connect() as conn:
        try:
            mapping = landing.mapping()
            if mapping is None:
                loaded = load_landing(conn, Path(landing.path), selected, datetime.now(UTC))
                cleaning = {}
            else:
                loaded, cleaning = load_mapped(conn, mapping, selected, datetime.now(UTC))
        except SourceMappingError as error:
            raise Failure(description=str(error)) from error
        except LandingFileError as error:
            raise Failure(
                description=str(error),
                metadata={
                    "file": MetadataValue.path(str(error.path)),
                    "column": error.column or "",
                    "offending rows": markdown_table(error.sample),
                },
            ) from error
        metadata = {table.table: table_metadata(conn, RAW_SCHEMA, table.table) for table in loaded}
    for table in loaded:
        yield MaterializeResult(
            asset_key=raw_asset_key(table.table),
            metadata={
                **metadata[table.table],
                **_provenance(table, mapping, cleaning),
            },
        )


def _provenance(
    table: LoadedTable, mapping: Mapping | None, cleaning: dict[str, Cleaning]
) -> dict[str, MetadataValue]:
    """Which files the table came from and, for a user's files, what cleaning removed."""
    files = {"files": MetadataValue.md("\n".join(f"- `{path}`" for path in table.files))}
    if mapping is None:
        return files
    source = next((m for m in mapping.sources if m.source.table == table.table), None)
    if source is None:
        return {"provided": MetadataValue.text(f"no: not in {mapping.path}")}
    counts = cleaning[source.files.name]
    steps = pd.DataFrame(
        [("rows read", counts.rows_read)]
        + [(f"removed: {reason}", rows) for reason, rows in counts.removed.items()]
        + [("rows kept", counts.rows_kept)],
        columns=["step", "rows"],
    )
    return {
        **files,
        "provided": MetadataValue.text(f"yes: files.{source.files.name} of {mapping.path}"),
        "cleaning": markdown_table(steps),
    }


@multi_asset_check(
    name="raw_table_checks",
    specs=[
        AssetCheckSpec(
            RAW_CHECK,
            asset=raw_asset_key(source.table),
            blocking=True,
            description=f"Great Expectations suite raw.{source.table}: contract columns and "
            "types, keys, allowed values, timestamps, prices. Blocks dbt when it fails.",
        )
        for source in RAW_SOURCES
    ],
    can_subset=True,
    pool=WAREHOUSE_POOL,
)
def raw_table_checks(
    context: AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    quality: DataQualityResource,
    landing: LandingFolderResource,
) -> Iterator[AssetCheckResult]:
    """Validates each loaded raw table with its Great Expectations suite. A source that the
    source mapping does not provide has nothing to validate: its check passes and says so."""
    thresholds = quality.thresholds()
    validator = quality.validator()
    mapping = landing.mapping()
    selected = {key.asset_key for key in context.selected_asset_check_keys}
    with warehouse.connect(read_only=True) as conn:
        for source in RAW_SOURCES:
            key = raw_asset_key(source.table)
            if key not in selected:
                continue
            if mapping is not None and source.table not in mapping.source_names():
                yield AssetCheckResult(
                    asset_key=key,
                    check_name=RAW_CHECK,
                    passed=True,
                    metadata={"provided": f"no: not in {mapping.path}; nothing to validate"},
                )
                continue
            contract = {column.name: column.data_type for column in source.columns}
            result = validator.validate(conn, raw_batches(source.table, contract, thresholds))
            yield check_result(result, quality, key, RAW_CHECK)
