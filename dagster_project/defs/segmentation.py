"""Segmentation: train (model search, explanation, stable ids), then score and publish everyone."""

import base64
from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
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
from dagster_project.defs.quality import CUSTOMER_FEATURES
from dagster_project.defs.resources import SegmentationResource, WarehouseResource
from dagster_project.lib import names
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
from ml import plots
from ml.drift import retrain_reason
from ml.scoring import Scored
from ml.train import TrainingReport, train

SEGMENTATION_MODEL = AssetKey(names.SEGMENTATION_MODEL)
PUBLISHED_TABLES = {
    names.CUSTOMER_SEGMENTS: "Current segment of every customer, with the assigner's confidence.",
    names.SEGMENT_PROFILES: "Per segment: name, description, size, and each feature's mean and "
    "lift.",
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


def _image(png: bytes) -> MetadataValue:
    return MetadataValue.md(f"![plot](data:image/png;base64,{base64.b64encode(png).decode()})")


def _training_metadata(report: TrainingReport) -> dict[str, MetadataValue]:
    model, found = report.model, report.search
    names = {segment_id: segment.name for segment_id, segment in model.segments.items()}
    sizes = report.labels.map(names).value_counts()
    segments = [
        {
            "segment_id": segment.segment_id,
            "name": segment.name,
            "customers": int(sizes.get(segment.name, 0)),
            "description": segment.description,
        }
        for segment in model.segments.values()
    ]
    cv = report.explainer_cv.per_segment.assign(segment=lambda f: f["segment"].map(names))
    return {
        "model_version": MetadataValue.text(model.version),
        "chosen": MetadataValue.text(found.chosen.name),
        "chosen_because": MetadataValue.text(found.reason),
        "candidates": markdown_table(found.table().round(3), max_rows=100),
        "segments": markdown_table(pd.DataFrame(segments), max_rows=50),
        "explainer_macro_f1": MetadataValue.float(report.explainer_cv.macro_f1),
        "assigner_macro_f1": MetadataValue.float(report.assigner_cv.macro_f1),
        "explainer_cv_per_segment": markdown_table(cv.round(3), max_rows=50),
        "permutation_importance": markdown_table(
            report.importances.head(10).round(4).rename("importance").reset_index(), max_rows=10
        ),
        "dropped_near_duplicates": markdown_table(
            pd.DataFrame(
                [(k, *v) for k, v in report.dropped_features.items()],
                columns=["dropped", "duplicate_of", "abs_correlation"],
            ),
            max_rows=50,
        ),
        "stability_ari_vs_previous": MetadataValue.float(report.stability_ari)
        if report.stability_ari is not None
        else MetadataValue.text("first run"),
        "new_segment_ids": MetadataValue.text(str(list(report.matching.new_segments))),
        "training_customers": MetadataValue.int(len(report.labels)),
        "k_selection": _image(plots.k_selection_curves(found.table())),
        "segment_map": _image(
            plots.segment_map(report.matrix, report.labels.to_numpy(), names, seed=0)
        ),
        "segment_sizes": _image(plots.segment_sizes(sizes)),
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
    Saved as a new model version."""
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
    version = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{context.run.run_id[:8]}"
    report = train(features, config, version, previous)
    report.model.metrics["trained_because"] = context.run.tags.get(
        TRAINED_BECAUSE_TAG, "run started by hand (no schedule or sensor)"
    )
    folder = segmentation.save(report.model)
    context.log.info(f"Model {version} saved to {folder}: {report.search.reason}")
    return MaterializeResult(
        metadata={"artifacts": MetadataValue.path(str(folder)), **_training_metadata(report)}
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
) -> Iterator[MaterializeResult]:
    """Scores every customer in chunks with the current model (a past date scored before: with
    the model that scored it), measures drift against the model's training snapshot, and
    publishes schema `segments` in one transaction: readers see the old tables or the new,
    never a mix. A date before the newest one scored is a backfill: it goes into the history
    only. Drift or segment sizes beyond the configured thresholds request a retrain."""
    config = segmentation.config()
    with warehouse.connect(read_only=True) as conn:
        as_of_date = features_as_of(conn)
        backfill = is_backfill(conn, as_of_date)
        version = backfill_model_version(conn, as_of_date)
    model = segmentation.load(version) if version else segmentation.current()
    with warehouse.connect() as conn:
        scored = score_everyone(conn, model)
        retrain_because = (
            ""
            if backfill
            else retrain_reason(
                scored.feature_psi,
                scored.segment_share_changes,
                config.drift_psi_threshold,
                config.drift_segment_share_threshold,
            )
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
