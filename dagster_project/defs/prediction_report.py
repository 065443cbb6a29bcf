"""What the prediction models' materializations show in the Dagster UI: parameters, holdout
comparison and plots when trained, why when reused or skipped, and their check results."""

from collections.abc import Iterator

from dagster import AssetCheckResult, AssetCheckSeverity, MaterializeResult, MetadataValue

from dagster_project.defs.metadata import markdown_table
from dagster_project.defs.model_report import image
from dagster_project.lib.names import CLV_MODEL, MODEL_SECONDS, PROPENSITY_MODEL
from ml import prediction_plots
from ml.prediction_holdout import HoldoutReport
from ml.predictions import PredictionModels

CLV_PARAMETERS_SANE = "parameters_in_range"
HOLDOUT_AUC_ABOVE_FLOOR = "holdout_roc_auc_above_floor"


def reused(
    models: PredictionModels, min_roc_auc: float
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """The current models were trained on exactly these inputs: training again would give them
    back, so they stand, and this run's tables are the last run's."""
    reason = f"reused {models.version}: trained on exactly these inputs and settings"
    for key, check, passed, description in (
        (CLV_MODEL, CLV_PARAMETERS_SANE, True, "checked when it was trained"),
        (
            PROPENSITY_MODEL,
            HOLDOUT_AUC_ABOVE_FLOOR,
            models.holdout_roc_auc >= min_roc_auc,
            f"holdout ROC-AUC {models.holdout_roc_auc:.3f}, floor {min_roc_auc}",
        ),
    ):
        yield MaterializeResult(
            asset_key=key,
            metadata={
                "model_version": MetadataValue.text(models.version),
                "reused_because": MetadataValue.text(reason),
            },
        )
        yield AssetCheckResult(
            asset_key=key, check_name=check, passed=passed, description=description
        )


def skipped(reason: str) -> Iterator[MaterializeResult | AssetCheckResult]:
    for key, check in (
        (CLV_MODEL, CLV_PARAMETERS_SANE),
        (PROPENSITY_MODEL, HOLDOUT_AUC_ABOVE_FLOOR),
    ):
        yield MaterializeResult(
            asset_key=key, metadata={"skipped_because": MetadataValue.text(reason)}
        )
        yield AssetCheckResult(
            asset_key=key,
            check_name=check,
            passed=False,
            severity=AssetCheckSeverity.WARN,
            description=reason,
        )


def clv_result(
    models: PredictionModels, report: HoldoutReport, tracking, problems
) -> MaterializeResult:
    checks = report.clv_checks
    return MaterializeResult(
        asset_key=CLV_MODEL,
        metadata={
            "model_version": MetadataValue.text(models.version),
            "parameters": MetadataValue.json(models.clv.parameters()),
            "parameters_at_cutoff": MetadataValue.json(report.clv_at_cutoff.parameters()),
            "fitted_customers": MetadataValue.int(models.clv.fitted_customers),
            "distinct_histories": MetadataValue.int(models.clv.distinct_histories),
            "holdout": MetadataValue.json(
                {name: round(value, 4) for name, value in checks.items()}
            ),
            "interval_coverage": MetadataValue.float(round(checks["interval_coverage"], 4)),
            "problems": MetadataValue.text("; ".join(problems) or "none"),
            "cumulative_repeat_purchases": image(
                prediction_plots.cumulative_tracking(
                    tracking,
                    "Cumulative repeat purchases: actual and BG/NBD (fitted to the cutoff)",
                )
            ),
        },
    )


def propensity_result(
    models: PredictionModels, report: HoldoutReport, seconds: dict[str, float]
) -> MaterializeResult:
    return MaterializeResult(
        asset_key=PROPENSITY_MODEL,
        metadata={
            MODEL_SECONDS: MetadataValue.float(seconds["evaluate_and_fit"]),
            "seconds": MetadataValue.json(seconds),
            "model_version": MetadataValue.text(models.version),
            "holdout_metrics": markdown_table(
                report.metrics.round(4), max_rows=len(report.metrics)
            ),
            "chosen": MetadataValue.text(report.chosen),
            "chosen_because": MetadataValue.text(report.chosen_because),
            "trained_rows": MetadataValue.int(models.propensity.trained_rows),
            "features": MetadataValue.text(", ".join(models.propensity.features)),
            "lift_chart": image(prediction_plots.lift_chart(report.gains)),
            "calibration_curve": image(prediction_plots.reliability_curves(report.reliability)),
        },
    )
