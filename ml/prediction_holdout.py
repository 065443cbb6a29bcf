"""The time-holdout evaluation of the predictions: everything is learnt from data up to a cutoff
H days before the as-of date and judged on what customers did in those H days.

The propensity classifier is trained one horizon earlier still (features as of T - H, labels in
(T - H, T]) and scored on the features as of T, so no row it learns from has seen the holdout.
BG/NBD is fitted on the histories up to T. Both are compared on the customers both can score (those
with a purchase by T); the better ROC-AUC is the model the predictions use for them.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ml.clv import ClvModel, RepeatPurchases, Valuation, fit_clv, predict, subset
from ml.clv_intervals import clv_intervals
from ml.holdout_metrics import gains_by_decile, probability_metrics, ranking_metrics, reliability
from ml.propensity import train_propensity, with_lifetime

CLASSIFIER = "classifier"
BGNBD = "bgnbd"
PUBLISHED = "purchase_propensity"
"""The score as published: the classifier, with BG/NBD for customers with a purchase when it
ranked them better."""
INTERVAL_LEVEL = 0.8
COVERAGE_SAMPLE = 50_000
"""Customers whose intervals are checked against what they spent: the share inside is known to
within half a point from 50,000, and simulating a million would add a minute."""


@dataclass(frozen=True)
class CutoffData:
    """What the warehouse knew at a cutoff, and what happened in the H days after it."""

    features: pd.DataFrame
    """customer_features as of the cutoff (customer_id first)."""
    repeat_purchases: pd.DataFrame
    """customer_repeat_purchases as of the cutoff."""
    later: pd.DataFrame
    """customer_id, purchases, spend in the H days after the cutoff."""

    def bought(self, customer_ids: pd.Series | np.ndarray) -> np.ndarray:
        """Arrow's hashed set lookup: pandas' isin on Arrow-backed strings loops in Python, which
        took longer than fitting a model at a million customers."""
        later = pa.array(pd.Series(self.later["customer_id"], dtype=object))
        asked = pa.array(pd.Series(customer_ids, dtype=object))
        return pc.is_in(asked, value_set=later).to_numpy(zero_copy_only=False)

    def lifetime(self, valuation: Valuation) -> pd.DataFrame:
        """BG/NBD and Gamma-Gamma fitted to this cutoff's histories, and their predictions."""
        history = RepeatPurchases.from_frame(self.repeat_purchases)
        return predict(fit_clv(history), history, valuation)

    def later_values(self, customer_ids: np.ndarray, column: str) -> np.ndarray:
        values = self.later.set_index("customer_id")[column]
        return pd.Series(customer_ids).map(values).fillna(0.0).to_numpy(dtype=float)


@dataclass(frozen=True)
class HoldoutReport:
    metrics: pd.DataFrame
    """One row per score and population: ranking metrics, and Brier/calibration for
    probabilities."""
    chosen: str
    chosen_because: str
    clv_at_cutoff: ClvModel
    lifetime_at_cutoff: pd.DataFrame
    """The predictions of clv_at_cutoff: the production classifier's BG/NBD features."""
    clv_checks: dict[str, float]
    """Predicted and realised holdout purchases and spend, and the coverage of the intervals."""
    gains: pd.DataFrame
    reliability: dict[str, tuple[np.ndarray, np.ndarray]]


def evaluate(
    training: CutoffData,
    holdout: CutoffData,
    horizon_days: int,
    left_out: tuple[str, ...],
    seed: int,
) -> HoldoutReport:
    valuation = Valuation(horizon_days, annual_discount_rate=0.0)
    classifier = train_propensity(
        with_lifetime(training.features, training.lifetime(valuation)),
        training.bought(training.features["customer_id"]),
        left_out,
        seed,
    )
    everyone = holdout.features
    bought = holdout.bought(everyone["customer_id"])
    history = RepeatPurchases.from_frame(holdout.repeat_purchases)
    clv = fit_clv(history)
    predicted = predict(clv, history, valuation)
    propensity = classifier.probability(with_lifetime(everyone, predicted))
    buyers = pd.Index(everyone["customer_id"]).get_indexer(history.customer_id)
    if (buyers < 0).any():
        raise ValueError("customer_repeat_purchases holds customers customer_features does not")
    buyers_bought = bought[buyers]
    rows = {
        (CLASSIFIER, "all"): probability_metrics(bought, propensity),
        (CLASSIFIER, "with_purchase"): probability_metrics(buyers_bought, propensity[buyers]),
        (BGNBD, "with_purchase"): probability_metrics(
            buyers_bought, predicted["p_any_purchase"].to_numpy()
        ),
        ("bgnbd_expected_purchases", "with_purchase"): ranking_metrics(
            buyers_bought, predicted["expected_purchases"].to_numpy()
        ),
    }
    metrics = pd.DataFrame.from_dict(rows, orient="index")
    metrics.index.names = ["score", "customers_scored"]
    chosen, because = _choose(metrics)
    published = propensity.copy()
    if chosen == BGNBD:
        published[buyers] = predicted["p_any_purchase"].to_numpy()
    metrics.loc[(PUBLISHED, "all"), :] = probability_metrics(bought, published)
    return HoldoutReport(
        metrics=metrics.reset_index(),
        chosen=chosen,
        chosen_because=because,
        clv_at_cutoff=clv,
        lifetime_at_cutoff=predicted,
        clv_checks=_clv_checks(clv, history, predicted, holdout, valuation),
        gains=gains_by_decile(
            buyers_bought,
            {
                CLASSIFIER: propensity[buyers],
                "bgnbd_expected_purchases": predicted["expected_purchases"].to_numpy(),
            },
        ),
        reliability={
            CLASSIFIER: reliability(bought, propensity),
            BGNBD: reliability(buyers_bought, predicted["p_any_purchase"].to_numpy()),
        },
    )


def published_roc_auc(report: HoldoutReport) -> float:
    """The holdout ROC-AUC of the propensity as published, on every customer scored."""
    metrics = report.metrics.set_index(["score", "customers_scored"])
    return float(metrics.loc[(PUBLISHED, "all"), "roc_auc"])


def _choose(metrics: pd.DataFrame) -> tuple[str, str]:
    classifier = metrics.loc[(CLASSIFIER, "with_purchase"), "roc_auc"]
    baseline = metrics.loc[(BGNBD, "with_purchase"), "roc_auc"]
    chosen = CLASSIFIER if classifier >= baseline else BGNBD
    return chosen, (
        f"holdout ROC-AUC on the customers with a purchase: classifier {classifier:.3f}, "
        f"BG/NBD {baseline:.3f}; customers without a purchase are scored by the classifier, "
        "the only model that can"
    )


def _clv_checks(
    clv: ClvModel,
    history: RepeatPurchases,
    predicted: pd.DataFrame,
    holdout: CutoffData,
    valuation: Valuation,
) -> dict[str, float]:
    rows = np.arange(len(history))
    if len(rows) > COVERAGE_SAMPLE:
        rows = np.sort(np.random.default_rng(0).choice(rows, COVERAGE_SAMPLE, replace=False))
    checked = subset(history, rows)
    spend = holdout.later_values(checked.customer_id, "spend")
    low, high = clv_intervals(
        clv, checked, valuation.horizon_days / 7.0, np.ones(len(checked)), level=INTERVAL_LEVEL
    )
    return {
        "interval_level": INTERVAL_LEVEL,
        "interval_coverage": float(np.mean((spend >= low) & (spend <= high))),
        "share_below_interval": float(np.mean(spend < low)),
        "share_above_interval": float(np.mean(spend > high)),
        "predicted_purchases": float(predicted["expected_purchases"].sum()),
        "actual_purchases": float(holdout.later_values(history.customer_id, "purchases").sum()),
        "predicted_spend": float(predicted["clv"].sum()),
        "actual_spend": float(holdout.later_values(history.customer_id, "spend").sum()),
    }
