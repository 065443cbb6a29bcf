"""Versioned model artifacts: one folder per model version under the models folder, and a
`current` pointer naming the one in use, switched only once its artifacts are fully written."""

from pathlib import Path

from ml.model import SegmentationModel

CURRENT_POINTER = "current"


def save_model(models_dir: Path, model: SegmentationModel) -> Path:
    """Writes the artifacts, then points `current` at them: a half-written model is never the
    current one."""
    folder = model.save(models_dir / model.version)
    pointer = models_dir / CURRENT_POINTER
    staged = pointer.with_suffix(".tmp")
    staged.write_text(model.version)
    staged.replace(pointer)
    return folder


def load_model(models_dir: Path, version: str) -> SegmentationModel:
    folder = models_dir / version
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Model {version} is published but its artifacts are missing from {folder}: "
            f"restore that folder, or drop schema segments to start again."
        )
    return SegmentationModel.load(folder)


def current_model(models_dir: Path) -> SegmentationModel:
    pointer = models_dir / CURRENT_POINTER
    if not pointer.exists():
        raise FileNotFoundError(
            f"No trained model in {models_dir}: materialize segmentation_model first."
        )
    return load_model(models_dir, pointer.read_text().strip())
