"""`make run`: the whole pipeline on the embedded warehouse, generating demo data on first use.

    python -m dagster_project.run [--job full_refresh|daily_refresh|retrain]

runs one job of the code location in this process, on the instance of DAGSTER_HOME: what the
daemon's schedules and sensors start, for a cron or a shell without the daemon.
"""

import argparse
import os
import sys
import time
from contextlib import AbstractContextManager
from dataclasses import replace

import duckdb
from dagster import DagsterEvent, DagsterEventType, DagsterInstance, ExecuteInProcessResult

from dagster_project.defs.interrupted_runs import fail_interrupted_runs
from dagster_project.defs.jobs import daily_refresh_job, full_refresh_job, retrain_job
from dagster_project.lib import names, warehouse_lock
from dagster_project.lib.audiences.config import load_audiences
from dagster_project.lib.duckdb_files import connect
from dagster_project.lib.feature_sources import feature_needs, unobserved_features
from dagster_project.lib.ingest.contract import RAW_SOURCES
from dagster_project.lib.ingest.landing_files import landing_files
from dagster_project.lib.settings import (
    DEFAULT_LANDING_DIR,
    REPO_ROOT,
    Settings,
    resolve_as_of_date,
)
from demo_data.generate import DemoSpec, generate

SUMMARY_SCHEMAS = (
    names.RAW_SCHEMA,
    names.ENRICHED_SCHEMA,
    names.STAGING_SCHEMA,
    names.INTERMEDIATE_SCHEMA,
    names.MARTS_SCHEMA,
    names.SEGMENTS_SCHEMA,
)


class LandingFolderError(ValueError):
    """The landing folder holds no landing files and is not one demo data may be written into."""


def ensure_landing_data(settings: Settings) -> bool:
    """Generate demo data into the landing folder when it has no files at all and it is the
    default folder (or SEG_GENERATE_DEMO=1 asks for it); True when it did. A source mapping
    names the user's own files: nothing is generated then."""
    if settings.source_config is not None or any(
        landing_files(settings.landing_dir, source) for source in RAW_SOURCES
    ):
        return False
    folder = settings.landing_dir
    held = [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []
    if held or not (folder == DEFAULT_LANDING_DIR or settings.generate_demo):
        raise LandingFolderError(
            f"SEG_LANDING_DIR={folder} holds no landing files (<source>/*.parquet)"
            + (f" but {len(held):,} other file(s)" if held else "")
            + ". Nothing was generated and the warehouse is untouched. Check the path; for your "
            "own CSV or JSON exports use a source mapping (SEG_SOURCE_CONFIG, docs/own-data.md)"
            + ("" if held else "; to generate demo data into this folder, set SEG_GENERATE_DEMO=1")
            + "."
        )
    spec = DemoSpec(
        customers=settings.demo_customers,
        seed=settings.demo_seed,
        end_date=resolve_as_of_date(settings.as_of_date),
    )
    generate(spec, folder)
    return True


def run_job(
    settings: Settings,
    instance: DagsterInstance,
    job_name: str = full_refresh_job.name,
    ops_config: dict | None = None,
) -> ExecuteInProcessResult:
    """Runs a job of the code location (by default `full_refresh`) in this process, with the
    configuration of its ops, if any."""
    # Imported here: importing the code location builds its module-level `defs` from the
    # environment, which must not happen before main() has checked the settings.
    from dagster_project.definitions import build_definitions

    job = build_definitions(settings).resolve_job_def(job_name)
    run_config: dict = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    if ops_config:
        run_config["ops"] = ops_config
    return job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config)


def table_row_counts(settings: Settings) -> list[tuple[str, str, int]]:
    with _read_warehouse(settings) as conn:
        tables = conn.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where list_contains(?, schema_name) order by schema_name, table_name",
            [list(SUMMARY_SCHEMAS)],
        ).fetchall()
        return [
            (schema, table, conn.execute(f"select count(*) from {schema}.{table}").fetchone()[0])
            for schema, table in tables
        ]


def features_without_data(settings: Settings) -> list[str]:
    """customer_features columns that are null for everyone: their source was not provided."""
    with _read_warehouse(settings) as conn:
        return unobserved_features(conn)


def _read_warehouse(settings: Settings) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    return connect(settings.warehouse_path, settings.duckdb_memory_limit, read_only=True)


def why_it_stopped(result: ExecuteInProcessResult) -> str:
    """The failed data-quality checks, expectation by expectation (in words, with the column, how
    many rows, a few offending keys and the Data Docs page), and any other failed step's error."""
    failed_checks = [
        event
        for event in result.all_events
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
        and not event.asset_check_evaluation_data.passed
        and event.asset_check_evaluation_data.blocking
    ]
    lines = []
    if failed_checks:
        lines.append(f"Stopped by {len(failed_checks)} failed data-quality check(s):")
    for event in failed_checks:
        check = event.asset_check_evaluation_data
        lines.append(f"  {check.asset_key.to_user_string()} / {check.check_name}")
        failures = check.metadata.get(names.FAILED_EXPECTATIONS_METADATA)
        for failure in failures.value if failures else []:
            lines += [
                f"    - {failure['table']}: {failure['expectation']}: {failure['found']}",
                f"      column: {failure['column'] or '(the table)'}; offending keys: "
                f"{', '.join(failure['keys']) or 'none sampled'}",
                f"      Data Docs: {failure['data_docs']}",
            ]
    explained = {event.step_key for event in failed_checks}
    for event in result.get_step_failure_events():
        if event.step_key not in explained:
            lines.append(f"Step {event.step_key} failed: {_step_error(event)}")
    if failed_checks:
        lines.append(
            "Fix the data (or a threshold in SEG_QUALITY_CONFIG) and run again; nothing after "
            "the failed check ran, and the published segments are unchanged."
        )
    lines.append("The whole run is in the log above and in `make ui`.")
    return "\n".join(lines)


def _step_error(event: DagsterEvent) -> str:
    failure = event.step_failure_data
    described = failure.user_failure_data.description if failure.user_failure_data else None
    return (described or (failure.error.message if failure.error else "")).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.run", description=__doc__)
    parser.add_argument(
        "--job",
        choices=[job.name for job in (full_refresh_job, daily_refresh_job, retrain_job)],
        default=full_refresh_job.name,
    )
    job_name = parser.parse_args(argv).job
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home"))
    try:
        settings = Settings.from_env()
        if settings.audiences_config is not None:
            load_audiences(settings.audiences_config, settings.predictions)
        generated = ensure_landing_data(settings)
    except ValueError as error:  # settings or the audiences file refused: nothing ran
        print(f"Refused: {error}", file=sys.stderr)
        return 2
    if generated:
        print(
            f"Landing folder was empty: generated demo data for {settings.demo_customers:,} "
            f"customers in {settings.landing_dir}"
        )
        # The generator has finished writing: no file is in the middle of being written.
        settings = replace(settings, landing_settle_seconds=0)
    started = time.perf_counter()
    with DagsterInstance.get() as instance:
        for run_id in fail_interrupted_runs(instance):
            print(f"Run {run_id} was interrupted (its process is gone): marked failed.")
        result = run_job(settings, instance, job_name)
    if not result.success:
        print(f"\nRun {result.run_id} failed.\n{why_it_stopped(result)}", file=sys.stderr)
        return 1
    print(f"\n{job_name} finished in {time.perf_counter() - started:.0f} s (run {result.run_id}).")
    print(f"Warehouse: {settings.warehouse_path}")
    print(f"Snapshot for SQL users (make sql): {settings.snapshot_path}")
    if settings.audiences_config is not None:
        print(f"Audience exports: {settings.outbox_path}")
    # Another run may have taken the warehouse as soon as this one ended: read after it.
    with warehouse_lock.held(settings.warehouse_path, "make run's summary", _say_waiting):
        _print_summary(settings)
    return 0


def _say_waiting(holder: str) -> None:
    print(f"Waiting for the warehouse to print the summary: {holder} holds it.")


def _print_summary(settings: Settings) -> None:
    for schema, table, rows in table_row_counts(settings):
        print(f"  {schema + '.' + table:<45} {rows:>12,} rows")
    by_source: dict[str, list[str]] = {}
    for name in features_without_data(settings):
        by_source.setdefault(feature_needs()[name], []).append(name)
    print("Feature families without data (source not provided; null, left out of the model):")
    for source, features in by_source.items() or [("none", ["every source was provided"])]:
        print(f"  {source}: {', '.join(features)}")


if __name__ == "__main__":
    sys.exit(main())
