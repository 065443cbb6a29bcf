"""Explaining and assigning segments with supervised models trained on the chosen labels.

A shallow decision tree gives readable rules: it trains on the model features in their own units
(rates evidence-weighted, as the model reads them: ml/credibility.py), with missing values left
missing, so a rule reads "recency_days > 365" rather than a scaled number. A multinomial logistic
regression assigns segments to any customer, including new ones, without refitting the clustering:
it reads the customer through the model's own preprocessing, in the space the segments were found
in, where they are separated by (nearly) straight borders. Its cross-validated agreement with the
clusters is assignment fidelity, not segment quality.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin, clone
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.tree import DecisionTreeClassifier

from ml.config import SegmentationConfig
from ml.preprocessing import prepare_frame


@dataclass(frozen=True)
class CrossValidation:
    """Stratified k-fold precision, recall and F1 per segment and macro-averaged."""

    per_segment: pd.DataFrame  # segment, precision, recall, f1, support
    macro_f1: float
    macro_precision: float
    macro_recall: float


def explainer_tree(config: SegmentationConfig) -> DecisionTreeClassifier:
    return DecisionTreeClassifier(
        max_depth=config.tree_max_depth,
        min_samples_leaf=20,
        class_weight="balanced",
        random_state=config.random_state,
    )


def assigner_classifier() -> LogisticRegression:
    """Nearest-centroid borders (KMeans, and Ward and HDBSCAN extended to everyone) are straight
    lines in the clustering space, and a mixture's are gently curved. On 200,000 customers of
    the 1M demo warehouse it agreed with the clusters on 99.8 % of held-out customers (KMeans,
    k=7) and 98.5 % (a 6-component mixture), fitted in 2-5 s. The gradient-boosting assigner it
    replaced, on the features in their own units, reached 98.9 % and 75 % in 8 s, and was
    cross-validated and permuted at the same cost again."""
    return LogisticRegression(max_iter=1_000)


def assigner_pipeline(
    preprocessor: Pipeline,
    classifier: LogisticRegression,
    columns: list[str],
    categorical: list[str],
) -> Pipeline:
    """Customer features -> segment: the fitted preprocessing, then the fitted classifier."""
    prepare = {"columns": columns, "categorical": categorical}
    return Pipeline(
        [
            ("prepare", FunctionTransformer(prepare_frame, kw_args=prepare)),
            ("preprocess", preprocessor),
            ("classify", classifier),
        ]
    )


def cross_validate(
    model: ClassifierMixin, features: pd.DataFrame, labels: np.ndarray, config: SegmentationConfig
) -> CrossValidation:
    folds = StratifiedKFold(config.cv_folds, shuffle=True, random_state=config.random_state)
    predicted = cross_val_predict(clone(model), features.to_numpy(dtype=float), labels, cv=folds)
    segments = np.unique(labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=segments, zero_division=0
    )
    per_segment = pd.DataFrame(
        {
            "segment": segments,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
        }
    )
    return CrossValidation(
        per_segment, float(f1.mean()), float(precision.mean()), float(recall.mean())
    )


def importances(
    model: ClassifierMixin, features: pd.DataFrame, labels: np.ndarray, config: SegmentationConfig
) -> pd.Series:
    """Permutation importance (drop in accuracy when a feature is shuffled), largest first."""
    result = permutation_importance(
        model, features, labels, n_repeats=3, random_state=config.random_state, n_jobs=1
    )
    return pd.Series(result.importances_mean, index=features.columns).sort_values(ascending=False)


def segment_rules(tree: DecisionTreeClassifier, feature_names: list[str]) -> dict[object, str]:
    """For each segment, the conditions leading to the leaf that holds most of its customers,
    merged per feature into one range, e.g. "frequency > 20 and recency_days <= 30"."""
    structure = tree.tree_
    best: dict[object, tuple[float, list[tuple[int, str, float]]]] = {}

    def walk(node: int, path: list[tuple[int, str, float]]) -> None:
        if structure.children_left[node] == -1:
            counts = structure.value[node][0] * structure.n_node_samples[node]
            segment = tree.classes_[int(np.argmax(counts))]
            if counts.max() > best.get(segment, (-1.0, []))[0]:
                best[segment] = (float(counts.max()), path)
            return
        feature, threshold = structure.feature[node], float(structure.threshold[node])
        walk(structure.children_left[node], [*path, (feature, "<=", threshold)])
        walk(structure.children_right[node], [*path, (feature, ">", threshold)])

    walk(0, [])
    return {segment: _merge_conditions(path, feature_names) for segment, (_, path) in best.items()}


def _merge_conditions(path: list[tuple[int, str, float]], names: list[str]) -> str:
    bounds: dict[str, list[float | None]] = {}
    for feature, operator, threshold in path:
        low, high = bounds.setdefault(names[feature], [None, None])
        if operator == ">":
            bounds[names[feature]][0] = threshold if low is None else max(low, threshold)
        else:
            bounds[names[feature]][1] = threshold if high is None else min(high, threshold)
    parts = []
    for name, (low, high) in bounds.items():
        if low is not None and high is not None:
            parts.append(f"{_number(low)} < {name} <= {_number(high)}")
        elif low is not None:
            parts.append(f"{name} > {_number(low)}")
        else:
            parts.append(f"{name} <= {_number(high)}")
    return " and ".join(parts) or "all customers"


def _number(value: float | None) -> str:
    return f"{value:.3g}" if value is not None and abs(value) < 1000 else f"{value:,.0f}"
