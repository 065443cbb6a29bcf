"""One full refresh measured stage by stage, against two baselines on the same data.

    make bench SIZE=100000      (uv run --frozen python -m bench.refresh --size 100000)

Generates demo data for SIZE customers and runs the `full_refresh` job on a new warehouse (ingest,
raw checks, dbt build, feature checks, training, scoring and write-back, the prediction models
and predictions, publish) while sampling
the RSS of the whole process tree (dbt runs as a child). Then computes the customer feature table
twice more from the same raw tables, each in a process of its own: one hand-written DuckDB
statement and plain pandas. Both must equal `marts.customer_features` before any time is
compared. A baseline whose memory passes --baseline-memory-cap-gib is stopped and reported as
such, before the machine runs out (pandas peaks at 13.5 GiB at 1,000,000 customers). Writes
bench/results/refresh-SIZE.json and .md and prints the Markdown.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import psutil
from dagster import DagsterInstance

from bench.feature_equality import feature_differences
from bench.process_memory import ProcessTreeMemory
from bench.report import write_report
from bench.run_log import GIB, Stage, dbt_node_seconds, prediction_model_seconds, run_stages
from dagster_project.lib.settings import Settings
from dagster_project.run import run_job, table_row_counts
from demo_data.generate import DemoSpec, generate

RESULTS_DIR = Path(__file__).with_name("results")
TRAINING_STEPS = ("segmentation_model", "segment_tables")
CHECK_STEPS = ("raw_table_checks", "customer_features_checks")
DEFAULT_BASELINE_MEMORY_CAP_GIB = 16.0
MEMORY_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Baseline:
    name: str
    seconds: float  # until it finished, or until it was stopped
    peak_rss_gib: float
    stopped_because: str = ""  # empty when it finished and wrote its feature table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.refresh", description=__doc__)
    parser.add_argument("--size", type=int, default=100_000, help="demo customers")
    parser.add_argument("--as-of", type=date.fromisoformat, default=datetime.now(UTC).date())
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, help="keep data and warehouse here (default: temp)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--segmentation-config", type=Path, help="YAML, as SEG_SEGMENTATION_CONFIG")
    parser.add_argument(
        "--baseline-memory-cap-gib",
        type=float,
        default=DEFAULT_BASELINE_MEMORY_CAP_GIB,
        help="stop a baseline whose RSS passes this",
    )
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix=f"bench-{args.size}-"))
    try:
        results = run_benchmark(
            args.size,
            args.as_of,
            args.seed,
            work,
            args.segmentation_config,
            args.baseline_memory_cap_gib,
        )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    markdown = write_report(results, args.results)
    print(markdown)
    if results["feature_differences"]:
        raise SystemExit("A baseline computed different features; its times mean nothing.")


def run_benchmark(
    size: int,
    as_of: date,
    seed: int,
    work: Path,
    segmentation_config: Path | None,
    baseline_memory_cap_gib: float = DEFAULT_BASELINE_MEMORY_CAP_GIB,
) -> dict:
    landing = work / "landing"
    started = time.perf_counter()
    generate(DemoSpec(customers=size, seed=seed, end_date=as_of), landing)
    generate_seconds = time.perf_counter() - started
    settings = Settings(
        warehouse_path=work / "warehouse" / "warehouse.duckdb",
        landing_dir=landing,
        landing_settle_seconds=0,  # the benchmark writes its files before it runs
        as_of_date=as_of.isoformat(),
        demo_customers=0,
        demo_seed=seed,
        segmentation_config=segmentation_config,
    )
    with DagsterInstance.ephemeral() as instance, ProcessTreeMemory() as memory:
        started = time.perf_counter()
        result = run_job(settings, instance, "full_refresh")
        refresh_seconds = time.perf_counter() - started
        if not result.success:
            raise SystemExit(f"The full refresh failed (run {result.run_id}).")
        log = [entry for entry in instance.all_logs(result.run_id) if entry.dagster_event]
    stages = run_stages(log, memory)
    dbt_nodes = dbt_node_seconds(log)
    prediction_seconds = prediction_model_seconds(log)
    expected = _dbt_features(settings.warehouse_path)
    baselines, differences = [], {}
    for name in ("hand_sql", "pandas"):
        baseline, features = run_baseline(
            name, settings.warehouse_path, as_of, work, baseline_memory_cap_gib
        )
        baselines.append(baseline)
        if features is not None and (found := feature_differences(expected, features)):
            differences[name] = found
    return {
        "size": size,
        "as_of_date": as_of.isoformat(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": {
            table: rows
            for schema, table, rows in table_row_counts(settings)
            if schema == "raw" and not table.startswith("_")  # not the loader's own logs
        },
        "generate_seconds": round(generate_seconds, 1),
        "refresh": {
            "seconds": round(refresh_seconds, 1),
            "peak_rss_gib": round(memory.peak_bytes() / GIB, 2),
            "stages": [asdict(stage) for stage in stages],
            "dbt": dbt_nodes,
        },
        "baselines": [asdict(baseline) for baseline in baselines],
        "feature_differences": differences,
        "ratios": {
            **_ratios(size, stages, dbt_nodes, baselines),
            "prediction_fit_and_score_seconds": prediction_seconds,
        },
    }


def run_baseline(
    name: str, warehouse: Path, as_of: date, work: Path, memory_cap_gib: float
) -> tuple[Baseline, pd.DataFrame | None]:
    """Runs one baseline in its own process; its feature table, or None when it failed or was
    stopped for passing `memory_cap_gib` (before the machine runs out and the kernel kills at
    random). Either way the refresh's measurements are still reported."""
    out = work / f"{name}_features.parquet"
    stdout_file, stderr_file = work / f"{name}.out", work / f"{name}.err"
    started = time.perf_counter()
    with stdout_file.open("w") as stdout, stderr_file.open("w") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.baselines",
                name,
                "--warehouse",
                str(warehouse),
                "--as-of",
                as_of.isoformat(),
                "--out",
                str(out),
            ],
            stdout=stdout,
            stderr=stderr,
        )
        peak, stopped = _watch_memory(process, memory_cap_gib * GIB)
    if stopped or process.returncode != 0:
        why = (
            f"stopped when its memory passed {memory_cap_gib:g} GiB"
            if stopped
            else f"failed with exit code {process.returncode} (-9: killed, often for memory); "
            f"see {stderr_file}"
        )
        return Baseline(
            name=name,
            seconds=round(time.perf_counter() - started, 1),
            peak_rss_gib=round(peak / GIB, 2),
            stopped_because=why,
        ), None
    measured = json.loads(stdout_file.read_text().strip().splitlines()[-1])
    baseline = Baseline(
        name=name,
        seconds=measured["seconds"],
        peak_rss_gib=round(peak / GIB, 2),
    )
    return baseline, pd.read_parquet(out)


def _watch_memory(process: subprocess.Popen, cap_bytes: float) -> tuple[int, bool]:
    """Waits for `process`, sampling its RSS: the peak, and whether it was killed for passing
    `cap_bytes`. Sampled from outside because the child's own getrusage peak includes this
    process's peak before the fork (Linux keeps the high-water mark across fork and exec)."""
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        if peak > cap_bytes:
            process.kill()
            process.wait()
            return peak, True
        time.sleep(MEMORY_POLL_SECONDS)
    return peak, False


def _dbt_features(warehouse: Path) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        conn.execute("set TimeZone = 'UTC'")
        return conn.execute("select * from marts.customer_features").df()


def _ratios(
    size: int, stages: list[Stage], dbt: dict[str, float], baselines: list[Baseline]
) -> dict[str, float]:
    seconds = {stage.step: stage.seconds for stage in stages}
    finished = {b.name: b.seconds for b in baselines if not b.stopped_because}
    models = dbt["models_seconds"]
    checks = dbt["tests_seconds"] + sum(seconds.get(step, 0.0) for step in CHECK_STEPS)
    training = sum(seconds.get(step, 0.0) for step in TRAINING_STEPS)
    return {
        "features_over_hand_sql": _ratio(models, finished.get("hand_sql")),
        "pandas_over_features": _ratio(finished.get("pandas"), models),
        "checks_over_features": round(checks / models, 2),
        "training_and_scoring_seconds": round(training, 1),
        "training_and_scoring_seconds_per_100k": round(training / (size / 100_000), 1),
    }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    """None when either side did not finish."""
    return None if numerator is None or denominator is None else round(numerator / denominator, 2)


if __name__ == "__main__":
    main()
