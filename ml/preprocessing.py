"""One scikit-learn pipeline from customer_features columns to the matrix segments are found in.

Rates weighted by the evidence behind them (ml/credibility.py), signed log1p for heavy-tailed
money and counts, median imputation with missing-indicator columns, one-hot encoding for
configured categoricals, removal of near-duplicate columns, scaling whose clip only a small share
of customers reaches (ml/scaling.py), and optional PCA. The fitted pipeline is saved with the
model, so scoring transforms exactly as training did.
"""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from ml.config import SegmentationConfig
from ml.credibility import CredibilityWeighting
from ml.scaling import BoundedScaler

ID_COLUMNS: tuple[str, ...] = ("customer_id", "as_of_date")


def empty_columns(frame: pd.DataFrame) -> list[str]:
    """Columns without a single value: their source was not provided (e.g. no web analytics in
    a user's exports), so there is nothing to model."""
    return [name for name in frame.columns if frame[name].isna().all()]


def model_features(frame: pd.DataFrame, config: SegmentationConfig) -> list[str]:
    """The columns the model sees: configured ones, or every numeric column that is not an id,
    profiling-only, excluded or unobserved."""
    unobserved = set(empty_columns(frame))
    excluded = set(ID_COLUMNS) | set(config.profile_only) | set(config.excluded_features)
    if config.features is not None:
        chosen = list(config.features) + list(config.categorical_features)
        missing = [name for name in chosen if name not in frame.columns]
        if missing:
            raise ValueError(f"configured features not in customer_features: {missing}")
        empty = [name for name in chosen if name in unobserved]
        if empty:
            raise ValueError(
                f"configured features without any value (their source was not provided): {empty}"
            )
        return chosen
    numeric = [
        name
        for name in frame.columns
        if name not in excluded | unobserved and pd.api.types.is_numeric_dtype(frame[name])
    ]
    return numeric + [name for name in config.categorical_features if name not in numeric]


def signed_log1p(values: np.ndarray) -> np.ndarray:
    """log1p that keeps the sign, so a negative amount (net of returns) stays ordered."""
    return np.sign(values) * np.log1p(np.abs(values))


class CorrelationFilter(TransformerMixin, BaseEstimator):
    """Drops constant columns, and the later of any two columns whose |correlation| exceeds the
    threshold. `dropped_` maps each dropped column to the kept column it duplicates (or
    "constant") and the correlation, for the model report."""

    def __init__(self, threshold: float = 0.95) -> None:
        self.threshold = threshold

    def fit(self, frame: pd.DataFrame, y: object = None) -> "CorrelationFilter":
        values = frame.astype(float)
        constant = [name for name in values.columns if values[name].nunique(dropna=False) <= 1]
        correlation = values.drop(columns=constant).corr().abs()
        self.dropped_: dict[str, tuple[str, float]] = dict.fromkeys(constant, ("constant", 1.0))
        kept: list[str] = []
        for name in correlation.columns:
            duplicate_of = next(
                (other for other in kept if correlation.loc[name, other] > self.threshold), None
            )
            if duplicate_of is None:
                kept.append(name)
            else:
                self.dropped_[name] = (duplicate_of, float(correlation.loc[name, duplicate_of]))
        self.kept_ = kept
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame[self.kept_]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(self.kept_, dtype=object)


def credibility_weighting(
    config: SegmentationConfig, output: list[str] | None = None
) -> CredibilityWeighting:
    return CredibilityWeighting(
        dict(config.rate_opportunities), dict(config.rate_expectations), output
    )


def evidence_columns(
    frame: pd.DataFrame, columns: list[str], config: SegmentationConfig
) -> list[str]:
    """The columns the rates among `columns` are weighted by (ml/credibility.py), that the
    frame has and the model does not already read."""
    needed = credibility_weighting(config).evidence_columns(columns)
    return [name for name in needed if name in frame.columns and name not in columns]


def build_preprocessor(columns: list[str], config: SegmentationConfig) -> Pipeline:
    """From a frame of the model `columns` and their evidence columns (`evidence_columns`), which
    the weighting step reads and drops, to the clustering space."""
    categorical = [name for name in columns if name in config.categorical_features]
    logged = [name for name in columns if name in config.log_features]
    linear = [name for name in columns if name not in categorical and name not in logged]
    branches = [
        (
            "log",
            make_pipeline(
                FunctionTransformer(signed_log1p, feature_names_out="one-to-one"),
                SimpleImputer(strategy="median", add_indicator=True),
            ),
            logged,
        ),
        ("linear", SimpleImputer(strategy="median", add_indicator=True), linear),
        (
            "categorical",
            make_pipeline(
                SimpleImputer(strategy="constant", fill_value="unknown"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ),
            categorical,
        ),
    ]
    weighted_rates = list(credibility_weighting(config).opportunities_of(columns))
    steps = [
        ("credibility", credibility_weighting(config, columns)),
        ("columns", ColumnTransformer(branches, verbose_feature_names_out=False)),
        ("deduplicate", CorrelationFilter(config.correlation_threshold)),
        (
            "scale",
            BoundedScaler(config.clip_sigmas, config.max_clipped_share, weighted_rates),
        ),
    ]
    if config.pca_variance is not None:
        steps.append(
            ("pca", PCA(n_components=config.pca_variance, random_state=config.random_state))
        )
    pipeline = Pipeline(steps)
    pipeline.set_output(transform="pandas")
    return pipeline


def prepare_frame(frame: pd.DataFrame, columns: list[str], categorical: list[str]) -> pd.DataFrame:
    """The model columns with numeric ones as float (pandas nullable ints become NaN-aware) and
    the `categorical` ones as objects with None for missing."""
    prepared = frame[columns].copy()
    for name in columns:
        if name not in categorical:
            prepared[name] = pd.to_numeric(prepared[name], errors="raise").astype(float)
        else:
            prepared[name] = prepared[name].astype(object).where(prepared[name].notna(), None)
    return prepared
