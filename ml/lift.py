"""Treated against control: the difference of two group means with its confidence interval.

Customers are assigned to the arms at random (ml/control_groups.py), so the difference of the
arms' means on a later outcome estimates the effect of being treated (intent to treat: everyone
assigned counts, whatever they did after). The interval is Welch's: each arm keeps its own
variance, which matters when the treatment changes the spread (a campaign that makes some
customers buy more). The normal approximation of the difference is sound from a few dozen
customers per arm; below MIN_CUSTOMERS_PER_ARM no interval is given.
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
MIN_CUSTOMERS_PER_ARM = 30


@dataclass(frozen=True)
class Lift:
    treated_mean: float
    control_mean: float
    treated_customers: int
    control_customers: int
    lift: float  # treated_mean - control_mean: per customer, in the outcome's own unit
    ci_low: float | None
    ci_high: float | None
    p_value: float | None  # two-sided, for no difference

    @property
    def relative_lift(self) -> float | None:
        """lift as a share of the control mean (None when the control mean is 0)."""
        return self.lift / self.control_mean if self.control_mean else None


def difference_in_means(treated: np.ndarray, control: np.ndarray) -> Lift:
    """The difference of the means of `treated` and `control` (one value per customer) with a
    CONFIDENCE interval and p-value (Welch); no interval when an arm is too small."""
    treated = np.asarray(treated, dtype=float)
    control = np.asarray(control, dtype=float)
    lift = float(treated.mean() - control.mean()) if len(treated) and len(control) else np.nan
    ci_low = ci_high = p_value = None
    if min(len(treated), len(control)) >= MIN_CUSTOMERS_PER_ARM:
        standard_error = float(
            np.sqrt(treated.var(ddof=1) / len(treated) + control.var(ddof=1) / len(control))
        )
        if standard_error > 0:
            z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
            ci_low, ci_high = lift - z * standard_error, lift + z * standard_error
            p_value = float(2 * stats.norm.sf(abs(lift) / standard_error))
        else:
            ci_low = ci_high = lift
            p_value = 1.0 if lift == 0 else 0.0
    return Lift(
        treated_mean=float(treated.mean()) if len(treated) else np.nan,
        control_mean=float(control.mean()) if len(control) else np.nan,
        treated_customers=len(treated),
        control_customers=len(control),
        lift=lift,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
    )
