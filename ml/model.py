"""A trained segmentation model: everything needed to assign segments without retraining.

Saved as one folder per version: `model.joblib` (preprocessing pipeline, assigner, explainer),
`features.json`, `segments.json` (ids, names, descriptions, rules), `metrics.json` and
`drift_reference.json` (the training snapshot that drift is measured against; models trained
before drift monitoring have none, and report no drift until retrained).
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.tree import DecisionTreeClassifier

from ml.drift import DriftReference
from ml.membership import membership_probability

DRIFT_REFERENCE = "drift_reference.json"


@dataclass
class Segment:
    segment_id: int
    name: str
    description: str
    rule: str
    name_evidence: list[dict[str, object]] = field(default_factory=list)
    """Per phrase of the name: the feature, its standardised effect, the segment's median and
    where it falls among all customers (ml/profiles.py). Empty for models saved before names
    needed evidence."""


@dataclass
class SegmentationModel:
    version: str
    features: list[str]  # the customer_features columns the model reads
    explain_features: list[str]  # numeric ones, in their own units, for the tree
    preprocessor: Pipeline  # fitted: features -> clustering space
    assigner: Pipeline  # fitted: features -> segment ids
    explainer: DecisionTreeClassifier  # readable rules
    segments: dict[int, Segment]
    drift_reference: DriftReference | None = None  # the training snapshot; None before drift
    metrics: dict[str, Any] = field(default_factory=dict)
    membership: IsotonicRegression | None = None
    """Assigner margin -> probability of keeping the segment under a refit (ml/membership.py);
    None for models saved before it existed."""

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """customer_id, segment_id, segment_name, membership_probability."""
        probabilities = self.assigner.predict_proba(frame)
        best = probabilities.argmax(axis=1)
        segment_ids = self.assigner.classes_[best].astype(int)
        names = {segment_id: segment.name for segment_id, segment in self.segments.items()}
        return pd.DataFrame(
            {
                "customer_id": frame["customer_id"].to_numpy(),
                "segment_id": segment_ids,
                "segment_name": pd.Series(segment_ids).map(names).to_numpy(),
                "membership_probability": membership_probability(self.membership, probabilities),
            }
        )

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(
            {
                "preprocessor": self.preprocessor,
                "assigner": self.assigner,
                "explainer": self.explainer,
                "membership": self.membership,
            },
            folder / "model.joblib",
        )
        _write_json(
            folder / "features.json",
            {"features": self.features, "explain_features": self.explain_features},
        )
        _write_json(folder / "segments.json", [vars(segment) for segment in self.segments.values()])
        _write_json(folder / "metrics.json", {"version": self.version, **self.metrics})
        if self.drift_reference is not None:
            _write_json(folder / DRIFT_REFERENCE, self.drift_reference.to_json())
        return folder

    @classmethod
    def load(cls, folder: Path) -> "SegmentationModel":
        fitted = {"membership": None, **joblib.load(folder / "model.joblib")}
        features = json.loads((folder / "features.json").read_text())
        if not isinstance(fitted["assigner"], Pipeline):
            fitted["assigner"] = _reading_explain_features(
                fitted["assigner"], features["explain_features"]
            )
        metrics = json.loads((folder / "metrics.json").read_text())
        segments = [Segment(**item) for item in json.loads((folder / "segments.json").read_text())]
        drift_file = folder / DRIFT_REFERENCE
        return cls(
            version=metrics.pop("version"),
            features=features["features"],
            explain_features=features["explain_features"],
            segments={segment.segment_id: segment for segment in segments},
            drift_reference=DriftReference.from_json(json.loads(drift_file.read_text()))
            if drift_file.exists()
            else None,
            metrics=metrics,
            **fitted,
        )


def _reading_explain_features(classifier: ClassifierMixin, columns: list[str]) -> Pipeline:
    """Models saved before 2026-12-04 assign with a gradient-boosting classifier fitted on the
    explain features as float rows; this lets them score (and backfill) as they did."""
    return Pipeline(
        [
            ("explain_features", FunctionTransformer(_float_rows, kw_args={"columns": columns})),
            ("classify", classifier),
        ]
    )


def _float_rows(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return np.ascontiguousarray(frame[columns].astype(float).to_numpy())


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, default=_plain))


def _plain(value: object) -> object:
    """numpy scalars and arrays as JSON numbers and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
