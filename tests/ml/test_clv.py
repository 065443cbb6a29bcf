"""The lifetime-value models against the published CDNOW results, and the pieces our code adds
to lifetimes: the weighted fit on distinct histories, the probability of a purchase, the
predictive intervals and the parameter checks."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter

from ml.clv import (
    DAYS_PER_WEEK,
    RepeatPurchases,
    Valuation,
    fit_clv,
    parameter_problems,
    predict,
    probability_of_purchase,
)
from ml.clv_intervals import clv_intervals, p_alive, simulate_spend

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cdnow"
PUBLISHED = {
    "r": 0.243,
    "alpha": 4.414,
    "a": 0.793,
    "b": 2.426,
    "p": 6.25,
    "q": 3.74,
    "gamma": 15.44,
}


def published_summary() -> pd.DataFrame:
    """Hardie's calibration-period summary, in the columns of marts.customer_repeat_purchases."""
    summary = pd.read_csv(FIXTURES / "cdnow_customers_summary_with_transactions.csv")
    return pd.DataFrame(
        {
            "customer_id": summary["ID"].astype(str),
            "repeat_purchase_days": summary["x"],
            "days_to_last_purchase": summary["t_x"] * DAYS_PER_WEEK,
            "days_since_first_purchase": summary["T"] * DAYS_PER_WEEK,
            "mean_repeat_purchase_value": summary["zbar"].where(summary["x"] > 0),
        }
    )


@pytest.fixture(scope="module")
def cdnow() -> RepeatPurchases:
    return RepeatPurchases.from_frame(published_summary())


def test_the_published_cdnow_parameters_are_reproduced_within_one_percent(cdnow) -> None:
    model = fit_clv(cdnow)
    assert model.fitted_customers == 2357
    for name, published in PUBLISHED.items():
        assert model.parameters()[name] == pytest.approx(published, rel=0.01), name
    assert parameter_problems(model, cdnow) == []


def test_the_weighted_fit_on_distinct_histories_equals_the_fit_per_customer(cdnow) -> None:
    model = fit_clv(cdnow)
    assert model.distinct_histories < model.fitted_customers / 2
    per_customer = BetaGeoFitter().fit(cdnow.frequency, cdnow.recency, cdnow.age)
    for name, value in model.bgnbd.items():
        assert value == pytest.approx(per_customer.params_[name], rel=1e-3), name


def test_the_simulation_agrees_with_the_closed_forms(cdnow) -> None:
    model = fit_clv(cdnow)
    bgnbd = model.bgnbd
    ours = p_alive(bgnbd["r"], bgnbd["alpha"], bgnbd["a"], bgnbd["b"], cdnow)
    theirs = model.purchase_model().conditional_probability_alive(
        cdnow.frequency, cdnow.recency, cdnow.age
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    weeks = 13.0
    simulated = simulate_spend(model, cdnow, weeks, draws=400, rng=np.random.default_rng(1))
    any_purchase = probability_of_purchase(model, cdnow, weeks)
    assert (simulated > 0).mean() == pytest.approx(any_purchase.mean(), abs=0.01)
    expected = predict(model, cdnow, Valuation(91, 0.0))
    assert simulated.mean() == pytest.approx(expected["clv"].mean(), rel=0.05)


def test_discounting_lowers_clv_by_about_the_rate_over_the_horizon(cdnow) -> None:
    model = fit_clv(cdnow)
    plain = predict(model, cdnow, Valuation(365, 0.0))
    discounted = predict(model, cdnow, Valuation(365, 0.10))
    ratio = discounted["clv"].sum() / plain["clv"].sum()
    # Purchases spread over the year, more of them early (customers drop out as it goes on).
    assert 1 / 1.10**0.6 < ratio < 1
    assert (discounted["discount_share"] < 1).all()


def test_intervals_are_reproducible_and_bracket_the_expectation(cdnow) -> None:
    model = fit_clv(cdnow)
    predicted = predict(model, cdnow, Valuation(91, 0.0))
    share = predicted["discount_share"].to_numpy()
    low, high = clv_intervals(model, cdnow, 13.0, share, seed=3)
    again = clv_intervals(model, cdnow, 13.0, share, seed=3)
    np.testing.assert_array_equal(low, again[0])
    assert (low <= high).all() and (low >= 0).all()
    frequent = cdnow.frequency >= 5
    inside = (predicted["clv"] >= low) & (predicted["clv"] <= high)
    assert inside[frequent].mean() > 0.9


def test_nonsense_parameters_are_named(cdnow) -> None:
    model = fit_clv(cdnow)
    broken = type(model)(
        **{
            **model.__dict__,
            "gamma_gamma": {**model.gamma_gamma, "q": 0.9},
            "bgnbd": {**model.bgnbd, "r": float("nan")},
        }
    )
    problems = parameter_problems(broken, cdnow)
    assert any(problem.startswith("r = nan") for problem in problems)
    assert any("q = 0.9 <= 1" in problem for problem in problems)


def test_too_little_history_is_refused_with_the_counts() -> None:
    few = published_summary().head(5)
    with pytest.raises(ValueError, match="5 customers with purchases"):
        fit_clv(RepeatPurchases.from_frame(few))


def test_no_visible_dropout_is_fitted_and_stays_usable() -> None:
    """Purchases from a Poisson process nobody leaves (BG/NBD's a -> 0): the unconstrained fit
    optimum sits at its edge (a near 0), and the model predicts nobody has left."""
    rng = np.random.default_rng(5)
    customers = 3_000
    age = rng.uniform(10, 52, customers)
    rate = rng.gamma(0.8, 1 / 4, customers)
    purchases = [
        np.sort(rng.uniform(0, a, rng.poisson(r * a))) for a, r in zip(age, rate, strict=True)
    ]
    frame = pd.DataFrame(
        {
            "customer_id": [str(i) for i in range(customers)],
            "repeat_purchase_days": [len(times) for times in purchases],
            "days_to_last_purchase": [
                round(times[-1] * DAYS_PER_WEEK) if len(times) else 0 for times in purchases
            ],
            "days_since_first_purchase": np.round(age * DAYS_PER_WEEK).astype(int),
            "mean_repeat_purchase_value": [
                rng.gamma(6, rng.gamma(4, 2), len(times)).mean() if len(times) else np.nan
                for times in purchases
            ],
        }
    )
    history = RepeatPurchases.from_frame(frame)
    model = fit_clv(history)
    assert "Gamma-Gamma" not in model.bounded
    assert model.bgnbd["a"] / (model.bgnbd["a"] + model.bgnbd["b"]) < 1e-3
    assert parameter_problems(model, history) == []
    predicted = predict(model, history, Valuation(90, 0.1))
    assert predicted["p_alive"].min() > 0.99
    low, high = clv_intervals(model, history, 13.0, predicted["discount_share"].to_numpy())
    assert np.isfinite(high).all() and (low <= high).all()
