"""The assigner places customers in the segments found, through the model's own preprocessing,
and models saved with the earlier gradient-boosting assigner still score."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.ensemble import HistGradientBoostingClassifier

from ml.config import SegmentationConfig
from ml.model import SegmentationModel
from ml.train import TrainingReport, train

CONFIG = SegmentationConfig(
    k_range=(3, 5), stability_resamples=3, costly_fit_sample=1_500, cv_folds=3
)


def _customers(seed: int, rows: int = 4_000) -> pd.DataFrame:
    """Four groups of customers in five features, some visit counts missing."""
    values, _ = make_blobs(
        n_samples=rows, centers=4, n_features=5, cluster_std=0.7, random_state=3, shuffle=False
    )
    values = values[np.random.default_rng(seed).permutation(rows)]
    frame = pd.DataFrame(values, columns=["spend", "visits", "recency", "basket", "returns"])
    frame.loc[frame.index % 20 == 0, "visits"] = np.nan
    return frame.assign(customer_id=np.arange(rows) + seed * rows)


@pytest.fixture(scope="module", params=["kmeans", "gmm"])
def trained(request: pytest.FixtureRequest) -> TrainingReport:
    config = replace(CONFIG, algorithms=(request.param,))
    return train(_customers(seed=0), config, "v-test")


def test_the_assigner_reproduces_the_clusters_on_held_out_customers(
    trained: TrainingReport,
) -> None:
    assert trained.assigner_cv.macro_f1 > 0.98
    assert set(trained.assigner_cv.per_segment["segment"]) == set(trained.labels)
    assigned = trained.model.assign(_customers(seed=0))
    assert (assigned["segment_id"].to_numpy() == trained.labels.to_numpy()).mean() > 0.99
    assert assigned["membership_probability"].between(0, 1).all()


def test_new_customers_with_missing_values_are_assigned_with_the_saved_model(
    trained: TrainingReport, tmp_path: Path
) -> None:
    loaded = SegmentationModel.load(trained.model.save(tmp_path / "model"))
    newcomers = _customers(seed=1)
    assigned = loaded.assign(newcomers)
    assert assigned["customer_id"].tolist() == newcomers["customer_id"].tolist()
    assert set(assigned["segment_id"]) == set(trained.labels)
    assert not assigned.isna().any().any()


def test_a_model_saved_with_the_gradient_boosting_assigner_still_scores(
    trained: TrainingReport, tmp_path: Path
) -> None:
    """Until 2026-12-04 the assigner was gradient boosting on the explain features as floats."""
    columns = trained.model.explain_features
    explain = _customers(seed=0)[columns].astype(float).to_numpy()
    boosted = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    boosted.fit(explain, trained.labels.to_numpy())
    model = replace(trained.model, assigner=boosted)
    loaded = SegmentationModel.load(model.save(tmp_path / "boosted"))
    newcomers = _customers(seed=1)
    expected = boosted.predict(newcomers[columns].astype(float).to_numpy())
    assert (loaded.assign(newcomers)["segment_id"].to_numpy() == expected).all()
