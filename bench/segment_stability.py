"""Do segments keep their ids through a refresh with more customers and another month of data?

    uv run --frozen python -m bench.segment_stability --customers 20000

Two demo landing folders come from one seed and one end date: the second holds exactly the first's
customers (the generator's first chunk) plus 5 % new ones (a second chunk). The first full refresh
sees the first folder as of a month before the end date; the second sees the second folder as of
the end date. So the second run has the same people with another month of activity, plus the new
customers, and retrains with the first run as its previous run.

Prints, for each run, the chosen model and its agreement with the generator's ground truth, then
how the segments carried over. Exits non-zero when an acceptance bound (issue 4) is missed.
"""

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
from dagster import DagsterInstance
from sklearn.metrics import adjusted_rand_score

from dagster_project.lib.settings import Settings
from dagster_project.run import run_job
from demo_data.generate import GROUND_TRUTH_DIR, DemoSpec, generate

GROWTH = 0.05
MONTH = timedelta(days=31)
MIN_STABILITY_ARI = 0.90


@dataclass(frozen=True)
class RefreshRun:
    as_of_date: date
    seconds: float
    assignments: pd.DataFrame  # customer_id, segment_id, segment_name
    model_run: dict  # the run's row of segments.model_runs
    ground_truth_ari: float


@dataclass(frozen=True)
class StabilityResult:
    first: RefreshRun
    second: RefreshRun

    def carried_over(self) -> pd.DataFrame:
        """Per first-run segment: where most of its customers are now, and under which name."""
        both = self.first.assignments.merge(
            self.second.assignments, on="customer_id", suffixes=("_before", "_after")
        )
        rows = []
        for (segment_id, name), members in both.groupby(
            ["segment_id_before", "segment_name_before"]
        ):
            now = members.groupby(["segment_id_after", "segment_name_after"]).size().idxmax()
            rows.append(
                {
                    "segment_id": segment_id,
                    "segment_name": name,
                    "customers": len(members),
                    "now_segment_id": now[0],
                    "now_segment_name": now[1],
                    "stayed": float((members["segment_id_after"] == segment_id).mean()),
                }
            )
        return pd.DataFrame(rows)

    def ids_persist(self) -> bool:
        """Every segment's customers mostly sit under the same id and name after the refresh."""
        moved = self.carried_over()
        return bool(
            (moved["now_segment_id"] == moved["segment_id"]).all()
            and (moved["now_segment_name"] == moved["segment_name"]).all()
        )

    def new_customers(self) -> int:
        return len(
            set(self.second.assignments["customer_id"]) - set(self.first.assignments["customer_id"])
        )


def landing_pair(customers: int, seed: int, end_date: date, root: Path) -> tuple[Path, Path]:
    """The first folder's customers, and the same customers plus `GROWTH` more."""
    grown = customers + max(1, round(customers * GROWTH))
    folders = (root / "landing-before", root / "landing-after")
    for folder, size in zip(folders, (customers, grown), strict=True):
        generate(
            DemoSpec(customers=size, seed=seed, end_date=end_date, chunk_customers=customers),
            folder,
        )
    return folders


def run_scenario(customers: int, seed: int, end_date: date, root: Path) -> StabilityResult:
    before, after = landing_pair(customers, seed, end_date, root)
    warehouse = root / "warehouse" / "warehouse.duckdb"
    runs = [
        _refresh(warehouse, landing, as_of, customers, seed)
        for landing, as_of in ((before, end_date - MONTH), (after, end_date - timedelta(days=1)))
    ]
    return StabilityResult(*runs)


def _refresh(warehouse: Path, landing: Path, as_of: date, customers: int, seed: int) -> RefreshRun:
    settings = Settings(
        warehouse_path=warehouse,
        landing_dir=landing,
        landing_settle_seconds=0,  # the benchmark writes its files before it runs
        as_of_date=as_of.isoformat(),
        demo_customers=customers,
        demo_seed=seed,
    )
    started = time.perf_counter()
    with DagsterInstance.ephemeral() as instance:
        result = run_job(settings, instance)
    if not result.success:
        raise RuntimeError(f"the refresh as of {as_of} failed (run {result.run_id})")
    seconds = time.perf_counter() - started
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assignments = conn.execute(
            "select customer_id, segment_id, segment_name from segments.customer_segments"
        ).df()
        model_run = (
            conn.execute(
                "select * from segments.model_runs where model_version = "
                "(select any_value(model_version) from segments.customer_segments)"
            )
            .df()
            .iloc[0]
            .to_dict()
        )
    truth = pd.read_parquet(landing / GROUND_TRUTH_DIR).merge(assignments, on="customer_id")
    return RefreshRun(
        as_of_date=as_of,
        seconds=seconds,
        assignments=assignments,
        model_run=model_run,
        ground_truth_ari=float(adjusted_rand_score(truth["persona"], truth["segment_id"])),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.segment_stability")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 11, 1))
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="segment-stability-") as root:
        result = run_scenario(args.customers, args.seed, args.end_date, Path(root))
    for label, run in (("before", result.first), ("after", result.second)):
        print(
            f"{label:<7} as of {run.as_of_date}: {len(run.assignments):,} customers, "
            f"{run.model_run['algorithm']} {run.model_run['params']}, "
            f"ARI vs ground truth {run.ground_truth_ari:.3f}, "
            f"explainer F1 {run.model_run['explainer_f1']:.3f}, refresh {run.seconds:.0f} s"
        )
    stability = result.second.model_run["stability_ari"]
    print(
        f"new customers: {result.new_customers():,}; stability ARI vs previous run: {stability:.3f}"
    )
    print(result.carried_over().to_string(index=False))
    passed = result.ids_persist() and stability >= MIN_STABILITY_ARI
    print(
        f"ids persist: {result.ids_persist()}; stability ARI >= {MIN_STABILITY_ARI}: "
        f"{stability >= MIN_STABILITY_ARI} -> {'PASS' if passed else 'FAIL'}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
