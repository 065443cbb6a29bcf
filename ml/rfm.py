"""The classic baseline: RFM quintile scores and the usual named RFM cells.

Scores are quintiles of rank (ties broken by customer id, so every score holds a fifth of the
customers): R is 5 for the most recent buyers, F and M are 5 for the most orders and the most
spend. Customers who never ordered rank as least recent. Cells follow the common R x F grid.
"""

import numpy as np
import pandas as pd

# (R scores, F scores) -> cell; checked in order, first match wins.
RFM_CELLS: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("Champions", (5,), (4, 5)),
    ("Loyal", (3, 4), (4, 5)),
    ("Potential loyalists", (4, 5), (2, 3)),
    ("New", (5,), (1,)),
    ("Promising", (4,), (1,)),
    ("Need attention", (3,), (3,)),
    ("About to sleep", (3,), (1, 2)),
    ("Cannot lose them", (1, 2), (5,)),
    ("At risk", (1, 2), (3, 4)),
    ("Hibernating", (1, 2), (1, 2)),
)


def quintile_scores(values: pd.Series, ascending: bool = True) -> pd.Series:
    """1-5 by rank: equal-sized fifths, ties broken by position (callers sort by id first)."""
    ranks = values.rank(method="first", ascending=ascending, na_option="top")
    return np.ceil(ranks * 5 / len(values)).astype(int).clip(1, 5)


def rfm_cell(recency: int, frequency: int) -> str:
    return next(name for name, rs, fs in RFM_CELLS if recency in rs and frequency in fs)


def rfm_scores(features: pd.DataFrame) -> pd.DataFrame:
    """customer_id, recency_days, frequency, monetary -> R, F, M scores, RFM code and cell."""
    ordered = features.sort_values("customer_id").reset_index(drop=True)
    recency = quintile_scores(-ordered["recency_days"].astype(float))
    frequency = quintile_scores(ordered["frequency"].astype(float))
    monetary = quintile_scores(ordered["monetary"].astype(float))
    return pd.DataFrame(
        {
            "customer_id": ordered["customer_id"],
            "recency_score": recency,
            "frequency_score": frequency,
            "monetary_score": monetary,
            "rfm_code": recency.astype(str) + frequency.astype(str) + monetary.astype(str),
            "rfm_segment": [rfm_cell(r, f) for r, f in zip(recency, frequency, strict=True)],
        }
    )
