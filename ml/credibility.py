"""Rates weighted by the evidence behind them (empirical Bayes), so a ratio computed from one or two
orders cannot make a segment.

A rate such as `weekend_order_share` is observed over a number of opportunities (orders for the
order shares, sessions for the web rates, sends and clicks for the campaign rates). With one order
it is 0 or 1 whatever the customer's habit. Each customer's rate is replaced by its posterior mean
under a beta prior centred on what the customer would show without any preference:

    weighted = (rate * n + m * expected) / (n + m)

`expected` is the population's pooled rate, or a per-customer column (the Q4 order share a
customer's own calendar exposure predicts: `q4_exposure_share`); `m`, the prior's strength in
opportunities, is estimated from the data by the method of moments: the observed spread of rates
minus the spread that binomial chance alone gives is the true spread between customers, and the
smaller it is, the more opportunities a customer needs before their own rate counts. A rate with
no real spread between customers (the weekday of a music purchase) is pulled to its expectation
for nearly everyone; a real habit (discount hunting in the demo) survives for customers with
enough orders.

For the model (`transform`) each weighted rate is standardised by the prior's own spread, the
estimated true spread of the habit between customers: (weighted - expected) / sqrt(p (1 - p) /
(m + 1)). A customer with ample evidence one habit-deviation from the expectation is 1, like one
standard deviation of any other feature, and a customer with little evidence is shrunk toward 0
by how little it shows. Scaling the weighted values by their own observed spread instead would
blow chance back up; scaling them by a fixed yes/no spread made real habits (the demo's gift
buyers) too faint to find.

For profiles and names (`weighted`) rates stay shares; one with a per-customer expectation is put
relative to it, `weighted - expected + mean expected`: the share the customer would show with an
average customer's exposure. So a customer first seen in November, all of whose orders fall in
the fourth quarter, has a typical Q4 share.
"""

from collections.abc import Mapping
from fnmatch import fnmatchcase

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

MIN_PRIOR_STRENGTH = 0.5
MAX_PRIOR_STRENGTH = 10_000.0
"""Bounds on m: at least half an opportunity of prior, and at most a prior so strong that no
customer's own evidence counts (the rate then carries no information)."""


class CredibilityWeighting(TransformerMixin, BaseEstimator):
    """Replaces each configured rate column by its evidence-weighted value and keeps only the
    `output` columns: evidence columns (opportunities, expectations) that the model does not
    read serve the weighting only.

    `opportunities` maps rate -> the column counting its opportunities; `expectations` maps rate
    -> a column with each customer's expected rate (others expect the pooled rate). Rates whose
    columns are not in the frame are left alone. After `fit`, `prior_strength_`, `prior_rate_` and
    `habit_spread_` hold m, the pooled (or mean expected) rate and the prior's standard deviation
    per weighted column, for the model report."""

    def __init__(
        self,
        opportunities: Mapping[str, str] | None = None,
        expectations: Mapping[str, str] | None = None,
        output: list[str] | None = None,
    ) -> None:
        self.opportunities = opportunities
        self.expectations = expectations
        self.output = output

    def opportunities_of(self, columns: list[str]) -> dict[str, str]:
        """Rate -> opportunity column for each of `columns` that is a configured rate (a rate
        may be a pattern such as `category_share_*`)."""
        return {
            column: count
            for pattern, count in (self.opportunities or {}).items()
            for column in columns
            if fnmatchcase(column, pattern)
        }

    def _weighted_rates(self, frame: pd.DataFrame) -> list[str]:
        return [
            rate
            for rate, count in self.opportunities_of(list(frame.columns)).items()
            if count in frame.columns
        ]

    def evidence_columns(self, columns: list[str]) -> list[str]:
        """The opportunity and expectation columns the weighting of `columns` reads."""
        needed = [
            *self.opportunities_of(columns).values(),
            *(column for rate, column in (self.expectations or {}).items() if rate in columns),
        ]
        return list(dict.fromkeys(needed))

    def _expected(self, frame: pd.DataFrame, rate: str, pooled: float) -> np.ndarray:
        column = (self.expectations or {}).get(rate)
        if column is None or column not in frame.columns:
            return np.full(len(frame), pooled)
        return frame[column].astype(float).fillna(pooled).to_numpy()

    def fit(self, frame: pd.DataFrame, y: object = None) -> "CredibilityWeighting":
        self.rates_ = self._weighted_rates(frame)
        self.opportunity_columns_ = self.opportunities_of(self.rates_)
        self.prior_strength_: dict[str, float] = {}
        self.prior_rate_: dict[str, float] = {}
        self.habit_spread_: dict[str, float] = {}
        for rate in self.rates_:
            values = frame[rate].astype(float).to_numpy()
            counts = frame[self.opportunity_columns_[rate]].astype(float).fillna(0).to_numpy()
            seen = ~np.isnan(values) & (counts > 0)
            if not seen.any():
                self.prior_strength_[rate], self.prior_rate_[rate] = MAX_PRIOR_STRENGTH, 0.0
                self.habit_spread_[rate] = 1.0
                continue
            n, r = counts[seen], values[seen]
            pooled = float((r * n).sum() / n.sum())
            expected = self._expected(frame, rate, pooled)[seen]
            chance = expected * (1 - expected)
            between = ((n * (r - expected) ** 2).sum() - chance.sum()) / n.sum()
            strength = chance.mean() / between - 1 if between > 0 else MAX_PRIOR_STRENGTH
            self.prior_strength_[rate] = float(
                np.clip(strength, MIN_PRIOR_STRENGTH, MAX_PRIOR_STRENGTH)
            )
            self.prior_rate_[rate] = float(expected.mean())
            self.habit_spread_[rate] = float(
                np.sqrt(max(chance.mean(), 1e-6) / (self.prior_strength_[rate] + 1))
            )
        self.columns_out_ = list(self.output) if self.output is not None else list(frame.columns)
        return self

    def _posterior(self, frame: pd.DataFrame, rate: str) -> tuple[np.ndarray, np.ndarray]:
        """Each customer's weighted rate, and their expected one."""
        strength, mean_expected = self.prior_strength_[rate], self.prior_rate_[rate]
        expected = self._expected(frame, rate, mean_expected)
        raw = frame[rate].astype(float).to_numpy()
        counts = frame[self.opportunity_columns_[rate]].astype(float).fillna(0).to_numpy()
        counts = np.where(np.isnan(raw), 0.0, counts)  # no rate: no evidence either
        values = np.nan_to_num(raw) * (counts > 0)
        return (values * counts + strength * expected) / (counts + strength), expected

    def weighted(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` with every weighted rate replaced by a share, all columns kept."""
        out = frame.copy()
        for rate in self.rates_:
            weighted, expected = self._posterior(frame, rate)
            if rate in (self.expectations or {}):
                weighted = weighted - expected + self.prior_rate_[rate]
            out[rate] = weighted
        return out

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The `output` columns, every weighted rate standardised by the habit's spread."""
        out = frame.copy()
        for rate in self.rates_:
            weighted, expected = self._posterior(frame, rate)
            out[rate] = (weighted - expected) / self.habit_spread_[rate]
        return out[self.columns_out_]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(self.columns_out_, dtype=object)
