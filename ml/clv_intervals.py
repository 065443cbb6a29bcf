"""Predictive intervals for lifetime value: what a customer may really spend over the horizon,
not only its expectation.

Each of `draws` simulations takes the seven parameters from their Laplace posterior (ClvModel's
log covariance), then the customer's own story under BG/NBD and Gamma-Gamma given the history:
alive at the as-of date with the model's probability; a purchase rate from Gamma(r + x,
alpha + T) and a dropout probability from Beta(a, b + x); purchases in the horizon from that
Poisson process, stopped by the first dropout; each purchase's value from Gamma(p, nu) with nu
from Gamma(p x + q, gamma + x zbar). The interval is the central `level` share of the simulated
spend, discounted by the customer's expected discount share. A customer with no purchase in most
simulations gets a lower bound of 0: an interval says what could happen, and for most customers
nothing happening is the likeliest outcome. When BG/NBD's closed-form probability of no purchase
reaches the interval's upper end (0.9 for 80 %), both bounds are 0 without simulating: at a
million customers that spares about half the work.
"""

import numpy as np

from ml.clv import ClvModel, RepeatPurchases, probability_of_purchase, subset

CHUNK = 20_000
"""Customers simulated at a time: draws x CHUNK float64 arrays stay around 30 MB each."""


MAX_LOG_DEVIATION = 2.0
"""Draws stay within a factor e^2 of the estimate: where the likelihood is nearly flat in a
parameter (a and b when little dropout is visible) the Laplace approximation's tails would reach
values that overflow, and say nothing about the data."""


def parameter_draws(model: ClvModel, draws: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """`draws` values of each parameter, sampled jointly per model on the log scale."""
    sampled = {}
    for point, covariance in (
        (model.bgnbd, model.bgnbd_log_covariance),
        (model.gamma_gamma, model.gamma_gamma_log_covariance),
    ):
        centre = np.log(list(point.values()))
        logs = rng.multivariate_normal(centre, covariance, size=draws)
        logs = np.clip(logs, centre - MAX_LOG_DEVIATION, centre + MAX_LOG_DEVIATION)
        sampled.update(zip(point, np.exp(logs).T, strict=True))
    return sampled


def p_alive(
    r: np.ndarray, alpha: np.ndarray, a: np.ndarray, b: np.ndarray, history: RepeatPurchases
) -> np.ndarray:
    """BG/NBD's P(alive | x, t_x, T) for parameter vectors (draws, 1) against customers (n,);
    equal to lifetimes' conditional_probability_alive at the point estimate (tested)."""
    x, t_x, age = history.frequency, history.recency, history.age
    odds_dropped = (
        (x > 0) * (a / np.maximum(b + x - 1, 1e-12)) * ((alpha + age) / (alpha + t_x)) ** (r + x)
    )
    return 1.0 / (1.0 + odds_dropped)


def simulate_spend(
    model: ClvModel,
    history: RepeatPurchases,
    weeks: float,
    draws: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(draws, customers) simulated spend over the next `weeks`, undiscounted."""
    theta = {name: values[:, None] for name, values in parameter_draws(model, draws, rng).items()}
    x = history.frequency
    shape = (draws, len(history))
    alive = rng.random(shape) < p_alive(theta["r"], theta["alpha"], theta["a"], theta["b"], history)
    rate = rng.gamma(theta["r"] + x, 1.0 / (theta["alpha"] + history.age))
    dropout = rng.beta(theta["a"], theta["b"] + x)
    events = rng.poisson(rate * weeks)
    purchases_before_dropout = rng.geometric(np.clip(dropout, 1e-12, 1.0))
    purchases = np.where(alive, np.minimum(events, purchases_before_dropout), 0)
    valued = history.valued()
    known_x = np.where(valued, x, 0)
    known_total = np.where(valued, x * history.mean_value, 0.0)
    nu = rng.gamma(theta["p"] * known_x + theta["q"], 1.0 / (theta["v"] + known_total))
    spend = np.zeros(shape)
    bought = purchases > 0
    nu_full = np.broadcast_to(nu, shape)
    p_full = np.broadcast_to(theta["p"], shape)
    spend[bought] = rng.gamma(purchases[bought] * p_full[bought], 1.0 / nu_full[bought])
    return spend


def clv_intervals(
    model: ClvModel,
    history: RepeatPurchases,
    weeks: float,
    discount_share: np.ndarray,
    level: float = 0.8,
    draws: int = 100,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the central `level` predictive interval of discounted spend,
    per customer; the same seed gives the same bounds."""
    rng = np.random.default_rng(seed)
    tail = (1.0 - level) / 2.0
    low = np.zeros(len(history))
    high = np.zeros(len(history))
    nothing_likely = 1.0 - probability_of_purchase(model, history, weeks) >= 1.0 - tail
    simulated = np.flatnonzero(~nothing_likely)
    for start in range(0, len(simulated), CHUNK):
        rows = simulated[start : start + CHUNK]
        spend = simulate_spend(model, subset(history, rows), weeks, draws, rng)
        low[rows], high[rows] = np.quantile(spend, [tail, 1.0 - tail], axis=0)
    return low * discount_share, high * discount_share
