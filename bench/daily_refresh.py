"""Daily incremental refresh against a full refresh, on the same data.

    python -m bench.daily_refresh --history H --day-dir D --as-of 2026-11-20 --work W

H holds the demo landing files up to the day before `--as-of`, D that day's files (both written
by `python -m demo_data.split`). A full refresh as of the day before loads H into a new warehouse
under W; then D's files are dropped into the landing folder and the `daily_refresh` job runs as of
`--as-of`. It prints each run's wall time, its per-step times and peak memory, and how many
staging rows the incremental run rebuilt, and writes them as JSON to W/daily_refresh.json.
"""

import argparse
import dataclasses
import json
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from dagster import DagsterInstance

from bench.process_memory import ProcessTreeMemory
from bench.run_log import GIB, dbt_node_seconds, run_stages
from dagster_project.defs.jobs import daily_refresh_job, full_refresh_job
from dagster_project.lib.settings import Settings
from dagster_project.run import run_job

STAGING_INCREMENTAL = (
    "stg_shop__customers",
    "stg_shop__orders",
    "stg_shop__order_items",
    "stg_web__events",
    "stg_marketing__campaign_events",
    "stg_social__interactions",
)


def timed_run(settings: Settings, instance: DagsterInstance, job_name: str) -> dict:
    """Wall time, per-step times and peak RSS of the whole process tree (dbt included)."""
    with ProcessTreeMemory() as memory:
        started = time.perf_counter()
        result = run_job(settings, instance, job_name)
        seconds = time.perf_counter() - started
    if not result.success:
        raise SystemExit(f"{job_name} failed (run {result.run_id})")
    log = [entry for entry in instance.all_logs(result.run_id) if entry.dagster_event]
    return {
        "job": job_name,
        "as_of": settings.as_of_date,
        "wall_seconds": round(seconds, 1),
        "peak_rss_gib": round(memory.peak_bytes() / GIB, 2),
        "steps": [dataclasses.asdict(stage) for stage in run_stages(log, memory)],
        "dbt": dbt_node_seconds(log),
    }


def rebuilt_staging_rows(settings: Settings, since: datetime) -> dict[str, dict[str, int]]:
    """Per incremental staging model: rows in all, and rows rebuilt by runs after `since`."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return {
            model: dict(
                zip(
                    ("rows", "rebuilt_by_daily_refresh"),
                    conn.execute(
                        f"select count(*), count(*) filter (where _transformed_at > ?) "
                        f"from staging.{model}",
                        [since],
                    ).fetchone(),
                    strict=True,
                )
            )
            for model in STAGING_INCREMENTAL
        }


def copy_tree(source: Path, target: Path) -> None:
    for path in source.rglob("*.parquet"):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.daily_refresh", description=__doc__)
    parser.add_argument("--history", type=Path, required=True)
    parser.add_argument("--day-dir", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--segmentation-config", type=Path, help="YAML, as SEG_SEGMENTATION_CONFIG")
    args = parser.parse_args(argv)

    landing = args.work / "landing"
    copy_tree(args.history, landing)
    settings = Settings(
        warehouse_path=args.work / "warehouse" / "warehouse.duckdb",
        landing_dir=landing,
        landing_settle_seconds=0,  # the benchmark writes its files before it runs
        as_of_date=(args.as_of - timedelta(days=1)).isoformat(),
        demo_customers=0,
        demo_seed=0,
        segmentation_config=args.segmentation_config,
    )
    report = {}
    with DagsterInstance.ephemeral() as instance:
        report["full_refresh"] = timed_run(settings, instance, full_refresh_job.name)
        copy_tree(args.day_dir, landing)
        settings = dataclasses.replace(settings, as_of_date=args.as_of.isoformat())
        daily_started = datetime.now(UTC).replace(tzinfo=None)  # dbt stamps naive UTC
        report["daily_refresh"] = timed_run(settings, instance, daily_refresh_job.name)
    report["staging_rows"] = rebuilt_staging_rows(settings, daily_started)
    (args.work / "daily_refresh.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
