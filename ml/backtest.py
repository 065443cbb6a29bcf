"""Predictive validity: how much of customers' later behaviour their segment explains.

Segments exist to act on what customers do next. Trained on the features as of a cutoff T - h,
each customer's segment is compared with what they did over (T - h, T]: purchases, spend, and
whether they bought at all. The share of the variance of each measure that lies between segments
(eta squared, the R squared of the measure on segment dummies) says how much knowing the segment
tells about it; the same for the classic RFM cells is the baseline a segmentation must beat.
"""

import numpy as np
import pandas as pd

MEASURES = ("purchases", "spend", "any_purchase")


def eta_squared(groups: pd.Series, values: pd.Series) -> float:
    """Between-group sum of squares over total sum of squares (0 when `values` are constant)."""
    values = values.astype(float)
    total = float(((values - values.mean()) ** 2).sum())
    if total == 0:
        return 0.0
    group_means = values.groupby(groups.to_numpy()).transform("mean")
    return float(((group_means - values.mean()) ** 2).sum() / total)


def backtest(groupings: dict[str, pd.Series], outcomes: pd.DataFrame) -> pd.DataFrame:
    """grouping, measure, eta_squared, groups, customers: for each grouping (customer id ->
    group) and measure of `outcomes` (customer_id, purchases, spend; customers without a later
    purchase may be missing and count as zero), over the customers of the grouping."""
    rows = []
    for grouping, groups in groupings.items():
        later = (
            outcomes.set_index("customer_id")[["purchases", "spend"]]
            .reindex(groups.index)
            .fillna(0.0)
        )
        later["any_purchase"] = (later["purchases"] > 0).astype(float)
        for measure in MEASURES:
            rows.append(
                {
                    "grouping": grouping,
                    "measure": measure,
                    "eta_squared": eta_squared(groups, later[measure]),
                    "groups": int(groups.nunique()),
                    "customers": len(groups),
                }
            )
    return pd.DataFrame(rows)


def compare(table: pd.DataFrame, grouping: str = "segments", baseline: str = "rfm") -> str:
    """One sentence: per measure, the segments' eta squared against the baseline's."""
    wide = table.pivot(index="measure", columns="grouping", values="eta_squared")
    parts = [
        f"{measure} {wide.loc[measure, grouping]:.3f} vs {wide.loc[measure, baseline]:.3f}"
        for measure in MEASURES
        if measure in wide.index
    ]
    better = int(np.sum(wide[grouping] >= wide[baseline]))
    return (
        f"eta squared of later behaviour, segments vs RFM cells: {'; '.join(parts)} "
        f"(segments at least as good on {better} of {len(wide)} measures)"
    )
