"""What every customer will do over the horizon: the lifetime-value models for those with a
purchase (BG/NBD needs a first purchase to start from) and the propensity classifier for
everyone, as the rows of segments.customer_predictions."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.clv import ClvModel, RepeatPurchases, Valuation, predict
from ml.clv_intervals import clv_intervals
from ml.prediction_holdout import BGNBD, INTERVAL_LEVEL
from ml.propensity import PropensityModel, with_lifetime

COLUMNS = (
    "customer_id",
    "p_alive",
    "expected_purchases",
    "expected_order_value",
    "clv",
    "clv_low",
    "clv_high",
    "purchase_propensity",
    "churn_risk",
)


@dataclass(frozen=True)
class PredictionModels:
    """What scoring needs, saved as one artifact per version."""

    version: str
    horizon_days: int
    clv: ClvModel
    propensity: PropensityModel
    chosen: str
    """Which model scores the propensity of customers with a purchase (classifier | bgnbd)."""
    holdout_roc_auc: float
    """The published propensity's ROC-AUC on the time holdout."""
    trained_on: str
    """Fingerprint of the inputs and settings it was trained on: the same again reuses it."""


def score(
    models: PredictionModels,
    features: pd.DataFrame,
    repeat_purchases: pd.DataFrame,
    annual_discount_rate: float,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per customer of `features`; the lifetime-value columns and churn_risk are null for
    customers without a purchase (nobody to lose yet). churn_risk is the probability of no
    purchase in the horizon for a customer who has bought before."""
    history = RepeatPurchases.from_frame(repeat_purchases)
    valuation = Valuation(models.horizon_days, annual_discount_rate)
    lifetime = predict(models.clv, history, valuation)
    lifetime["clv_low"], lifetime["clv_high"] = clv_intervals(
        models.clv,
        history,
        models.horizon_days / 7.0,
        lifetime["discount_share"].to_numpy(),
        level=INTERVAL_LEVEL,
        seed=seed,
    )
    scored = pd.DataFrame(
        {
            "customer_id": features["customer_id"].to_numpy(),
            "purchase_propensity": models.propensity.probability(with_lifetime(features, lifetime)),
        }
    ).merge(lifetime, on="customer_id", how="left")
    if models.chosen == BGNBD:
        scored["purchase_propensity"] = scored["p_any_purchase"].fillna(
            scored["purchase_propensity"]
        )
    has_purchase = scored["p_alive"].notna()
    scored["churn_risk"] = np.where(has_purchase, 1.0 - scored["purchase_propensity"], np.nan)
    return scored.loc[:, list(COLUMNS)]
