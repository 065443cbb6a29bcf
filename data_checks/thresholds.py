"""Every data-quality threshold, with its default, in one place.

Override any of them with a YAML file named by SEG_QUALITY_CONFIG, for example:

    max_null_share: 0.4
    max_null_share_by_column: {avg_sentiment: 0.99}
    row_count_band: 0.1
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Thresholds:
    # Raw sources. Staging cleans a little dirt; more than this share of rows is an upstream fault.
    max_dirty_row_share: float = 0.005
    """Rows with a null key, or stamped after their load time plus `future_tolerance_hours`."""
    max_duplicate_key_share: float = 0.05
    """Rows whose key also appears on another row (re-exported CRM records, doubled events)."""
    future_tolerance_hours: int = 24
    """Clock skew tolerated between a source and the loader; later rows are dropped by staging."""
    max_future_days: int = 365
    """No timestamp may lie further than this after its load time: such a date is impossible."""
    max_rate_violation_share: float = 0.005
    """Customers with more campaigns clicked or opened than sent to them."""

    # customer_features, row by row.
    max_null_share: float = 0.5
    max_null_share_by_column: Mapping[str, float] = field(
        default_factory=lambda: {
            "spend_trend": 0.8,
            "email_open_rate": 0.8,
            "campaign_conversion_rate": 0.9,
            "avg_sentiment": 0.95,
        }
    )
    share_sum_tolerance: float = 1e-6

    # customer_features against the last validated run.
    row_count_band: float = 0.2
    """The number of customers may move by this share of the last validated count."""
    mean_band: float = 0.5
    """The mean of each band feature may move by this share of its last validated mean."""
    band_features: tuple[str, ...] = (
        "frequency",
        "monetary",
        "avg_order_value",
        "recency_days",
        "sessions_90d",
        "click_through_rate",
    )
    max_frequency_drop_share: float = 0.0
    """Customers whose order count fell since the last validated run (history should only grow)."""

    def null_share_limit(self, column: str) -> float:
        return self.max_null_share_by_column.get(column, self.max_null_share)

    @classmethod
    def from_yaml(cls, path: Path) -> "Thresholds":
        overrides = yaml.safe_load(path.read_text()) or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(
                f"{path}: unknown threshold(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        if "band_features" in overrides:
            overrides["band_features"] = tuple(overrides["band_features"])
        if "max_null_share_by_column" in overrides:
            overrides["max_null_share_by_column"] = {
                **cls().max_null_share_by_column,
                **overrides["max_null_share_by_column"],
            }
        return replace(cls(), **overrides)
