"""Lifetime value: how many purchases a customer will make (BG/NBD, Fader, Hardie & Lee 2005,
"Counting your customers the easy way") and what each is worth (Gamma-Gamma, Fader, Hardie & Lee
2005, "RFM and CLV"), fitted by maximum likelihood with `lifetimes`.

Why `lifetimes` and not PyMC-Marketing, its maintained successor: on Python 3.11 the resolver can
only install PyMC-Marketing 0.19 (1.x needs 3.12), which adds about 580 MB, a slow import and a
PyTensor compile to every fit, cannot weight distinct histories, and gives no parameter
uncertainty from its fast (MAP) fit; the two budgets, at a million customers and on every
refresh, favour lifetimes (bench/results/prediction-choices.md). tests/ml/test_clv.py pins it
to the published CDNOW parameters, so a release that broke them fails the build.

The BG/NBD likelihood depends only on (x, t_x, T): the fit runs on the distinct triples, each
weighted by its number of customers. Time is in weeks, as in the papers.
"""

import contextlib
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import ConvergenceError

DAYS_PER_WEEK = 7.0
BGNBD_PARAMETERS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMETERS = ("p", "q", "v")
MAX_FIT_CUSTOMERS = 250_000
"""Both models fit on a seeded sample of at most this many customers: at 250,000 the standard
errors are already under 1 % of each parameter, and a million customers' fits would take four
times as long for digits nobody uses. Every customer is scored."""
IDENTIFIED_CURVATURE = 1e-8
LOG_PARAMETER_BOUND = 9.2
"""When the likelihood's maximum lies at the edge of the parameter space (no dropout visible in
the data drives a to 0, or a and b to infinity together) the unconstrained BG/NBD fit does not
converge; it is then refitted with every parameter within [e^-9.2, e^9.2] = [1e-4, 1e4] (in the
fitter's own time scale), and the model records that it was bounded."""


@dataclass(frozen=True)
class RepeatPurchases:
    """Per-customer inputs in model units, from marts.customer_repeat_purchases."""

    customer_id: np.ndarray
    frequency: np.ndarray
    """x: repeat purchase days."""
    recency: np.ndarray
    """t_x: weeks from the first to the latest purchase day."""
    age: np.ndarray
    """T: weeks from the first purchase day to the as-of date."""
    mean_value: np.ndarray
    """zbar: mean value per repeat purchase day; 0 without repeats."""

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "RepeatPurchases":
        return cls(
            customer_id=frame["customer_id"].to_numpy(),
            frequency=frame["repeat_purchase_days"].to_numpy(dtype=np.int64),
            recency=frame["days_to_last_purchase"].to_numpy(dtype=float) / DAYS_PER_WEEK,
            age=frame["days_since_first_purchase"].to_numpy(dtype=float) / DAYS_PER_WEEK,
            mean_value=frame["mean_repeat_purchase_value"].fillna(0.0).to_numpy(dtype=float),
        )

    def __len__(self) -> int:
        return len(self.customer_id)

    def valued(self) -> np.ndarray:
        """Customers whose repeat purchases have a positive mean value: the only ones
        Gamma-Gamma can learn from (a customer who returned everything kept nothing)."""
        return (self.frequency > 0) & (self.mean_value > 0)


@dataclass(frozen=True)
class ClvModel:
    """Fitted parameters and the covariance of their logarithms (the inverse Hessian of the
    log-likelihood at the optimum: a Laplace approximation of the posterior under flat priors)."""

    bgnbd: dict[str, float]
    bgnbd_log_covariance: np.ndarray
    gamma_gamma: dict[str, float]
    gamma_gamma_log_covariance: np.ndarray
    fitted_customers: int
    distinct_histories: int
    valued_customers: int
    bounded: tuple[str, ...] = ()
    """The models (BG/NBD, Gamma-Gamma) whose maximum lies at a LOG_PARAMETER_BOUND."""

    def purchase_model(self) -> BetaGeoFitter:
        return _with_parameters(BetaGeoFitter(), self.bgnbd)

    def value_model(self) -> GammaGammaFitter:
        return _with_parameters(GammaGammaFitter(), self.gamma_gamma)

    def parameters(self) -> dict[str, float]:
        """All seven, named as in the papers (Gamma-Gamma's v is the paper's gamma)."""
        value = {("gamma" if name == "v" else name): x for name, x in self.gamma_gamma.items()}
        return {**self.bgnbd, **value}


def _with_parameters(fitter, parameters: dict[str, float]):
    fitter.params_ = pd.Series(parameters)
    return fitter


def fit_clv(history: RepeatPurchases) -> ClvModel:
    """BG/NBD on the weighted distinct histories, Gamma-Gamma on the valued customers (of at
    most MAX_FIT_CUSTOMERS, sampled with a fixed seed)."""
    if len(history) < 10 or not (history.frequency > 0).any():
        raise ValueError(
            f"{len(history)} customers with purchases, of whom "
            f"{int((history.frequency > 0).sum())} bought again: too few to fit the "
            "lifetime-value models."
        )
    if len(history) > MAX_FIT_CUSTOMERS:
        rows = np.random.default_rng(0).choice(len(history), MAX_FIT_CUSTOMERS, replace=False)
        history = subset(history, np.sort(rows))
    triples = (
        pd.DataFrame({"x": history.frequency, "t_x": history.recency, "T": history.age})
        .groupby(["x", "t_x", "T"])
        .size()
        .rename("customers")
        .reset_index()
    )
    purchases, purchases_bounded = _fit(
        BetaGeoFitter,
        triples["x"],
        triples["t_x"],
        triples["T"],
        weights=triples["customers"],
    )
    valued = history.valued()
    if valued.sum() < 10:
        raise ValueError(
            f"{int(valued.sum())} customers with repeat purchases of positive value: too few "
            "to fit Gamma-Gamma."
        )
    value, value_bounded = _fit(
        GammaGammaFitter, history.frequency[valued], history.mean_value[valued]
    )
    return ClvModel(
        bgnbd={name: float(purchases.params_[name]) for name in BGNBD_PARAMETERS},
        bgnbd_log_covariance=_log_covariance(purchases, len(history)),
        gamma_gamma={name: float(value.params_[name]) for name in GAMMA_GAMMA_PARAMETERS},
        gamma_gamma_log_covariance=_log_covariance(value, int(valued.sum())),
        fitted_customers=len(history),
        distinct_histories=len(triples),
        valued_customers=int(valued.sum()),
        bounded=tuple(
            name
            for name, bounded in (("BG/NBD", purchases_bounded), ("Gamma-Gamma", value_bounded))
            if bounded
        ),
    )


def subset(history: RepeatPurchases, rows: np.ndarray) -> RepeatPurchases:
    return RepeatPurchases(
        customer_id=history.customer_id[rows],
        frequency=history.frequency[rows],
        recency=history.recency[rows],
        age=history.age[rows],
        mean_value=history.mean_value[rows],
    )


def _fit(fitter: type, *data, **options):
    """The maximum-likelihood fit; when it does not converge, BG/NBD within LOG_PARAMETER_BOUND
    and Gamma-Gamma with q >= 1 (lifetimes' q_constraint: a finite mean order value). A fit that
    fails both ways is an error naming the model."""
    fallback = (
        {"bounds": [(-LOG_PARAMETER_BOUND, LOG_PARAMETER_BOUND)] * len(BGNBD_PARAMETERS)}
        if fitter is BetaGeoFitter
        else {"q_constraint": True}
    )
    with contextlib.redirect_stdout(io.StringIO()):  # lifetimes prints scipy's result
        try:
            return fitter().fit(*data, **options), False
        except ConvergenceError:
            pass
        try:
            return fitter().fit(*data, **fallback, **options), True
        except ConvergenceError as error:
            raise ValueError(
                f"{fitter.__name__} does not converge on these {len(data[0])} histories, even "
                f"with {', '.join(fallback)}: check customer_repeat_purchases for a degenerate "
                "history (every customer alike, or values all equal)."
            ) from error


def _log_covariance(fitter: BetaGeoFitter | GammaGammaFitter, customers: int) -> np.ndarray:
    """lifetimes minimises the mean negative log-likelihood over log-parameters; its Hessian
    divided by the number of customers is the observed information per log-parameter, whose
    inverse is the covariance. Directions the data cannot pin down (an eigenvalue under
    IDENTIFIED_CURVATURE of the largest: a and b together when no dropout is visible) get no
    spread instead of an unbounded one; the estimate itself stands."""
    eigenvalues, vectors = np.linalg.eigh((fitter._hessian_ + fitter._hessian_.T) / 2)
    identified = eigenvalues > IDENTIFIED_CURVATURE * eigenvalues.max()
    inverse = np.where(identified, 1.0 / np.where(identified, eigenvalues, 1.0), 0.0)
    return (vectors * inverse) @ vectors.T / customers


def expected_order_value(model: ClvModel, history: RepeatPurchases) -> np.ndarray:
    """Gamma-Gamma's expected value of a future purchase; the population mean for customers it
    has nothing to learn from (no repeat purchase, or nothing kept)."""
    valued = history.valued()
    values = model.value_model().conditional_expected_average_profit(
        pd.Series(np.where(valued, history.frequency, 0)),
        pd.Series(np.where(valued, history.mean_value, 0.0)),
    )
    return np.asarray(values, dtype=float)


def probability_of_purchase(model: ClvModel, history: RepeatPurchases, weeks: float) -> np.ndarray:
    """P(at least one purchase in the next `weeks`): alive, and the purchase rate, drawn from
    its posterior Gamma(r + x, alpha + T), produces an event. BG/NBD drops customers only right
    after a purchase, so an alive customer who buys nothing stays alive."""
    r, alpha = model.bgnbd["r"], model.bgnbd["alpha"]
    p_alive = model.purchase_model().conditional_probability_alive(
        history.frequency, history.recency, history.age
    )
    rate_base = alpha + history.age
    none_if_alive = (rate_base / (rate_base + weeks)) ** (r + history.frequency)
    return np.asarray(p_alive, dtype=float) * (1.0 - none_if_alive)


@dataclass(frozen=True)
class Valuation:
    horizon_days: int
    annual_discount_rate: float

    def discount_factors(self, step_days: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
        """Ends of the steps the horizon is cut into (in weeks) and the discount factor applied
        to what is bought in each: discounted at its end, as lifetimes' CLV does monthly."""
        ends = np.append(np.arange(step_days, self.horizon_days, step_days), self.horizon_days)
        factors = (1.0 + self.annual_discount_rate) ** (-ends / 365.0)
        return ends / DAYS_PER_WEEK, factors


def predict(model: ClvModel, history: RepeatPurchases, valuation: Valuation) -> pd.DataFrame:
    """customer_id, p_alive, expected_purchases, p_any_purchase, expected_order_value, clv
    (expected value of the purchases over the horizon, discounted) and discount_share (clv over
    the undiscounted expected spend)."""
    purchases = model.purchase_model()
    x, t_x, age = history.frequency, history.recency, history.age
    ends, factors = valuation.discount_factors()
    cumulative = np.column_stack(
        [
            np.asarray(
                purchases.conditional_expected_number_of_purchases_up_to_time(end, x, t_x, age),
                dtype=float,
            )
            for end in ends
        ]
    )
    per_step = np.diff(cumulative, axis=1, prepend=0.0)
    order_value = expected_order_value(model, history)
    expected = cumulative[:, -1]
    discounted = per_step @ factors
    return pd.DataFrame(
        {
            "customer_id": history.customer_id,
            "p_alive": np.asarray(purchases.conditional_probability_alive(x, t_x, age), float),
            "expected_purchases": expected,
            "p_any_purchase": probability_of_purchase(model, history, ends[-1]),
            "expected_order_value": order_value,
            "clv": discounted * order_value,
            "discount_share": np.divide(
                discounted, expected, out=np.ones_like(expected), where=expected > 0
            ),
        }
    )


def parameter_problems(model: ClvModel, history: RepeatPurchases) -> list[str]:
    """Why the fitted parameters cannot be trusted, if they cannot: every one positive and
    finite, identified (a finite, positive variance), and a population mean order value,
    p gamma / (q - 1), within the range of the customers' own mean values."""
    problems = [
        f"{name} = {value:.4g} is not a positive number"
        for name, value in model.parameters().items()
        if not np.isfinite(value) or value <= 0
    ]
    for label, covariance in (
        ("BG/NBD", model.bgnbd_log_covariance),
        ("Gamma-Gamma", model.gamma_gamma_log_covariance),
    ):
        variances = np.diag(covariance)
        if not (np.isfinite(variances).all() and (variances >= 0).all()):
            problems.append(f"the {label} likelihood is flat in some parameter: not identified")
    p, q, v = (model.gamma_gamma[name] for name in GAMMA_GAMMA_PARAMETERS)
    values = history.mean_value[history.valued()]
    if q <= 1:
        problems.append(f"q = {q:.4g} <= 1: Gamma-Gamma's mean order value is infinite")
    elif len(values) and not values.min() <= p * v / (q - 1) <= values.max():
        problems.append(
            f"the population mean order value {p * v / (q - 1):.4g} lies outside the customers' "
            f"own mean values [{values.min():.4g}, {values.max():.4g}]"
        )
    return problems
