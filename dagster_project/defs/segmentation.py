"""Segmentation: train (model search, explanation, stable ids), then score and publish everyone."""

from collections.abc import Iterator
from datetime import UTC, datetime

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from dagster_project.defs.metadata import markdown_table, table_metadata
from dagster_project.defs.model_report import training_metadata
from dagster_project.defs.quality import CUSTOMER_FEATURES
from dagster_project.defs.resources import (
    DataQualityResource,
    SegmentationResource,
    WarehouseResource,
)
from dagster_project.lib import names
from dagster_project.lib.freshness import describe_stale, source_ages, stale_sources
from dagster_project.lib.names import (
    BACKFILLED_TABLES,
    RETRAIN_METADATA,
    SEGMENTS_SCHEMA,
    TRAINED_BECAUSE_TAG,
    WAREHOUSE_POOL,
)
from dagster_project.lib.segment_store.publish import Publication, publish
from dagster_project.lib.segment_store.reads import (
    backfill_model_version,
    features_as_of,
    is_backfill,
    previous_run,
    score_everyone,
    training_sample,
)
from ml.drift import retrain_reason
from ml.scoring import Scored
from ml.train import train, training_fingerprint

SEGMENTATION_MODEL = AssetKey(names.SEGMENTATION_MODEL)
PUBLISHED_TABLES = {
    names.CUSTOMER_SEGMENTS: "Current segment of every customer, with the probability that they "
    "keep it when the segmentation is refitted (membership_probability).",
    names.SEGMENT_PROFILES: "Per segment: name, the evidence for each word of it, description, "
    "size, and each feature's mean and lift.",
    names.SEGMENT_DEMOGRAPHICS: "Per segment and demographic value (age band, gender, country): "
    "customers, share in the segment against share overall.",
    names.SEGMENT_HISTORY: "Type-2 history: which segment each customer was in, "
    "valid_from/valid_to.",
    names.SEGMENT_TRANSITIONS: "Customers moving between segments on each as-of date.",
    names.MODEL_RUNS: "Every published model: algorithm, parameters, quality metrics, "
    "fingerprint, and why it was trained.",
    names.RFM_SEGMENTS: "Classic baseline: RFM quintile scores and named RFM cells.",
    names.SCORING_RUNS: "Every scored as-of date: model, customers moved, largest drift, and the "
    "retrain it requested, if any.",
    names.FEATURE_DRIFT: "Per scored date and model feature: population stability index against "
    "the model's training snapshot, and whether it passed the threshold.",
}


@asset(
    name=names.SEGMENTATION_MODEL,
    deps=[CUSTOMER_FEATURES],
    group_name="segmentation",
    kinds={"scikit-learn"},
    pool=WAREHOUSE_POOL,
)
def segmentation_model(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    segmentation: SegmentationResource,
) -> MaterializeResult:
    """Searches KMeans, a BIC-chosen GaussianMixture, Ward and HDBSCAN on a sample of
    customer_features, picks the most segments that reproduce under bootstrap (ties by mean rank
    over silhouette, Calinski-Harabasz, Davies-Bouldin and stability) or keeps the published
    model's segments while its structure still holds, keeps segment ids by matching them, and
    trains a decision tree (rules) and an assigner (logistic regression in the clustering
    space).
    Saved as a new model version, unless the current model was trained on exactly the same
    training rows and settings: then it is reused, and the same data gives the same segments."""
    config = segmentation.config()
    with warehouse.connect(read_only=True) as conn:
        as_of_date = features_as_of(conn)
        if is_backfill(conn, as_of_date):
            raise Failure(
                description=f"The features describe {as_of_date}, earlier than the newest date "
                "already scored: training on them would make a past day's model the current one "
                "(and the next daily refresh would score today with it). Nothing was trained; "
                "the current model is unchanged. For a past day, materialize "
                f"{names.HISTORY_BACKFILL} for that partition (docs/operations.md)."
            )
        features = training_sample(conn, config.train_sample, config.random_state)
        previous = previous_run(conn, segmentation.load)
    current = segmentation.current_if_any()
    fingerprint = training_fingerprint(features, config)
    if current is not None and current.metrics.get("training_fingerprint") == fingerprint:
        reason = (
            f"reused model {current.version}: it was trained on exactly these training rows "
            "with these settings (training fingerprint equal), so training again could only "
            "move customers by chance"
        )
        context.log.info(reason)
        return MaterializeResult(
            metadata={
                "model_version": MetadataValue.text(current.version),
                "reused_because": MetadataValue.text(reason),
                "training_fingerprint": MetadataValue.text(fingerprint),
            }
        )
    version = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{context.run.run_id[:8]}"
    report = train(features, config, version, previous)
    report.model.metrics["trained_because"] = context.run.tags.get(
        TRAINED_BECAUSE_TAG, "run started by hand (no schedule or sensor)"
    )
    folder = segmentation.save(report.model)
    context.log.info(f"Model {version} saved to {folder}: {report.search.reason}")
    return MaterializeResult(
        metadata={"artifacts": MetadataValue.path(str(folder)), **training_metadata(report)}
    )


@multi_asset(
    specs=[
        AssetSpec(
            name,
            description=description,
            deps=[SEGMENTATION_MODEL, CUSTOMER_FEATURES],
            group_name="segmentation",
            kinds={"duckdb"},
            skippable=name not in BACKFILLED_TABLES,
        )
        for name, description in PUBLISHED_TABLES.items()
    ],
    pool=WAREHOUSE_POOL,
)
def segment_tables(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    segmentation: SegmentationResource,
    quality: DataQualityResource,
) -> Iterator[MaterializeResult]:
    """Scores every customer in chunks with the current model (a past date scored before: with
    the model that scored it), measures drift against the model's training snapshot, and
    publishes schema `segments` in one transaction: readers see the old tables or the new,
    never a mix. A date before the newest one scored is a backfill: it goes into the history
    only. Drift or segment sizes beyond the configured thresholds request a retrain, unless an
    event source is stale (lib/freshness.py): a retrain would learn the stall."""
    config = segmentation.config()
    max_age = quality.thresholds().max_source_age_days
    with warehouse.connect(read_only=True) as conn:
        as_of_date = features_as_of(conn)
        backfill = is_backfill(conn, as_of_date)
        version = backfill_model_version(conn, as_of_date)
        stale = stale_sources(source_ages(conn, as_of_date), max_age)
    model = segmentation.load(version) if version else segmentation.current()
    with warehouse.connect() as conn:
        scored = score_everyone(conn, model)
        drift = retrain_reason(
            scored.feature_psi,
            scored.segment_share_changes,
            config.drift_psi_threshold,
            config.drift_segment_share_threshold,
        )
        retrain_because = "" if backfill or stale else drift
        if drift and stale and not backfill:
            context.log.warning(
                f"Not requesting a retrain for {drift}: the drift is measured on "
                f"{describe_stale(stale, max_age)}"
            )
        published = publish(conn, model, scored, retrain_because, config.drift_psi_threshold)
        if published.unchanged:
            context.log.info(f"{as_of_date} was published from the same model and features.")
        tables = PUBLISHED_TABLES if published.current else BACKFILLED_TABLES
        for name in tables:
            metadata = table_metadata(conn, SEGMENTS_SCHEMA, name)
            if name == names.CUSTOMER_SEGMENTS:
                metadata |= _scoring_metadata(scored, retrain_because)
            yield MaterializeResult(
                asset_key=name,
                metadata={
                    **metadata,
                    "model_version": MetadataValue.text(model.version),
                    "as_of_date": MetadataValue.text(as_of_date.isoformat()),
                    "publication": MetadataValue.text(_publication_note(published)),
                    "customers_left_out_by_consent_policy": MetadataValue.int(
                        published.customers_left_out
                    ),
                },
            )


def _scoring_metadata(scored: Scored, retrain_because: str) -> dict[str, MetadataValue]:
    sizes = scored.assignments["segment_name"].value_counts().rename("customers").reset_index()
    return {
        "segment_sizes": markdown_table(sizes),
        "feature_drift_psi": markdown_table(scored.feature_psi.round(4), max_rows=50),
        "segment_share_changes": markdown_table(scored.segment_share_changes.round(4)),
        "max_feature_psi": MetadataValue.float(
            float(scored.feature_psi["psi"].max()) if len(scored.feature_psi) else 0.0
        ),
        RETRAIN_METADATA: MetadataValue.text(retrain_because or "no"),
    }


def _publication_note(published: Publication) -> str:
    if published.unchanged:
        return "unchanged: this date was published from the same model and features"
    if not published.current:
        later = ", ".join(day.isoformat() for day in published.replayed)
        return (
            f"backfill: spliced into segment_history and segment_transitions (re-applied {later})"
        )
    return "current: every table of schema segments replaced"
