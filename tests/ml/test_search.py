"""Every clustering algorithm recovers well-separated synthetic clusters; the search picks them."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from ml.config import SegmentationConfig
from ml.search import Incumbent, search

CONFIG = SegmentationConfig(k_range=(2, 6), stability_resamples=3, costly_fit_sample=1_500)


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    return make_blobs(n_samples=3_000, centers=4, n_features=5, cluster_std=0.6, random_state=3)


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm", "ward", "hdbscan"])
def test_each_algorithm_recovers_known_clusters(
    algorithm: str, blobs: tuple[np.ndarray, np.ndarray]
) -> None:
    matrix, truth = blobs
    result = search(matrix, SegmentationConfig(**{**vars(CONFIG), "algorithms": (algorithm,)}))
    assert result.chosen.algorithm == algorithm
    assert result.chosen.n_segments == 4
    assert adjusted_rand_score(truth, result.labels) > 0.95


def test_search_scores_every_candidate_and_explains_its_choice(
    blobs: tuple[np.ndarray, np.ndarray],
) -> None:
    matrix, truth = blobs
    result = search(matrix, CONFIG)
    table = result.table()
    assert len(table) == 5 + 1 + 5 + 1  # kmeans k=2..6, one BIC-chosen gmm, ward k=2..6, hdbscan
    assert table["chosen"].sum() == 1
    assert set(table.columns) >= {"silhouette", "calinski_harabasz", "davies_bouldin", "stability"}
    assert result.chosen.n_segments == 4
    assert "most segments (4)" in result.reason
    assert adjusted_rand_score(truth, result.labels) > 0.95
    assert min(result.gmm_bic, key=result.gmm_bic.get) == 4


def test_search_is_reproducible(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    matrix, _ = blobs
    config = SegmentationConfig(**{**vars(CONFIG), "algorithms": ("kmeans", "ward")})
    first, second = search(matrix, config), search(matrix, config)
    assert first.chosen.name == second.chosen.name
    assert np.array_equal(first.labels, second.labels)


def test_a_candidate_with_a_tiny_segment_is_rejected() -> None:
    big, _ = make_blobs(n_samples=2_000, centers=[[0, 0], [10, 10]], random_state=1)
    tiny, _ = make_blobs(n_samples=20, centers=[[-10, 10]], random_state=1)
    config = SegmentationConfig(**{**vars(CONFIG), "algorithms": ("kmeans",), "k_range": (2, 3)})
    result = search(np.vstack([big, tiny]), config)
    three = next(c for c in result.candidates if c.params == {"k": 3})
    assert three.rejected_because.startswith("smallest segment 1.0%")
    assert result.chosen.n_segments == 2


def test_a_warm_start_refits_from_the_previous_segments(
    blobs: tuple[np.ndarray, np.ndarray],
) -> None:
    matrix, truth = blobs
    centres = np.vstack([matrix[truth == label].mean(axis=0) for label in (2, 0, 3, 1)])
    for algorithm in ("kmeans", "gmm"):
        config = SegmentationConfig(**{**vars(CONFIG), "algorithms": (algorithm,)})
        result = search(matrix, config, Incumbent(algorithm, {"k": 4}, centres))
        assert "refitted from the previous run's segments" in result.reason
        # Cluster i is the one that started at previous centre i.
        assert (result.labels[truth == 2] == 0).mean() > 0.99
        assert (result.labels[truth == 1] == 3).mean() > 0.99


def test_a_refresh_keeps_the_previous_model_while_it_passes_the_gates(
    blobs: tuple[np.ndarray, np.ndarray],
) -> None:
    matrix, truth = blobs
    three = np.vstack([matrix[truth == label].mean(axis=0) for label in (0, 1, 2)])
    incumbent = Incumbent("kmeans", {"k": 3}, three)
    kept = search(matrix, CONFIG, incumbent)
    assert kept.chosen.params == {"k": 3}
    assert kept.reason.startswith("kept the previous run's kmeans(k=3)")
    assert "refitted from the previous run's segments" in kept.reason

    afresh = search(
        matrix, SegmentationConfig(**{**vars(CONFIG), "keep_previous_model": False}), incumbent
    )
    assert afresh.chosen.n_segments == 4
    assert "previous run" not in afresh.reason


def test_a_previous_model_that_fails_the_gates_is_replaced() -> None:
    big, _ = make_blobs(n_samples=2_000, centers=[[0, 0], [10, 10]], random_state=1)
    tiny, _ = make_blobs(n_samples=20, centers=[[-10, 10]], random_state=1)
    matrix = np.vstack([big, tiny])
    config = SegmentationConfig(**{**vars(CONFIG), "algorithms": ("kmeans",), "k_range": (2, 3)})
    centres = np.array([[0, 0], [10, 10], [-10, 10]], dtype=float)
    result = search(matrix, config, Incumbent("kmeans", {"k": 3}, centres))
    assert result.chosen.n_segments == 2
    assert "previous run" not in result.reason


def test_ward_is_not_said_to_be_warm_started(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    matrix, truth = blobs
    centres = np.vstack([matrix[truth == label].mean(axis=0) for label in range(4)])
    config = SegmentationConfig(**{**vars(CONFIG), "algorithms": ("ward",)})
    result = search(matrix, config, Incumbent("ward", {"k": 4}, centres))
    assert result.reason.startswith("kept the previous run's ward(k=4)")
    assert "refitted from the previous run's segments" not in result.reason
