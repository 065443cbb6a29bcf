"""How well a score ranks and how honest its probabilities are, on customers whose outcome the
score never saw: ROC-AUC, PR-AUC, the top decile's lift and share of buyers, the Brier score and
the reliability curve."""

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

DECILES = 10


def ranking_metrics(bought: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """For any score that orders customers (a probability or an expected count)."""
    bought = np.asarray(bought, dtype=bool)
    top = top_decile(score)
    base_rate = bought.mean()
    return {
        "customers": float(len(bought)),
        "buyer_share": float(base_rate),
        "roc_auc": float(roc_auc_score(bought, score)),
        "pr_auc": float(average_precision_score(bought, score)),
        "top_decile_lift": float(bought[top].mean() / base_rate),
        "top_decile_buyers_share": float(bought[top].sum() / bought.sum()),
    }


def probability_metrics(bought: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """Ranking metrics plus the Brier score and the expected calibration error (mean absolute
    gap between predicted and observed rates over ten equal-count bins)."""
    observed, predicted = reliability(bought, probability)
    return {
        **ranking_metrics(bought, probability),
        "brier": float(brier_score_loss(np.asarray(bought, dtype=bool), probability)),
        "calibration_error": float(np.mean(np.abs(observed - predicted))),
    }


def top_decile(score: np.ndarray) -> np.ndarray:
    """The tenth of customers with the highest scores (ties broken by position, so exactly a
    tenth)."""
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    top = np.zeros(len(order), dtype=bool)
    top[order[: max(1, len(order) // DECILES)]] = True
    return top


def reliability(bought: np.ndarray, probability: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observed buyer rate against mean predicted probability, ten equal-count bins."""
    return calibration_curve(
        np.asarray(bought, dtype=bool), probability, n_bins=DECILES, strategy="quantile"
    )


def gains_by_decile(bought: np.ndarray, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """Cumulative share of buyers reached by contacting the top 10 %, 20 %, ... of customers, per
    score: the lift chart's data."""
    bought = np.asarray(bought, dtype=bool)
    rows = {}
    for name, score in scores.items():
        ordered = bought[np.argsort(-np.asarray(score, dtype=float), kind="stable")]
        cuts = np.linspace(0, len(ordered), DECILES + 1).astype(int)[1:]
        rows[name] = [ordered[:cut].sum() / max(bought.sum(), 1) for cut in cuts]
    return pd.DataFrame(rows, index=pd.Index(np.arange(1, DECILES + 1) * 10, name="top_percent"))
