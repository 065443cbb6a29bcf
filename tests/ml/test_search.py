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


def test_a_refresh_keeps_the_previous_segments_as_they_are_while_they_hold(
    blobs: tuple[np.ndarray, np.ndarray],
) -> None:
    matrix, truth = blobs
    # The previous model found the four blobs; its own ids, and a few border customers that its
    # assigner placed differently from a refit.
    previous = truth + 7
    previous[:5] = (previous[:5] - 7 + 1) % 4 + 7
    kept = search(matrix, CONFIG, Incumbent("kmeans", {"k": 4}, previous))
    assert np.array_equal(kept.labels, previous)
    assert kept.chosen.previous_model and kept.chosen.n_segments == 4
    assert kept.reason.startswith("kept the previous model's segments: they pass every gate")
    table = kept.table()
    assert table.loc[table["chosen"], "candidate"].item() == "kmeans(k=4, previous model)"

    afresh = search(
        matrix,
        SegmentationConfig(**{**vars(CONFIG), "keep_previous_model": False}),
        Incumbent("kmeans", {"k": 4}, previous),
    )
    assert not afresh.chosen.previous_model and "previous model" not in afresh.reason


def test_a_segment_the_data_has_gained_is_found_although_a_previous_model_exists(
    blobs: tuple[np.ndarray, np.ndarray],
) -> None:
    matrix, truth = blobs
    # The previous model knew three groups (blobs 2 and 3 together): the data now has four.
    previous = np.select([truth == 0, truth == 1], [7, 8], default=9)
    result = search(matrix, CONFIG, Incumbent("kmeans", {"k": 3}, previous))
    assert result.chosen.n_segments == 4 and not result.chosen.previous_model
    assert adjusted_rand_score(truth, result.labels) > 0.95
    table = result.table().set_index("candidate")
    assert table.loc["kmeans(k=3, previous model)", "rejected_because"]


def test_previous_segments_whose_structure_no_longer_reproduces_are_replaced() -> None:
    big, _ = make_blobs(n_samples=2_000, centers=[[0, 0], [10, 10]], random_state=1)
    tiny, _ = make_blobs(n_samples=20, centers=[[-10, 10]], random_state=1)
    matrix = np.vstack([big, tiny])
    config = SegmentationConfig(**{**vars(CONFIG), "algorithms": ("kmeans",), "k_range": (2, 3)})
    previous = np.r_[np.zeros(1_000, dtype=int), np.ones(1_000, dtype=int), np.full(20, 2)]
    result = search(matrix, config, Incumbent("kmeans", {"k": 3}, previous))
    assert result.chosen.n_segments == 2 and not result.chosen.previous_model
    assert "previous model" not in result.reason


def test_a_previous_segment_that_shrank_below_the_minimum_share_is_not_kept(
    blobs: tuple[np.ndarray, np.ndarray],
) -> None:
    matrix, truth = blobs
    previous = truth.copy()
    previous[np.flatnonzero(truth == 3)[20:]] = 2  # segment 3 keeps 20 of 3,000 customers
    result = search(matrix, CONFIG, Incumbent("kmeans", {"k": 4}, previous))
    assert not result.chosen.previous_model
    assert adjusted_rand_score(truth, result.labels) > 0.95
