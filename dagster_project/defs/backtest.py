"""The backtest asset: is the segmentation worth acting on? Trains the configured segmentation as
of h days ago, from the features rebuilt as of that day (schema pit_marts, as the history
backfill does), and measures how much of what customers did since then their segments explain,
next to the RFM cells (ml/backtest.py). Runs with every training."""

from datetime import timedelta

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from dagster_dbt import DbtCliResource

from dagster_project.defs.backfill import point_in_time_features
from dagster_project.defs.metadata import markdown_table
from dagster_project.defs.model_report import image
from dagster_project.defs.quality import CUSTOMER_FEATURES
from dagster_project.defs.resources import (
    DataQualityResource,
    PrivacyResource,
    SegmentationResource,
    WarehouseResource,
)
from dagster_project.lib.names import (
    BACKTESTS,
    POINT_IN_TIME_FEATURES_TABLE,
    PROPENSITY_MODEL,
    SEGMENTATION_MODEL,
    WAREHOUSE_POOL,
)
from dagster_project.lib.segment_store.backtests import measured_before, record_backtest
from dagster_project.lib.segment_store.purchases import first_purchase_day, purchases_between
from dagster_project.lib.segment_store.reads import (
    feature_chunks,
    features_as_of,
    training_sample,
)
from ml import plots
from ml.backtest import backtest, compare
from ml.rfm import rfm_scores
from ml.scoring import score_in_chunks
from ml.train import train

BACKTEST_VERSION = "backtest"


@asset(
    name=BACKTESTS,
    # After the prediction models, whose holdout cutoff is this cutoff by default: the features
    # they rebuilt and validated as of it serve here too.
    deps=[AssetKey(SEGMENTATION_MODEL), AssetKey(PROPENSITY_MODEL), CUSTOMER_FEATURES],
    group_name="segmentation",
    kinds={"dbt", "scikit-learn", "duckdb"},
    pool=WAREHOUSE_POOL,
)
def segment_backtests(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    quality: DataQualityResource,
    privacy: PrivacyResource,
    segmentation: SegmentationResource,
) -> MaterializeResult:
    """Segments trained as of backtest_horizon_days ago, and the share of the variance of later
    purchases, spend and "any purchase" they explain (eta squared), beside the RFM cells; into
    segments.backtests."""
    config = segmentation.config()
    horizon = config.backtest_horizon_days
    current = segmentation.current().version
    with warehouse.connect(read_only=True) as conn:
        as_of_date = features_as_of(conn)
        first_day = first_purchase_day(conn)
        cutoff = as_of_date - timedelta(days=horizon)
        measured = measured_before(conn, current, cutoff)
    if first_day is None or cutoff <= first_day or measured:
        reason = (
            f"model {current} was already backtested at {cutoff} (a reused model on the same "
            "data gives the same numbers)"
            if measured
            else f"no backtest: the orders start {first_day}, not before the cutoff {cutoff} "
            f"({horizon} days before {as_of_date})"
        )
        context.log.info(reason)
        return MaterializeResult(metadata={"skipped_because": MetadataValue.text(reason)})
    point_in_time_features(dbt, warehouse, privacy, quality, cutoff, context.run.run_id)
    with warehouse.connect(read_only=True) as conn:
        features = training_sample(
            conn, config.train_sample, config.random_state, POINT_IN_TIME_FEATURES_TABLE
        )
        report = train(features, config, BACKTEST_VERSION)
        model = report.model
        scored = score_in_chunks(
            model, feature_chunks(conn, model.features, POINT_IN_TIME_FEATURES_TABLE)
        )
        rfm = rfm_scores(
            conn.execute(
                "select customer_id, recency_days, frequency, monetary "
                f"from {POINT_IN_TIME_FEATURES_TABLE}"
            ).df()
        )
        later = purchases_between(conn, cutoff, as_of_date)
    groupings = {
        "segments": scored.assignments.set_index("customer_id")["segment_id"],
        "rfm": rfm.set_index("customer_id")["rfm_segment"],
    }
    table = backtest(groupings, later)
    with warehouse.connect() as conn:
        record_backtest(conn, current, cutoff, horizon, table)
    summary = compare(table)
    context.log.info(summary)
    return MaterializeResult(
        metadata={
            "model_version": MetadataValue.text(current),
            "cutoff_date": MetadataValue.text(cutoff.isoformat()),
            "horizon_days": MetadataValue.int(horizon),
            "backtest": markdown_table(table.round(4)),
            "summary": MetadataValue.text(summary),
            "segments_at_cutoff": MetadataValue.int(int(groupings["segments"].nunique())),
            "customers_at_cutoff": MetadataValue.int(len(scored.assignments)),
            "buyers_since_cutoff": MetadataValue.int(len(later)),
            "backtest_plot": image(plots.backtest_bars(table)),
            "segment_names_at_cutoff": markdown_table(
                pd.DataFrame(
                    [(s.segment_id, s.name) for s in model.segments.values()],
                    columns=["segment_id", "name"],
                )
            ),
        }
    )
