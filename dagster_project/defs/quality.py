"""Blocking data-quality gates on customer_features, and the validated baseline they compare to."""

from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset_check,
)

from dagster_project.defs.metadata import check_result
from dagster_project.defs.resources import DataQualityResource, WarehouseResource
from dagster_project.lib.feature_sources import unobserved_features
from dagster_project.lib.names import CUSTOMER_FEATURES as CUSTOMER_FEATURES_NAME
from dagster_project.lib.names import (
    CUSTOMER_FEATURES_TABLE,
    DIM_CUSTOMERS_TABLE,
    WAREHOUSE_POOL,
)
from data_checks.baseline import feature_columns, load_baseline, record_baseline
from data_checks.suites.customer_features import consistency_batch, valid_rows_batch

CUSTOMER_FEATURES = AssetKey(CUSTOMER_FEATURES_NAME)
VALID_ROWS = "valid_rows"
CONSISTENT = "consistent_with_last_validated_run"


@multi_asset_check(
    name="customer_features_checks",
    specs=[
        AssetCheckSpec(
            VALID_ROWS,
            asset=CUSTOMER_FEATURES,
            blocking=True,
            description="One row per known customer; counts and amounts non-negative, rates in "
            "[0, 1], recency within tenure, category shares summing to 1, null shares bounded.",
        ),
        AssetCheckSpec(
            CONSISTENT,
            asset=CUSTOMER_FEATURES,
            blocking=True,
            description="Row count and key feature means within a band of the last validated "
            "run; no customer lost order history.",
        ),
    ],
    can_subset=True,
    pool=WAREHOUSE_POOL,
)
def customer_features_checks(
    context: AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    quality: DataQualityResource,
) -> Iterator[AssetCheckResult]:
    """Great Expectations gates: nothing downstream of customer_features runs when one fails."""
    thresholds = quality.thresholds()
    validator = quality.validator()
    selected = {key.name for key in context.selected_asset_check_keys}
    with warehouse.connect(read_only=True) as conn:
        unobserved = set(unobserved_features(conn))
        columns = [name for name in feature_columns(conn) if name not in unobserved]
        if VALID_ROWS in selected:
            known = conn.execute(f"select count(*) from {DIM_CUSTOMERS_TABLE}").fetchone()[0]
            result = validator.validate(conn, [valid_rows_batch(columns, known, thresholds)])
            yield check_result(result, quality.page_url, CUSTOMER_FEATURES, VALID_ROWS)
        if CONSISTENT in selected:
            baseline = load_baseline(conn)
            if baseline is None:
                yield AssetCheckResult(
                    asset_key=CUSTOMER_FEATURES,
                    check_name=CONSISTENT,
                    passed=True,
                    description="No validated run yet: this one becomes the first baseline.",
                )
                return
            as_of_date = conn.execute(
                f"select max(as_of_date) from {CUSTOMER_FEATURES_TABLE}"
            ).fetchone()[0]
            batch = consistency_batch(columns, baseline, as_of_date, thresholds)
            yield check_result(
                validator.validate(conn, [batch]), quality.page_url, CUSTOMER_FEATURES, CONSISTENT
            )


@asset(
    deps=[CUSTOMER_FEATURES],
    group_name="quality",
    kinds={"great_expectations", "duckdb"},
    pool=WAREHOUSE_POOL,
)
def customer_features_baseline(
    warehouse: WarehouseResource, quality: DataQualityResource
) -> MaterializeResult:
    """Row count, feature means and each customer's order count from the last customer_features
    that passed every blocking check; the next run's consistency check compares against it. A run
    whose checks fail never gets here, so a bad table never becomes the reference. Features of a
    day earlier than the baseline's (a past day re-scored) leave the baseline as it is."""
    with warehouse.connect() as conn:
        current = load_baseline(conn)
        as_of_date = conn.execute(
            f"select max(as_of_date) from {CUSTOMER_FEATURES_TABLE}"
        ).fetchone()[0]
        if current is not None and as_of_date < current.as_of_date:
            return MaterializeResult(
                metadata={
                    "as_of_date": MetadataValue.text(current.as_of_date.isoformat()),
                    "kept because": MetadataValue.text(
                        f"these features describe {as_of_date}, earlier than the baseline's "
                        f"{current.as_of_date}: the baseline of the newest day stays"
                    ),
                }
            )
        baseline = record_baseline(conn, quality.thresholds().band_features)
    return MaterializeResult(
        metadata={
            "as_of_date": MetadataValue.text(baseline.as_of_date.isoformat()),
            "customers": MetadataValue.int(baseline.row_count),
            **{f"mean {name}": MetadataValue.float(mean) for name, mean in baseline.means.items()},
        }
    )
