"""Expectations in words: "unit_price must be > 0", "order_id must not be null in at least 99.5 %
of rows". The same sentence is the expectation's description in the Data Docs (which GX renders
instead of its own template), the check metadata in Dagster and the console line of a stopped run,
so all three say the same thing, strict bounds included."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

MAX_LISTED_VALUES = 8


def in_words(expectation_type: str, kwargs: Mapping[str, Any]) -> str:
    """The expectation `expectation_type` (GX's snake_case name) with `kwargs`, as a sentence."""
    phrase = _PHRASES.get(expectation_type)
    sentence = phrase(kwargs) if phrase else expectation_type.replace("_", " ")
    return sentence + _mostly(kwargs.get("mostly"))


def number(value: object) -> str:
    """A bound as people write it: 0 rather than 0.0, 24 rather than 24.000000."""
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value)


def _bounds(kwargs: Mapping[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    above = ">" if kwargs.get("strict_min") else ">="
    below = "<" if kwargs.get("strict_max") else "<="
    if low is not None and high is not None:
        if not kwargs.get("strict_min") and not kwargs.get("strict_max"):
            return f"between {number(low)} and {number(high)}"
        return f"{above} {number(low)} and {below} {number(high)}"
    if low is not None:
        return f"{above} {number(low)}"
    if high is not None:
        return f"{below} {number(high)}"
    return "any number"


def _listed(values: Sequence[object]) -> str:
    shown = [str(value) for value in list(values)[:MAX_LISTED_VALUES]]
    more = len(values) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _mostly(mostly: object) -> str:
    if not isinstance(mostly, int | float) or mostly >= 1:
        return ""
    return f" in at least {number(round(float(mostly) * 100, 4))} % of rows"


def _pair(kwargs: Mapping[str, Any]) -> str:
    relation = ">=" if kwargs.get("or_equal") else ">"
    return f"{kwargs['column_A']} must be {relation} {kwargs['column_B']}"


def _row_count(kwargs: Mapping[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if high is None and low is not None:
        return f"the table must have at least {number(low)} row{'s' if low != 1 else ''}"
    return f"the table must have {_bounds(kwargs)} rows"


_PHRASES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "expect_column_values_to_be_between": lambda k: f"{k['column']} must be {_bounds(k)}",
    "expect_column_mean_to_be_between": lambda k: f"the mean of {k['column']} must be {_bounds(k)}",
    "expect_column_values_to_not_be_null": lambda k: f"{k['column']} must not be null",
    "expect_column_values_to_be_unique": lambda k: f"{k['column']} must be unique",
    "expect_column_values_to_be_in_set": lambda k: (
        f"{k['column']} must be one of {_listed(k['value_set'])}"
    ),
    "expect_column_distinct_values_to_contain_set": lambda k: (
        f"{k['column']} must include {_listed(k['value_set'])}"
    ),
    "expect_column_pair_values_a_to_be_greater_than_b": _pair,
    "expect_table_row_count_to_be_between": _row_count,
    "expect_table_row_count_to_equal": lambda k: (
        f"the table must have exactly {number(k['value'])} rows"
    ),
}
