"""Whether a baseline computed the same customer feature table as the dbt models: same customers,
same columns, numbers within a floating tolerance (the models sum fixed-point amounts), the rest
equal. Timing a baseline that computes something else would prove nothing."""

import numpy as np
import pandas as pd

RELATIVE_TOLERANCE = 1e-6
ABSOLUTE_TOLERANCE = 1e-9


def feature_differences(expected: pd.DataFrame, actual: pd.DataFrame) -> list[str]:
    """One line per difference (columns, customers, then each column with differing values and
    up to three examples); empty when the tables agree."""
    if list(actual.columns) != list(expected.columns):
        return [f"columns differ: expected {list(expected.columns)}, got {list(actual.columns)}"]
    expected = expected.sort_values("customer_id", ignore_index=True)
    actual = actual.sort_values("customer_id", ignore_index=True)
    if not expected["customer_id"].equals(actual["customer_id"]):
        missing = set(expected["customer_id"]) - set(actual["customer_id"])
        extra = set(actual["customer_id"]) - set(expected["customer_id"])
        return [f"customers differ: {len(missing)} missing, {len(extra)} extra"]
    differences = []
    for column in expected.columns:
        differs = _differs(expected[column], actual[column])
        if differs.any():
            examples = ", ".join(
                f"{customer}: {want!r} != {got!r}"
                for customer, want, got in zip(
                    expected["customer_id"][differs][:3],
                    expected[column][differs][:3],
                    actual[column][differs][:3],
                    strict=True,
                )
            )
            differences.append(f"{column}: {int(differs.sum())} rows differ ({examples})")
    return differences


def _differs(expected: pd.Series, actual: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(expected) or pd.api.types.is_datetime64_any_dtype(
        actual
    ):
        expected, actual = pd.to_datetime(expected), pd.to_datetime(actual)
    both_missing = expected.isna() & actual.isna()
    if pd.api.types.is_numeric_dtype(expected) and pd.api.types.is_numeric_dtype(actual):
        want = expected.astype("float64").to_numpy(na_value=np.nan)
        got = actual.astype("float64").to_numpy(na_value=np.nan)
        close = np.isclose(want, got, rtol=RELATIVE_TOLERANCE, atol=ABSOLUTE_TOLERANCE)
        return pd.Series(~(close | both_missing.to_numpy()), index=expected.index)
    return ~(both_missing | (expected.astype(str) == actual.astype(str)))
