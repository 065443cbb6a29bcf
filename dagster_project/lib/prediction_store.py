"""Versioned prediction models (ml/predictions.py), kept like the segmentation models
(model_store.py) in a folder of their own under the models folder: one folder per version, a
`current` pointer switched only once the artifact is written and its checks passed, and the same
refusal to load a version that does not have the pipeline's format."""

from pathlib import Path

import joblib

from dagster_project.lib.model_store import (
    current_version,
    has_current_model,
    model_folder,
    point_current,
)
from ml.predictions import PredictionModels

FOLDER = "predictions"
ARTIFACT = "prediction_models.joblib"


def _root(models_dir: Path) -> Path:
    return models_dir / FOLDER


def save_candidate(models_dir: Path, models: PredictionModels) -> Path:
    """Writes the artifact without making it current (promote() does, once it passed)."""
    folder = model_folder(_root(models_dir), models.version)
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / (ARTIFACT + ".tmp")
    joblib.dump(models, staged)
    staged.replace(folder / ARTIFACT)
    return folder


def promote(models_dir: Path, version: str) -> None:
    point_current(_root(models_dir), version)


def current_prediction_models(models_dir: Path) -> PredictionModels | None:
    """The models in use, or None before the first training that passed its checks."""
    root = _root(models_dir)
    if not has_current_model(root):
        return None
    folder = model_folder(root, current_version(root))
    return joblib.load(folder / ARTIFACT)
