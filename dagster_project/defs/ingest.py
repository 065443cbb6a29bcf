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

from dagster_project.defs.metadata import check_result, markdown_table, table_metadata
from dagster_project.defs.resources import (
    DataQualityResource,
    LandingFolderResource,
    WarehouseResource,
)
from dagster_project.lib.ingest.contract import RAW_SOURCES, RawSource
from dagster_project.lib.ingest.errors import InputFileError
from dagster_project.lib.ingest.landing_files import load_landing
from dagster_project.lib.ingest.load_log import LoadedTable, latest_load
from dagster_project.lib.ingest.mapped_checks import Cleaning
from dagster_project.lib.ingest.mapped_load import load_mapped
from dagster_project.lib.ingest.mapping import Mapping, SourceMappingError
from dagster_project.lib.names import RAW_SCHEMA, WAREHOUSE_POOL, raw_asset_name
from data_checks.suites.raw import newest_rows_with_sample, raw_batches

RAW_CHECK = "meets_raw_expectations"
NOTHING_NEW = "the newest load added no rows to this table; its rows were validated when loaded"


def raw_asset_key(table: str) -> AssetKey:
    return AssetKey(raw_asset_name(table))


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
    """Validate the new files of the selected sources (the landing folder's, or the user's own
    through the source mapping of SEG_SOURCE_CONFIG) against the raw contract, then append them to
    their raw tables (landing files; changed or removed ones are replaced) or replace the tables
    (mapped files), all in one transaction. A bad file fails the run, naming the file, the column
    and offending rows, and leaves every raw table as it was."""
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
        except InputFileError as error:
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
    """Which files the table came from, what this load added, and, for a user's files, what
    cleaning removed."""
    files = {
        "files": MetadataValue.md("\n".join(f"- `{path}`" for path in table.files)),
        "files_loaded_now": MetadataValue.int(len(table.new_files)),
        "rows_added": MetadataValue.int(table.rows_added),
        "full_dbt_refresh_because": MetadataValue.text(table.rebuild_reason or "no: appended"),
    }
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
    """Validates the rows the newest load added to each raw table (all of them on a first load
    or a replace), with a sample of the older rows for the share tolerances, against its Great
    Expectations suite. A table the newest load added nothing to,
    or a source the source mapping does not provide, has nothing to validate: its check passes
    and says so."""
    thresholds = quality.thresholds()
    validator = quality.validator()
    mapping = landing.mapping()
    selected = {key.asset_key for key in context.selected_asset_check_keys}
    with warehouse.connect(read_only=True) as conn:
        newest = latest_load(conn, [source.table for source in RAW_SOURCES])
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
            added, rows_in_table = conn.execute(
                f"select count(*) filter (where _loaded_at = ?), count(*) "
                f"from {RAW_SCHEMA}.{source.table}",
                [newest],
            ).fetchone()
            if added == 0:
                yield AssetCheckResult(
                    asset_key=key,
                    check_name=RAW_CHECK,
                    passed=True,
                    metadata={"validated_rows": 0, "note": NOTHING_NEW},
                )
                continue
            contract = {column.name: column.data_type for column in source.columns}
            # A first load is the whole table: validated as it is, without a sample.
            first_load = added == rows_in_table
            rows = None if first_load else newest_rows_with_sample(source.table, str(newest))
            batches = raw_batches(source.table, contract, thresholds, rows)
            yield check_result(validator.validate(conn, batches), quality.page_url, key, RAW_CHECK)
