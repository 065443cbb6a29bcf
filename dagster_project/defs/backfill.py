"""Point in time: the segments of any past day, rebuilt from the data, as daily partitions.

Each partition rebuilds the as-of-dependent dbt layers (intermediate and marts) as of its day into
schemas `pit_intermediate` and `pit_marts`, from the same staging models, so the current marts
are never touched; validates the rebuilt features with the same Great Expectations suite as the
gate on customer_features; scores them (with the model that scored that day before, if any, so a
past assignment is reproduced exactly), splices the day into segment_history and
segment_transitions, and republishes the serving snapshot. Backfill a range from the UI (asset
`segment_history_backfill`, Materialize, pick the dates); days may run in any order.
"""

import json
import shutil
from datetime import date

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    DailyPartitionsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_dbt import DbtCliResource

from dagster_project.defs.dbt_project import dbt_project
from dagster_project.defs.metadata import markdown_table
from dagster_project.defs.quality import CUSTOMER_FEATURES
from dagster_project.defs.resources import (
    DataQualityResource,
    PrivacyResource,
    SegmentationResource,
    ServingResource,
    WarehouseResource,
)
from dagster_project.defs.serving import snapshot_metadata
from dagster_project.lib.feature_sources import unobserved_features
from dagster_project.lib.names import (
    HISTORY_BACKFILL,
    POINT_IN_TIME_DIM_CUSTOMERS_TABLE,
    POINT_IN_TIME_FEATURES_TABLE,
    POINT_IN_TIME_PREFIX,
    WAREHOUSE_POOL,
)
from dagster_project.lib.point_in_time import forget_rebuild, mark_rebuilt, rebuilt_for
from dagster_project.lib.segment_store.publish import publish
from dagster_project.lib.segment_store.reads import (
    backfill_model_version,
    is_backfill,
    score_everyone,
)
from dagster_project.lib.settings import Settings
from data_checks.baseline import feature_columns
from data_checks.suites.customer_features import valid_rows_batch


def build_history_backfill(settings: Settings) -> AssetsDefinition:
    partitions = DailyPartitionsDefinition(
        start_date=settings.history_start_date, timezone=settings.schedule_timezone
    )

    @asset(
        name=HISTORY_BACKFILL,
        partitions_def=partitions,
        deps=[CUSTOMER_FEATURES],
        group_name="segmentation",
        kinds={"dbt", "duckdb", "scikit-learn"},
        pool=WAREHOUSE_POOL,
    )
    def segment_history_backfill(
        context: AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        quality: DataQualityResource,
        privacy: PrivacyResource,
        segmentation: SegmentationResource,
        serving: ServingResource,
    ) -> MaterializeResult:
        """The segments of a past day, rebuilt as of that day (features in schema pit_marts)
        and spliced into segment_history and segment_transitions, then served. Days before the
        newest one scored only; the current tables stay as they are."""
        day = date.fromisoformat(context.partition_key)
        with warehouse.connect(read_only=True) as conn:
            if not is_backfill(conn, day):
                raise Failure(
                    f"{day} is not before the newest scored date: the daily refresh publishes "
                    "current dates; backfill only fills in the past."
                )
            version = backfill_model_version(conn, day)
        point_in_time_features(dbt, warehouse, privacy, quality, day, context.run.run_id)
        model = segmentation.load(version) if version else segmentation.current()
        with warehouse.connect() as conn:
            scored = score_everyone(conn, model, POINT_IN_TIME_FEATURES_TABLE)
            published = publish(
                conn,
                model,
                scored,
                retrain_because="",
                psi_threshold=segmentation.config().drift_psi_threshold,
                features=POINT_IN_TIME_FEATURES_TABLE,
            )
        snapshot = serving.publish(warehouse, context.run.run_id)
        sizes = scored.assignments["segment_name"].value_counts().rename("customers")
        return MaterializeResult(
            metadata={
                "as_of_date": MetadataValue.text(day.isoformat()),
                "model_version": MetadataValue.text(model.version),
                "customers": MetadataValue.int(len(scored.assignments)),
                "segment_sizes": markdown_table(sizes.reset_index()),
                "unchanged": MetadataValue.bool(published.unchanged),
                "later_dates_reapplied": MetadataValue.text(
                    ", ".join(d.isoformat() for d in published.replayed) or "none"
                ),
                **{f"snapshot_{key}": value for key, value in snapshot_metadata(snapshot).items()},
            }
        )

    return segment_history_backfill


def point_in_time_features(
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    privacy: PrivacyResource,
    quality: DataQualityResource,
    day: date,
    run_id: str,
) -> None:
    """The features as of `day` in pit_*, rebuilt and validated, unless this run already did
    (lib/point_in_time.py)."""
    with warehouse.connect(read_only=True) as conn:
        if rebuilt_for(conn) == (run_id, day):
            return
    with warehouse.connect() as conn:
        forget_rebuild(conn)
    rebuild_features_as_of(dbt, warehouse, privacy, day)
    validate_point_in_time_features(quality, warehouse)
    with warehouse.connect() as conn:
        mark_rebuilt(conn, run_id, day)


def rebuild_features_as_of(
    dbt: DbtCliResource, warehouse: WarehouseResource, privacy: PrivacyResource, day: date
) -> None:
    """The intermediate and marts layers as of `day`, in schemas pit_intermediate and
    pit_marts, under the consent policy of today (a withdrawal applies to the past too)."""
    dbt_vars = {
        **privacy.dbt_vars(),
        "warehouse_path": warehouse.path,
        "as_of_date": day.isoformat(),
        "point_in_time_prefix": POINT_IN_TIME_PREFIX,
    }
    invocation = dbt.cli(
        ["run", "--select", "intermediate marts", "--vars", json.dumps(dbt_vars)],
        manifest=dbt_project.manifest_path,
        raise_on_error=False,
    ).wait()
    if not invocation.is_successful():
        raise Failure(
            f"dbt could not rebuild the features as of {day}; see {invocation.target_path}"
        )
    shutil.rmtree(invocation.target_path, ignore_errors=True)


def validate_point_in_time_features(
    quality: DataQualityResource, warehouse: WarehouseResource
) -> None:
    """The valid_rows gate on the rebuilt features: bad data reaches no history (or backtest)
    either."""
    with warehouse.connect(read_only=True) as conn:
        known = conn.execute(
            f"select count(*) from {POINT_IN_TIME_DIM_CUSTOMERS_TABLE}"
        ).fetchone()[0]
        unobserved = set(unobserved_features(conn))
        columns = [name for name in feature_columns(conn) if name not in unobserved]
        batch = valid_rows_batch(columns, known, quality.thresholds(), POINT_IN_TIME_FEATURES_TABLE)
        result = quality.validator().validate(conn, [batch])
    if not result.success:
        raise Failure(
            "The features rebuilt as of this day fail valid_rows:\n"
            + "\n".join(outcome.describe() for outcome in result.failures),
            metadata={"data_docs": MetadataValue.url(quality.page_url(result.main_docs_page))},
        )
