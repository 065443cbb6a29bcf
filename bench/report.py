"""The benchmark's results as JSON (for tools) and a Markdown table (for people), with the
targets set for 1,000,000 customers checked when the run was that size."""

import json
from collections.abc import Callable
from pathlib import Path

TARGET_SIZE = 1_000_000
# name -> (what it measures, the target, whether the run met it)
TARGETS = {
    "features_over_hand_sql": ("feature models / hand-written SQL", "within 3x", lambda r: r <= 3),
    "checks_over_features": (
        "dbt tests + GX validation / feature models",
        "at most 1",
        lambda r: r <= 1,
    ),
    "refresh_seconds": ("whole refresh, end to end", "under 300 s", lambda r: r < 300),
    "refresh_peak_rss_gib": ("peak memory of the refresh", "under 6 GiB", lambda r: r < 6),
    "training_and_scoring_seconds": ("training + scoring", "under 90 s", lambda r: r < 90),
    "prediction_fit_and_score_seconds": (
        "prediction fits + scoring (without the point-in-time rebuilds)",
        "under 60 s",
        lambda r: r < 60,
    ),
}


def write_report(results: dict, results_dir: Path) -> str:
    """Writes refresh-<size>.json and .md into `results_dir`; returns the Markdown."""
    results_dir.mkdir(parents=True, exist_ok=True)
    name = f"refresh-{results['size']}"
    (results_dir / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = render_markdown(results)
    (results_dir / f"{name}.md").write_text(markdown)
    return markdown


def render_markdown(results: dict) -> str:
    refresh, ratios = results["refresh"], results["ratios"]
    rows = ", ".join(f"{count:,} {table}" for table, count in results["rows"].items())
    lines = [
        f"# Full refresh at {results['size']:,} customers",
        "",
        f"As of {results['as_of_date']}, measured {results['measured_at']}; raw rows: {rows}.",
        f"Demo data generated in {results['generate_seconds']} s (not part of the refresh).",
        "",
        "| stage (Dagster step) | wall time (s) | peak RSS of the process tree (GiB) |",
        "| --- | ---: | ---: |",
        *(
            f"| {stage['step']} | {stage['seconds']} | {stage['peak_rss_gib']} |"
            for stage in refresh["stages"]
        ),
        f"| **whole refresh** | **{refresh['seconds']}** | **{refresh['peak_rss_gib']}** |",
        "",
        f"Inside `dbt build`: models {refresh['dbt']['models_seconds']} s, data tests "
        f"{refresh['dbt']['tests_seconds']} s (dbt's own timings; the rest is starting dbt, "
        "parsing and unit tests).",
        "",
        "| feature table computed by | wall time (s) | peak RSS (GiB) |",
        "| --- | ---: | ---: |",
        f"| dbt models (tests excluded) | {refresh['dbt']['models_seconds']} | "
        f"{_stage_peak(refresh, 'dbt_models')} (whole dbt build) |",
        *(_baseline_row(baseline) for baseline in results["baselines"]),
        "",
        _equality_line(results["baselines"], results["feature_differences"]),
        "",
        "| ratio | value |",
        "| --- | ---: |",
        f"| feature models / hand-written SQL | {_shown(ratios['features_over_hand_sql'])} |",
        f"| pandas / feature models | {_shown(ratios['pandas_over_features'])} |",
        f"| dbt tests + GX validation / feature models | {ratios['checks_over_features']} |",
        "| training + scoring per 100,000 customers (s) | "
        f"{ratios['training_and_scoring_seconds_per_100k']} |",
        "| prediction fits + scoring, without the point-in-time rebuilds (s) | "
        f"{ratios.get('prediction_fit_and_score_seconds', '-')} |",
        "",
        *_target_lines(results),
    ]
    return "\n".join(lines) + "\n"


def _stage_peak(refresh: dict, step: str) -> float | str:
    return next((s["peak_rss_gib"] for s in refresh["stages"] if s["step"] == step), "-")


def _baseline_row(baseline: dict) -> str:
    seconds = baseline["seconds"]
    if baseline.get("stopped_because"):
        seconds = f"did not finish: {baseline['stopped_because']} after {seconds}"
    return f"| {baseline['name']} baseline | {seconds} | {baseline['peak_rss_gib']} |"


def _shown(value: float | None) -> float | str:
    return "- (a baseline did not finish)" if value is None else value


def _equality_line(baselines: list[dict], differences: dict[str, list[str]]) -> str:
    if differences:
        return "Baselines that computed DIFFERENT features (times not comparable): " + "; ".join(
            f"{name}: {' / '.join(found)}" for name, found in differences.items()
        )
    finished = [b["name"] for b in baselines if not b.get("stopped_because")]
    if len(finished) == len(baselines):
        return "Both baselines computed the same feature table as the dbt models (checked)."
    return (
        f"{', '.join(finished) or 'No baseline'} computed the same feature table as the dbt "
        "models (checked); the other did not finish."
    )


def _target_lines(results: dict) -> list[str]:
    measured = {
        **results["ratios"],
        "refresh_seconds": results["refresh"]["seconds"],
        "refresh_peak_rss_gib": results["refresh"]["peak_rss_gib"],
    }
    at_target_size = results["size"] == TARGET_SIZE
    header = "Targets (set for 1,000,000 customers"
    header += "):" if at_target_size else "; this run is smaller, so they are not judged):"
    return [
        header,
        "",
        "| target | measured | goal | met |",
        "| --- | ---: | --- | --- |",
        *(
            f"| {label} | {_shown(measured.get(key))} | {goal} | "
            f"{_verdict(met, measured.get(key)) if at_target_size else '-'} |"
            for key, (label, goal, met) in TARGETS.items()
        ),
    ]


def _verdict(met: Callable[[float], bool], value: float | None) -> str:
    if value is None:
        return "not measured"
    return "yes" if met(value) else "NO"
