"""segments.customer_predictions: every profiled customer scored with the current prediction
models (defs/predictions.py), in every refresh; the means per segment into segment_profiles."""

import time

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from dagster_project.defs.metadata import markdown_table, table_metadata
from dagster_project.defs.predictions import SWITCHED_OFF
from dagster_project.defs.quality import CUSTOMER_FEATURES
from dagster_project.defs.resources import PredictionResource, WarehouseResource
from dagster_project.lib.names import (
    CLV_MODEL,
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_PREDICTIONS,
    CUSTOMER_REPEAT_PURCHASES,
    CUSTOMER_REPEAT_PURCHASES_TABLE,
    CUSTOMER_SEGMENTS,
    MODEL_SECONDS,
    PROPENSITY_MODEL,
    SEGMENTS_SCHEMA,
    WAREHOUSE_POOL,
)
from dagster_project.lib.segment_store.predictions import (
    drop_predictions,
    read_table,
    replace_predictions,
)
from dagster_project.lib.segment_store.reads import features_as_of
from ml.predictions import score


@asset(
    name=CUSTOMER_PREDICTIONS,
    deps=[
        *map(AssetKey, [CLV_MODEL, PROPENSITY_MODEL, CUSTOMER_SEGMENTS, CUSTOMER_REPEAT_PURCHASES]),
        CUSTOMER_FEATURES,
    ],
    group_name="predictions",
    kinds={"duckdb", "scikit-learn"},
    pool=WAREHOUSE_POOL,
)
def customer_predictions(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    predictions: PredictionResource,
) -> MaterializeResult:
    """Probability alive, expected purchases, order value and CLV with its 80 % predictive
    interval over the models' horizon, purchase propensity and churn risk, per customer as of the
    as-of date; mean CLV, propensity and churn risk per segment in segment_profiles."""
    if not predictions.enabled:
        with warehouse.connect() as conn:
            drop_predictions(conn)
        reason = f"{SWITCHED_OFF}: none are served"
        return MaterializeResult(metadata={"skipped_because": MetadataValue.text(reason)})
    models = predictions.current()
    if models is None:
        reason = "no prediction models yet: clv_model and purchase_propensity_model come first"
        context.log.info(reason)
        return MaterializeResult(metadata={"skipped_because": MetadataValue.text(reason)})
    with warehouse.connect(read_only=True) as conn:
        as_of_date = features_as_of(conn)
        features = read_table(conn, CUSTOMER_FEATURES_TABLE)
        repeat_purchases = read_table(conn, CUSTOMER_REPEAT_PURCHASES_TABLE)
    started = time.perf_counter()
    scored = score(models, features, repeat_purchases, predictions.annual_discount_rate)
    scoring_seconds = time.perf_counter() - started
    with warehouse.connect() as conn:
        replace_predictions(conn, scored, as_of_date, models.horizon_days, models.version)
        metadata = table_metadata(conn, SEGMENTS_SCHEMA, CUSTOMER_PREDICTIONS)
    summary = scored.drop(columns="customer_id").describe().T.round(4).reset_index()
    return MaterializeResult(
        metadata={
            **metadata,
            MODEL_SECONDS: MetadataValue.float(round(scoring_seconds, 1)),
            "model_version": MetadataValue.text(models.version),
            "as_of_date": MetadataValue.text(as_of_date.isoformat()),
            "horizon_days": MetadataValue.int(models.horizon_days),
            "propensity_from": MetadataValue.text(models.chosen),
            "summary": markdown_table(summary, max_rows=len(summary)),
        }
    )
