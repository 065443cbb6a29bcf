"""Purchase propensity and its holdout: calibrated probabilities, the metrics, demographics kept
out, and an evaluation that learns only from the training cutoff's outcomes."""

import numpy as np
import pandas as pd
import pytest

from ml.holdout_metrics import gains_by_decile, probability_metrics, ranking_metrics, top_decile
from ml.prediction_holdout import BGNBD, CLASSIFIER, CutoffData, evaluate
from ml.propensity import train_propensity

DEMOGRAPHICS = ("age_band", "gender_code")


def customers(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Features whose recency and frequency set a known purchase probability, and a numeric
    demographic that would predict it too (through frequency) if the model were allowed it."""
    rng = np.random.default_rng(seed)
    frequency = rng.poisson(3, n)
    recency = rng.exponential(60, n)
    logit = -1.0 + 0.5 * frequency - recency / 40
    probability = 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{seed}-{i}" for i in range(n)],
            "as_of_date": pd.Timestamp("2026-01-01"),
            "frequency": frequency,
            "recency_days": recency,
            "gender_code": (frequency > 3).astype(int),
            "age_band": "25-34",
        }
    )
    return frame, rng.random(n) < probability, probability


def test_probabilities_are_calibrated_and_demographics_unused() -> None:
    frame, bought, _ = customers(20_000, 1)
    model = train_propensity(frame, bought, DEMOGRAPHICS, seed=0)
    assert model.features == ("frequency", "recency_days")
    test, test_bought, truth = customers(20_000, 2)
    predicted = model.probability(test)
    metrics = probability_metrics(test_bought, predicted)
    assert metrics["calibration_error"] < 0.03
    assert metrics["brier"] < probability_metrics(test_bought, truth)["brier"] + 0.005
    assert metrics["roc_auc"] > 0.75


def test_one_outcome_only_is_refused() -> None:
    frame, _, _ = customers(500, 3)
    with pytest.raises(ValueError, match="nothing to learn"):
        train_propensity(frame, np.zeros(len(frame), dtype=bool), DEMOGRAPHICS, seed=0)


def test_the_metrics_on_a_known_ranking() -> None:
    bought = np.array([True] * 10 + [False] * 90)
    perfect = np.linspace(1, 0, 100)
    metrics = ranking_metrics(bought, perfect)
    assert metrics["roc_auc"] == 1.0 and metrics["pr_auc"] == pytest.approx(1.0)
    assert metrics["top_decile_lift"] == pytest.approx(10.0)
    assert metrics["top_decile_buyers_share"] == 1.0
    assert top_decile(perfect).sum() == 10
    gains = gains_by_decile(bought, {"perfect": perfect, "reversed": -perfect})
    assert gains.loc[10, "perfect"] == 1.0 and gains.loc[90, "reversed"] == 0.0


def repeat_purchases(frame: pd.DataFrame) -> pd.DataFrame:
    buyers = frame[frame["frequency"] > 0]
    return pd.DataFrame(
        {
            "customer_id": buyers["customer_id"],
            "repeat_purchase_days": buyers["frequency"] - 1,
            "days_to_last_purchase": np.where(
                buyers["frequency"] > 1, 200 - buyers["recency_days"].clip(0, 199), 0
            ).astype(int),
            "days_since_first_purchase": 200,
            "mean_repeat_purchase_value": np.where(
                buyers["frequency"] > 1,
                np.random.default_rng(len(buyers)).gamma(6.0, 5.0, len(buyers)),
                np.nan,
            ),
        }
    )


def cutoff(frame: pd.DataFrame, bought: np.ndarray) -> CutoffData:
    later = frame.loc[bought, ["customer_id"]].assign(purchases=1, spend=25.0)
    return CutoffData(frame, repeat_purchases(frame), later)


def test_the_holdout_learns_only_from_the_training_cutoff() -> None:
    """The holdout's outcomes are coin flips: a model that learnt from the training cutoff
    cannot rank them, and one that had seen them would."""
    training_frame, training_bought, _ = customers(4_000, 4)
    holdout_frame, _, _ = customers(4_000, 5)
    coin_flips = np.random.default_rng(6).random(len(holdout_frame)) < 0.4
    report = evaluate(
        cutoff(training_frame, training_bought),
        cutoff(holdout_frame, coin_flips),
        90,
        DEMOGRAPHICS,
        seed=0,
    )
    metrics = report.metrics.set_index(["score", "customers_scored"])
    assert metrics.loc[(CLASSIFIER, "all"), "roc_auc"] == pytest.approx(0.5, abs=0.04)
    assert metrics.loc[(BGNBD, "with_purchase"), "roc_auc"] == pytest.approx(0.5, abs=0.04)
    assert report.chosen in (CLASSIFIER, BGNBD) and "holdout ROC-AUC" in report.chosen_because


def test_a_source_nobody_has_is_not_a_feature() -> None:
    frame, bought, _ = customers(2_000, 7)
    frame["sessions_90d"] = np.nan  # no web analytics in this user's exports
    frame["constant"] = 1.0
    model = train_propensity(frame, bought, DEMOGRAPHICS, seed=0)
    assert model.features == ("frequency", "recency_days")
    assert model.probability(frame).shape == (len(frame),)
