"""The check Fader, Hardie & Lee draw in their Figure 1: cumulative repeat purchases of a cohort,
week by week, as they happened and as the BG/NBD fitted on the calibration period expects them,
through the calibration period and on through the holdout the model never saw."""

from datetime import date, timedelta

import numpy as np
import pandas as pd

from ml.clv import DAYS_PER_WEEK, ClvModel


def cumulative_repeat_purchases(
    model: ClvModel, purchase_days: pd.DataFrame, cutoff: date, through: date
) -> pd.DataFrame:
    """`purchase_days`: customer_id, purchase_date for every purchase day of the cohort (the
    customers whose first purchase is on or before `cutoff`). Returns week_end, actual,
    predicted, holdout (whether the week is after the cutoff), one row per week from the cohort's
    first purchase to `through`."""
    first = purchase_days.groupby("customer_id")["purchase_date"].transform("min")
    repeats = pd.to_datetime(
        purchase_days.loc[purchase_days["purchase_date"] > first, "purchase_date"]
    )
    births = pd.to_datetime(first.groupby(purchase_days["customer_id"]).first()).value_counts()
    start = births.index.min()
    week_ends = pd.date_range(start + timedelta(days=7), pd.Timestamp(through), freq="7D")
    purchases = model.purchase_model()
    predicted = []
    for week_end in week_ends:
        born = births[births.index < week_end]
        ages = (week_end - born.index).days.to_numpy() / DAYS_PER_WEEK
        expected = np.asarray(purchases.expected_number_of_purchases_up_to_time(ages), dtype=float)
        predicted.append(float(expected @ born.to_numpy()))
    actual = np.searchsorted(np.sort(repeats.to_numpy()), week_ends.to_numpy(), side="left")
    return pd.DataFrame(
        {
            "week_end": week_ends.date,
            "actual": actual.astype(float),
            "predicted": predicted,
            "holdout": week_ends > pd.Timestamp(cutoff),
        }
    )
