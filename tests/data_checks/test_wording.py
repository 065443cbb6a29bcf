"""Expectations in words, as the console, the check metadata and the Data Docs show them."""

import pytest

from data_checks.wording import in_words


@pytest.mark.parametrize(
    ("expectation", "kwargs", "words"),
    [
        (
            "expect_column_values_to_be_between",
            {"column": "unit_price", "min_value": 0, "strict_min": True},
            "unit_price must be > 0",
        ),
        (
            "expect_column_values_to_be_between",
            {"column": "discount", "min_value": 0.0, "max_value": 1.0},
            "discount must be between 0 and 1",
        ),
        (
            "expect_column_values_to_be_between",
            {"column": "event_at_hours_after_load", "max_value": 24, "mostly": 0.995},
            "event_at_hours_after_load must be <= 24 in at least 99.5 % of rows",
        ),
        (
            "expect_column_values_to_not_be_null",
            {"column": "order_id", "mostly": 0.995},
            "order_id must not be null in at least 99.5 % of rows",
        ),
        (
            "expect_column_values_to_be_in_set",
            {"column": "status", "value_set": ["completed", "cancelled", "returned"]},
            "status must be one of completed, cancelled, returned",
        ),
        (
            "expect_column_pair_values_a_to_be_greater_than_b",
            {"column_A": "tenure_days", "column_B": "recency_days", "or_equal": True},
            "tenure_days must be >= recency_days",
        ),
        (
            "expect_table_row_count_to_be_between",
            {"min_value": 1},
            "the table must have at least 1 row",
        ),
        (
            "expect_table_row_count_to_be_between",
            {"min_value": 16000, "max_value": 24001},
            "the table must have between 16,000 and 24,001 rows",
        ),
        (
            "expect_table_row_count_to_equal",
            {"value": 1000},
            "the table must have exactly 1000 rows",
        ),
    ],
)
def test_expectations_read_as_sentences(expectation: str, kwargs: dict, words: str) -> None:
    assert in_words(expectation, kwargs) == words


def test_an_unknown_expectation_is_still_readable() -> None:
    assert in_words("expect_column_kl_divergence_to_be_less_than", {}) == (
        "expect column kl divergence to be less than"
    )
