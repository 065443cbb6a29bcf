"""The prediction models and the predictions (ml/predictions.py).

`clv_model` and `purchase_propensity_model` train together, weekly: the features and repeat
purchases are rebuilt as of two cutoffs, T - H and T - 2H before the as-of date T (schema pit_marts,
as the backtest and the history backfill do), validated by the same Great Expectations gate, and
the models are judged on the H days after the later cutoff (ml/prediction_holdout.py). The
production models then learn from the newest data: BG/NBD and Gamma-Gamma from the histories as
of T, the classifier from the features as of T - H with what customers bought since. A model
becomes current only when both blocking checks pass; a failed check leaves the previous models
scoring, and stops this run's customer_predictions and snapshot.

`customer_predictions` scores every profiled customer with the current models, in the daily
refresh too."""

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from dagster_dbt import DbtCliResource

from dagster_project.defs.backfill import point_in_time_features
from dagster_project.defs.prediction_report import (
    CLV_PARAMETERS_SANE,
    HOLDOUT_AUC_ABOVE_FLOOR,
    clv_result,
    propensity_result,
    reused,
    skipped,
)
from dagster_project.defs.quality import CUSTOMER_FEATURES
from dagster_project.defs.resources import (
    DataQualityResource,
    PredictionResource,
    PrivacyResource,
    SegmentationResource,
    WarehouseResource,
)
from dagster_project.lib.names import (
    CLV_MODEL,
    CUSTOMER_REPEAT_PURCHASES,
    CUSTOMER_REPEAT_PURCHASES_TABLE,
    POINT_IN_TIME_FEATURES_TABLE,
    POINT_IN_TIME_REPEAT_PURCHASES_TABLE,
    PROPENSITY_MODEL,
    WAREHOUSE_POOL,
)
from dagster_project.lib.segment_store.prediction_runs import (
    prediction_run_rows,
    record_prediction_runs,
)
from dagster_project.lib.segment_store.predictions import (
    cohort_purchase_days,
    inputs_fingerprint,
    read_table,
)
from dagster_project.lib.segment_store.purchases import first_purchase_day, purchases_between
from dagster_project.lib.segment_store.reads import features_as_of
from ml.clv import RepeatPurchases, fit_clv, parameter_problems
from ml.clv_tracking import cumulative_repeat_purchases
from ml.prediction_holdout import CutoffData, evaluate, published_roc_auc
from ml.predictions import PredictionModels
from ml.propensity import train_propensity, with_lifetime

REPEAT_PURCHASES = AssetKey(CUSTOMER_REPEAT_PURCHASES)


SPECS = [
    AssetSpec(
        CLV_MODEL,
        deps=[REPEAT_PURCHASES],
        group_name="predictions",
        kinds={"python", "duckdb"},
        description="BG/NBD and Gamma-Gamma fitted on the repeat purchases as of the as-of "
        "date; the holdout tracks cumulative repeat purchases and the CLV intervals' "
        "coverage.",
    ),
    AssetSpec(
        PROPENSITY_MODEL,
        deps=[CUSTOMER_FEATURES, REPEAT_PURCHASES],
        group_name="predictions",
        kinds={"dbt", "scikit-learn"},
        description="Calibrated gradient-boosted purchase propensity, judged on a time "
        "holdout against BG/NBD's expected purchases.",
    ),
]
CHECK_SPECS = [
    AssetCheckSpec(
        CLV_PARAMETERS_SANE,
        asset=CLV_MODEL,
        blocking=True,
        description="Every parameter positive, finite and identified; the population mean "
        "order value within the customers' own range.",
    ),
    AssetCheckSpec(
        HOLDOUT_AUC_ABOVE_FLOOR,
        asset=PROPENSITY_MODEL,
        blocking=True,
        description="The published propensity's holdout ROC-AUC is at least "
        "SEG_PROPENSITY_MIN_ROC_AUC.",
    ),
]
SWITCHED_OFF = "predictions are switched off (SEG_PREDICTIONS=0)"


def build_prediction_models(enabled: bool) -> AssetsDefinition:
    """The models with their checks; switched off (SEG_PREDICTIONS=0), the same assets without
    checks, which say so: there is nothing to check, and nothing should look failed."""
    if enabled:
        return prediction_models

    @multi_asset(name="prediction_models", specs=SPECS, pool=WAREHOUSE_POOL)
    def prediction_models_switched_off() -> Iterator[MaterializeResult]:
        for key in (CLV_MODEL, PROPENSITY_MODEL):
            yield MaterializeResult(
                asset_key=key, metadata={"skipped_because": MetadataValue.text(SWITCHED_OFF)}
            )

    return prediction_models_switched_off


@multi_asset(specs=SPECS, check_specs=CHECK_SPECS, pool=WAREHOUSE_POOL)
def prediction_models(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    quality: DataQualityResource,
    privacy: PrivacyResource,
    segmentation: SegmentationResource,
    predictions: PredictionResource,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    horizon = timedelta(days=predictions.horizon_days)
    config = segmentation.config()
    with warehouse.connect(read_only=True) as conn:
        as_of_date = features_as_of(conn)
        first_day = first_purchase_day(conn)
        fingerprint = inputs_fingerprint(
            conn,
            f"{as_of_date}:{horizon.days}:{config.protected_attributes}:{config.random_state}",
        )
    reusable = predictions.current()
    if reusable and reusable.trained_on == fingerprint:
        yield from reused(reusable, predictions.min_roc_auc)
        return
    training_cutoff, holdout_cutoff = as_of_date - 2 * horizon, as_of_date - horizon
    if first_day is None or training_cutoff <= first_day:
        yield from skipped(
            f"no prediction models: the orders start {first_day}, and a holdout of "
            f"{horizon.days} days after a training horizon of as many needs them to start "
            f"before {training_cutoff}"
        )
        return
    started = time.perf_counter()
    run_id = context.run.run_id
    training = _cutoff_data(dbt, warehouse, privacy, quality, run_id, training_cutoff, horizon)
    holdout = _cutoff_data(dbt, warehouse, privacy, quality, run_id, holdout_cutoff, horizon)
    rebuilt = time.perf_counter()
    with warehouse.connect(read_only=True) as conn:
        current = RepeatPurchases.from_frame(read_table(conn, CUSTOMER_REPEAT_PURCHASES_TABLE))
        cohort = cohort_purchase_days(conn, holdout.repeat_purchases["customer_id"], as_of_date)
    version = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{context.run.run_id[:8]}"
    try:
        report = evaluate(
            training, holdout, horizon.days, config.protected_attributes, config.random_state
        )
        models = PredictionModels(
            version=version,
            horizon_days=horizon.days,
            clv=fit_clv(current),
            propensity=train_propensity(
                with_lifetime(holdout.features, report.lifetime_at_cutoff),
                holdout.bought(holdout.features["customer_id"]),
                config.protected_attributes,
                config.random_state,
            ),
            chosen=report.chosen,
            holdout_roc_auc=published_roc_auc(report),
            trained_on=fingerprint,
        )
    except ValueError as error:  # too few customers or outcomes to learn from: said in words
        yield from skipped(f"no prediction models: {error}")
        return
    modelled = time.perf_counter()
    predictions.save_candidate(models)
    problems = parameter_problems(models.clv, current)
    roc_auc = models.holdout_roc_auc
    passed = not problems and roc_auc >= predictions.min_roc_auc
    if passed:
        predictions.promote(version)
    tracking = cumulative_repeat_purchases(report.clv_at_cutoff, cohort, holdout_cutoff, as_of_date)
    with warehouse.connect() as conn:
        record_prediction_runs(
            conn,
            prediction_run_rows(models, report, as_of_date, holdout_cutoff, promoted=passed),
        )
    context.log.info(
        f"Prediction models {version}: holdout ROC-AUC {roc_auc:.3f}; {report.chosen_because}; "
        + ("promoted" if passed else "not promoted, the previous models keep scoring")
    )
    seconds = {
        "rebuild_and_validate_cutoffs": round(rebuilt - started, 1),
        "evaluate_and_fit": round(modelled - rebuilt, 1),
    }
    yield clv_result(models, report, tracking, problems)
    yield propensity_result(models, report, seconds)
    yield AssetCheckResult(
        asset_key=CLV_MODEL,
        check_name=CLV_PARAMETERS_SANE,
        passed=not problems,
        description="; ".join(problems) or None,
        metadata={"parameters": MetadataValue.json(models.clv.parameters())},
    )
    yield AssetCheckResult(
        asset_key=PROPENSITY_MODEL,
        check_name=HOLDOUT_AUC_ABOVE_FLOOR,
        passed=roc_auc >= predictions.min_roc_auc,
        description=f"holdout ROC-AUC {roc_auc:.3f}, floor {predictions.min_roc_auc}",
        metadata={"roc_auc": MetadataValue.float(roc_auc)},
    )


def _cutoff_data(
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    privacy: PrivacyResource,
    quality: DataQualityResource,
    run_id: str,
    cutoff: date,
    horizon: timedelta,
) -> CutoffData:
    """The features and repeat purchases rebuilt as of `cutoff` and validated, and the purchases
    in the `horizon` after it."""
    point_in_time_features(dbt, warehouse, privacy, quality, cutoff, run_id)
    with warehouse.connect(read_only=True) as conn:
        return CutoffData(
            features=read_table(conn, POINT_IN_TIME_FEATURES_TABLE),
            repeat_purchases=read_table(conn, POINT_IN_TIME_REPEAT_PURCHASES_TABLE),
            later=purchases_between(conn, cutoff, cutoff + horizon, counted_in="days"),
        )
