"""Every data-quality threshold, with its default, in one place.

Override any of them with a YAML file named by SEG_QUALITY_CONFIG, for example:

    max_null_share: 0.4
    max_null_share_by_column: {avg_sentiment: 0.99}
    row_count_band: 0.1

Every value is checked before it is used (thresholds reach GX and dbt as numbers and column
names): shares lie in [0, 1], hours and days are whole non-negative numbers, bands and
tolerances are non-negative, and column names are plain identifiers.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


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
    max_source_age_days: int = 3
    """An event source (orders, web, campaign or social events) silent for more days than this,
    and longer than any silence it kept in the half-year before, has stopped delivering: the
    freshness check fails and alerts, and drift measured meanwhile requests no retrain. Sources
    never provided are not stale."""

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
        checked = {name: _checked(path, name, value) for name, value in overrides.items()}
        if "band_features" in checked:
            checked["band_features"] = tuple(checked["band_features"])
        if "max_null_share_by_column" in checked:
            checked["max_null_share_by_column"] = {
                **cls().max_null_share_by_column,
                **checked["max_null_share_by_column"],
            }
        return replace(cls(), **checked)


def _checked(path: Path, name: str, value: Any) -> Any:
    """`value` when it has the type and range of threshold `name`; else a ValueError naming the
    file and the key."""

    def refuse(expected: str) -> ValueError:
        return ValueError(f"{path}, key '{name}': expected {expected}, got {value!r}")

    if name == "band_features":
        if not isinstance(value, list) or not all(_is_identifier(v) for v in value):
            raise refuse("a list of feature column names")
        return value
    if name == "max_null_share_by_column":
        if not isinstance(value, dict) or not all(
            _is_identifier(k) and _is_share(v) for k, v in value.items()
        ):
            raise refuse("a mapping of column name to a share between 0 and 1")
        return value
    if name.endswith(("_hours", "_days")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise refuse("a whole number >= 0")
        return value
    if "share" in name:
        if not _is_share(value):
            raise refuse("a share between 0 and 1")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise refuse("a number >= 0")
    return float(value)


def _is_share(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and 0 <= value <= 1


def _is_identifier(value: Any) -> bool:
    return isinstance(value, str) and IDENTIFIER.fullmatch(value) is not None
