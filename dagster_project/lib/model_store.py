"""Versioned model artifacts: one folder per model version under the models folder, and a
`current` pointer naming the one in use, switched only once its artifacts are fully written.

Loading a model unpickles it (joblib), which runs code: the version, read from the warehouse or
the pointer, must have the format the pipeline gives it (`<UTC time>-<run id prefix>`) and its
folder must lie inside the models folder, so a value written into a table cannot point the
loader at a file elsewhere.
"""

import re
from pathlib import Path

from ml.model import SegmentationModel

CURRENT_POINTER = "current"
VERSION_FORMAT = re.compile(r"[0-9]{8}T[0-9]{6}-[0-9a-f]{8}")


def model_folder(models_dir: Path, version: str) -> Path:
    """The folder of `version` inside `models_dir`; refuses any other value."""
    if not VERSION_FORMAT.fullmatch(version):
        raise ValueError(
            f"Model version {version[:40]!r} does not have the pipeline's format "
            "(YYYYMMDDTHHMMSS-<8 hex>): refusing to load it. Was segments.customer_segments or "
            f"{CURRENT_POINTER} edited by hand?"
        )
    folder = (models_dir / version).resolve()
    if not folder.is_relative_to(models_dir.resolve()):
        raise ValueError(f"Model version {version} resolves outside {models_dir}: refusing it.")
    return folder


def save_model(models_dir: Path, model: SegmentationModel) -> Path:
    """Writes the artifacts, then points `current` at them: a half-written model is never the
    current one."""
    folder = model.save(model_folder(models_dir, model.version))
    point_current(models_dir, model.version)
    return folder


def point_current(models_dir: Path, version: str) -> None:
    """Switches `current` to `version` with an atomic rename."""
    pointer = models_dir / CURRENT_POINTER
    staged = pointer.with_suffix(".tmp")
    staged.write_text(version)
    staged.replace(pointer)


def load_model(models_dir: Path, version: str) -> SegmentationModel:
    folder = model_folder(models_dir, version)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Model {version} is published but its artifacts are missing from {folder}: "
            f"restore that folder, or drop schema segments to start again."
        )
    return SegmentationModel.load(folder)


def has_current_model(models_dir: Path) -> bool:
    return (models_dir / CURRENT_POINTER).exists()


def current_version(models_dir: Path) -> str:
    return (models_dir / CURRENT_POINTER).read_text().strip()


def current_model(models_dir: Path) -> SegmentationModel:
    pointer = models_dir / CURRENT_POINTER
    if not pointer.exists():
        raise FileNotFoundError(
            f"No trained model in {models_dir}: materialize segmentation_model first."
        )
    return load_model(models_dir, current_version(models_dir))
