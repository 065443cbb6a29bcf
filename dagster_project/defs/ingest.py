"""Ingestion: landing files into the warehouse's raw schema, one asset per raw source."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
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
from dagster_project.lib.erasure.suppression import drop_suppressed_rows, erasure_key
from dagster_project.lib.ingest.contract import RAW_SOURCES, RawSource
from dagster_project.lib.ingest.errors import InputFileError, without_values
from dagster_project.lib.ingest.guards import RowRemovalError
from dagster_project.lib.ingest.landing_files import load_landing
from dagster_project.lib.ingest.load_log import LoadedTable
from dagster_project.lib.ingest.mapped_checks import Cleaning
from dagster_project.lib.ingest.mapped_load import load_mapped
from dagster_project.lib.ingest.mapping import Mapping, SourceMappingError
from dagster_project.lib.ingest.validated_loads import (
    RolledBack,
    ensure_ledger,
    record_validated,
    roll_back_unvalidated,
    unvalidated,
    unvalidated_loads,
)
from dagster_project.lib.names import RAW_SCHEMA, WAREHOUSE_POOL, raw_asset_name
from data_checks.suites.raw import raw_batches, unvalidated_rows_with_sample
from data_checks.thresholds import Thresholds
from data_checks.validation import Validator

RAW_CHECK = "meets_raw_expectations"
NOTHING_NEW = "every row of this table passed this check when it was loaded: nothing to validate"


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
    limits = landing.limits()
    with warehouse.connect() as conn:
        try:
            mapping = landing.mapping()
            if mapping is None:
                loaded = load_landing(conn, Path(landing.path), selected, datetime.now(UTC), limits)
                cleaning = {}
            else:
                loaded, cleaning = load_mapped(conn, mapping, selected, datetime.now(UTC), limits)
        except (SourceMappingError, RowRemovalError) as error:
            raise Failure(description=str(error)) from error
        except duckdb.Error as error:  # its text may quote a value of a personal column
            raise Failure(
                description=f"The load failed in DuckDB ({without_values(str(error))}); nothing "
                "was loaded, the raw tables are unchanged."
            ) from None
        except InputFileError as error:
            raise Failure(
                description=str(error),
                metadata={
                    "file": MetadataValue.path(str(error.path)),
                    "column": error.column or "",
                    "offending rows": markdown_table(error.sample),
                },
            ) from error
        # Rows of erased customers that this delivery brought back go before anything reads them.
        dropped = drop_suppressed_rows(conn, erasure_key(Path(warehouse.path)), datetime.now(UTC))
        metadata = {table.table: table_metadata(conn, RAW_SCHEMA, table.table) for table in loaded}
    for table in loaded:
        yield MaterializeResult(
            asset_key=raw_asset_key(table.table),
            metadata={
                **metadata[table.table],
                **_provenance(table, mapping, cleaning),
                "rows_of_erased_customers_dropped": MetadataValue.int(
                    dropped.get(f"{RAW_SCHEMA}.{table.table}", 0)
                ),
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
        "files_still_being_written": MetadataValue.md(
            "\n".join(f"- `{path}` (waits for a later run)" for path in table.waiting) or "none"
        ),
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
    """Validates every row of each raw table that has not passed this check yet (all of them on
    a first load or a replace), with a sample of the validated rows for the share tolerances,
    against its Great Expectations suite. When any table fails, every load not yet validated is
    rolled back (lib/ingest/validated_loads.py): its files are loaded and checked again on the
    next run, so bad rows never reach staging, whatever arrives later."""
    thresholds = quality.thresholds()
    validator = quality.validator()
    mapping = landing.mapping()
    selected = {key.asset_key for key in context.selected_asset_check_keys}
    results: list[AssetCheckResult] = []
    validated: dict[str, list] = {}
    with warehouse.connect() as conn:
        ensure_ledger(conn)
        for source in RAW_SOURCES:
            key = raw_asset_key(source.table)
            if key not in selected:
                continue
            if mapping is not None and source.table not in mapping.source_names():
                results.append(_nothing_to_validate(key, f"not provided: not in {mapping.path}"))
                continue
            loads = unvalidated_loads(conn, source.table)
            if not loads:
                results.append(_nothing_to_validate(key, NOTHING_NEW))
                continue
            validated[source.table] = loads
            results.append(_validate(conn, source, thresholds, validator, quality.page_url))
        now = datetime.now(UTC)
        if all(result.passed for result in results):
            for table, loads in validated.items():
                record_validated(conn, table, loads, now)
        else:
            rolled_back = roll_back_unvalidated(conn, [source.table for source in RAW_SOURCES])
            results = [_with_rollback(result, rolled_back) for result in results]
    yield from results


def _nothing_to_validate(key: AssetKey, note: str) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=key,
        check_name=RAW_CHECK,
        passed=True,
        metadata={"validated_rows": 0, "note": note},
    )


def _validate(
    conn: duckdb.DuckDBPyConnection,
    source: RawSource,
    thresholds: Thresholds,
    validator: Validator,
    page_url: Callable[[Path], str],
) -> AssetCheckResult:
    """The table's unvalidated rows against its suite; a table that is all unvalidated (a first
    load, a replace) is validated as it is, without a sample."""
    table = source.table
    waiting, rows_in_table = conn.execute(
        f"select count(*) filter (where {unvalidated(table)}), count(*) from {RAW_SCHEMA}.{table}"
    ).fetchone()
    rows = (
        None
        if waiting == rows_in_table
        else unvalidated_rows_with_sample(table, unvalidated(table))
    )
    contract = {column.name: column.data_type for column in source.columns}
    batches = raw_batches(table, contract, thresholds, rows)
    return check_result(
        validator.validate(conn, batches), page_url, raw_asset_key(table), RAW_CHECK
    )


def _with_rollback(result: AssetCheckResult, rolled_back: list[RolledBack]) -> AssetCheckResult:
    """The result, saying which loads were taken back (every table's, whichever failed)."""
    if not rolled_back:
        return result
    taken_back = pd.DataFrame(
        [(entry.table, entry.rows, ", ".join(entry.files) or "-") for entry in rolled_back],
        columns=["raw table", "rows rolled back", "files to load again"],
    )
    note = (
        "A raw check failed: every load not yet validated was rolled back. Its files stay in "
        "the landing folder and are loaded and checked again on the next run until they are "
        "fixed or removed; nothing reached staging."
    )
    return AssetCheckResult(
        asset_key=result.asset_key,
        check_name=result.check_name,
        passed=result.passed,
        severity=result.severity,
        description=result.description,
        metadata={
            **result.metadata,
            "rolled back": markdown_table(taken_back),
            "rollback": MetadataValue.text(note),
        },
    )
