"""Scaling every model column to comparable units without letting a tail or a spike decide.

Robust scaling by the interquartile range alone failed two ways: a column with a narrow middle
and a long tail (`discount_share`: most customers near zero) had a sixth of its customers beyond
the clip and flattened there, and a column whose middle half is one value (sentiment, mentions,
missing-value indicators: IQR zero) was left in raw units. Here each column is centred on its
median and divided by the largest of

- its IQR in standard-deviation units (IQR / 1.349), or its standard deviation when the IQR is 0;
- the distance from the median to each tail quantile (`max_clipped_share / 2` of customers per
  tail) divided by the clip,

so at most `max_clipped_share` of customers reach the clip, and no column keeps raw units.

Columns listed in `standardised` arrive on their scale already and are only clipped: the rates
that ml/credibility.py weighted by their evidence and standardised by the habit's true spread.
Dividing them again by their own, shrunken spread would blow back up what chance made of them.
"""

from collections.abc import Collection

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

NORMAL_IQR = 1.349  # the IQR of a standard normal distribution, in standard deviations


class BoundedScaler(TransformerMixin, BaseEstimator):
    def __init__(
        self,
        clip: float = 4.0,
        max_clipped_share: float = 0.01,
        standardised: Collection[str] = (),
    ) -> None:
        self.clip = clip
        self.max_clipped_share = max_clipped_share
        self.standardised = standardised

    def fit(self, frame: pd.DataFrame, y: object = None) -> "BoundedScaler":
        tail = self.max_clipped_share / 2
        centres, scales = {}, {}
        for name in frame.columns:
            values = frame[name].astype(float).to_numpy()
            if name in self.standardised:
                centres[name], scales[name] = 0.0, 1.0
                continue
            low, q1, median, q3, high = np.quantile(values, [tail, 0.25, 0.5, 0.75, 1 - tail])
            spread = (q3 - q1) / NORMAL_IQR or float(values.std())
            spread = max(spread, (high - median) / self.clip, (median - low) / self.clip)
            centres[name], scales[name] = float(median), float(spread) or 1.0
        self.centre_ = pd.Series(centres)
        self.scale_ = pd.Series(scales)
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        scaled = (frame.astype(float) - self.centre_[frame.columns]) / self.scale_[frame.columns]
        return scaled.clip(-self.clip, self.clip)

    def clipped_share(self, frame: pd.DataFrame) -> pd.Series:
        """Per column, the share of rows the clip changes (beyond it after scaling)."""
        scaled = (frame.astype(float) - self.centre_[frame.columns]) / self.scale_[frame.columns]
        return (scaled.abs() > self.clip).mean()

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(self.centre_.index, dtype=object)
