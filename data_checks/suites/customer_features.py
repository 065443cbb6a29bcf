"""Expectations for marts.customer_features: valid rows, and consistency with the last run.

The features adapt to the sources present, so suites are built from the columns the table has.
"""

from collections.abc import Sequence
from datetime import date

import great_expectations as gx
import great_expectations.expectations as gxe

from data_checks.baseline import FEATURES_TABLE, FREQUENCY_TABLE, Baseline
from data_checks.thresholds import Thresholds
from data_checks.validation import Batch

IDENTITY = ("customer_id", "as_of_date")
SHARE_PREFIX = "category_share_"
SHARE_TOTAL = "category_share_total"
NON_NEGATIVE = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "tenure_days",
    "orders_last_90d",
    "sessions_90d",
    "avg_session_seconds",
    "pages_per_session",
    "likes",
    "shares",
    "comments",
    "mentions",
)
RATES = (
    "return_rate",
    "discount_share",
    "q4_order_share",
    "weekend_order_share",
    "bounce_rate",
    "site_conversion_rate",
    "email_open_rate",
    "click_through_rate",
    "campaign_conversion_rate",
)
SIGNED_RATES = ("spend_trend", "avg_sentiment")


def valid_rows_batch(
    columns: Sequence[str],
    dim_customers: int,
    thresholds: Thresholds,
    table: str = FEATURES_TABLE,
) -> Batch:
    """Every row is one known customer with features in their valid ranges (in `table`: the
    current features, or a point-in-time rebuild of them)."""
    shares = [c for c in columns if c.startswith(SHARE_PREFIX)]
    share_total = " + ".join(shares) if shares else "null"
    features = [c for c in columns if c not in IDENTITY]
    expectations: list[gx.expectations.Expectation] = [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectTableRowCountToEqual(value=dim_customers),
        gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
        gxe.ExpectColumnValuesToBeUnique(column="customer_id"),
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0)
        for c in NON_NEGATIVE
        if c in columns
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1)
        for c in (*RATES, *shares)
        if c in columns
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=-1, max_value=1)
        for c in SIGNED_RATES
        if c in columns
    ]
    if {"recency_days", "tenure_days"} <= set(columns):
        expectations.append(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="tenure_days",
                column_B="recency_days",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        )
    if shares:
        expectations.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=SHARE_TOTAL,
                min_value=1 - thresholds.share_sum_tolerance,
                max_value=1 + thresholds.share_sum_tolerance,
            )
        )
    expectations += [
        gxe.ExpectColumnValuesToNotBeNull(column=c, mostly=1 - thresholds.null_share_limit(c))
        for c in features
    ]
    return Batch(
        suite="marts.customer_features",
        table=table,
        query=f"select *, {share_total} as {SHARE_TOTAL} from {table}",
        expectations=expectations,
        row_id="customer_id",
    )


def consistency_batch(
    columns: Sequence[str], baseline: Baseline, as_of_date: date, thresholds: Thresholds
) -> Batch:
    """The table moved no more than the thresholds allow since the last validated run, and no
    customer lost order history (compared only when the as-of date did not go back)."""
    band = thresholds.row_count_band
    expectations: list[gx.expectations.Expectation] = [
        gxe.ExpectTableRowCountToBeBetween(
            min_value=int(baseline.row_count * (1 - band)),
            max_value=int(baseline.row_count * (1 + band)) + 1,
        )
    ]
    for feature in thresholds.band_features:
        previous = baseline.means.get(feature)
        if feature in columns and previous:
            low, high = sorted(
                (previous * (1 - thresholds.mean_band), previous * (1 + thresholds.mean_band))
            )
            expectations.append(
                gxe.ExpectColumnMeanToBeBetween(column=feature, min_value=low, max_value=high)
            )
    if "frequency" in columns and as_of_date >= baseline.as_of_date:
        expectations.append(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="frequency",
                column_B="previous_frequency",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                mostly=1 - thresholds.max_frequency_drop_share,
            )
        )
    selected = [c for c in columns if c in ("customer_id", "frequency", *thresholds.band_features)]
    return Batch(
        suite="marts.customer_features.vs_last_run",
        table=FEATURES_TABLE,
        query=(
            f"select {', '.join('f.' + c for c in selected)}, b.frequency as previous_frequency "
            f"from {FEATURES_TABLE} as f left join {FREQUENCY_TABLE} as b using (customer_id)"
        ),
        expectations=expectations,
        row_id="customer_id",
        materialize=True,  # a join: once, not once per expectation
    )
