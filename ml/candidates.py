"""Clustering candidates: fitting one (KMeans, a Gaussian mixture, Ward, HDBSCAN) and scoring it.

The costly ones (full covariances, quadratic memory) are fitted on a smaller sample and extended
to everyone: the mixture by its own predict, Ward and HDBSCAN by nearest centroid. Every
candidate gets silhouette (on one fixed sample), Calinski-Harabasz, Davies-Bouldin and bootstrap
stability, then the gates: at least two segments, none below the minimum share, every two apart
on some dimension, stable enough.
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from joblib import Memory
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances,
    silhouette_score,
)
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from ml.config import SegmentationConfig

Assigner = Callable[[np.ndarray], np.ndarray]
Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class Candidate:
    algorithm: str
    params: dict[str, Any]
    labels: np.ndarray
    scores: dict[str, float] = field(default_factory=dict)
    rejected_because: str | None = None
    previous_model: bool = False
    """True for the previous run's segments as they stand, rather than a fresh fit."""

    @property
    def name(self) -> str:
        settings = ", ".join(f"{key}={value}" for key, value in self.params.items())
        kept = ", previous model" if self.previous_model else ""
        return f"{self.algorithm}({settings}{kept})"

    @property
    def n_segments(self) -> int:
        return len(np.unique(self.labels))


def nearest_centroid(sample: np.ndarray, labels: np.ndarray) -> Assigner:
    """Extends labels found on a sample to any rows: each row joins its nearest cluster mean."""
    clusters = np.unique(labels[labels >= 0])
    centroids = np.vstack([sample[labels == cluster].mean(axis=0) for cluster in clusters])

    def assign(matrix: np.ndarray) -> np.ndarray:
        distances = (
            (matrix**2).sum(axis=1)[:, None]
            - 2 * matrix @ centroids.T
            + (centroids**2).sum(axis=1)[None, :]
        )
        return clusters[distances.argmin(axis=1)]

    return assign


def sample_positions(rows: int, size: int, seed: int, replace: bool = False) -> np.ndarray:
    if not replace and rows <= size:
        return np.arange(rows)
    return np.random.default_rng(seed).choice(rows, size=min(size, rows), replace=replace)


def subsample(matrix: np.ndarray, size: int, seed: int, replace: bool = False) -> np.ndarray:
    return matrix[sample_positions(len(matrix), size, seed, replace)]


class CandidateFitter:
    """Fits one candidate on a matrix and returns a function that labels any rows. Ward trees are
    cached in `cache_dir`, so every k (and every stability refit of every k) on the same rows
    reuses one tree."""

    def __init__(self, config: SegmentationConfig, cache_dir: str) -> None:
        self.config = config
        self.memory = Memory(cache_dir, verbose=0)

    def fit(
        self,
        algorithm: str,
        params: dict[str, Any],
        matrix: np.ndarray,
        seed: int,
    ) -> Assigner:
        if algorithm == "kmeans":
            return fit_kmeans(params["k"], seed, matrix).predict
        sample = subsample(matrix, self.config.costly_fit_sample, seed)
        if algorithm == "gmm":
            return fit_mixture(params["k"], seed, sample).predict
        if algorithm == "ward":
            labels = AgglomerativeClustering(
                params["k"], linkage="ward", memory=self.memory, compute_full_tree=True
            ).fit_predict(sample)
        elif algorithm == "hdbscan":
            labels = HDBSCAN(min_cluster_size=params["min_cluster_size"], copy=True).fit_predict(
                sample
            )
            if len(np.unique(labels[labels >= 0])) < 2:
                return lambda rows: np.zeros(len(rows), dtype=int)
        else:
            raise ValueError(f"unknown algorithm {algorithm}")
        return nearest_centroid(sample, labels)


def fit_kmeans(k: int, seed: int, rows: np.ndarray) -> KMeans:
    """KMeans on one OpenMP thread: on these 2-core machines its threads synchronising at every
    iteration made fits slower with two threads than with one (eleven fits, k 2 to 12, on 20,000
    rows: 3.1 s against 0.8 s; the stability refits of a 1M-customer training 19.5 s -> 12 s)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        return KMeans(k, random_state=seed, n_init=4).fit(rows)


def fit_mixture(k: int, seed: int, rows: np.ndarray) -> GaussianMixture:
    """A full-covariance mixture fitted with single-threaded BLAS: its many small matrix products
    (features x features per component) ran several times slower with BLAS threads contending."""
    mixture = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=seed)
    with threadpool_limits(limits=1, user_api="blas"):
        return mixture.fit(rows)


def gmm_k_by_bic(matrix: np.ndarray, config: SegmentationConfig) -> tuple[int, dict[int, float]]:
    """The number of mixture components with the lowest BIC, swept on the costly-fit sample."""
    sample = subsample(matrix, config.costly_fit_sample, config.random_state)
    low, high = config.k_range
    ks = list(range(low, high + 1))

    def bic_of(k: int) -> float:
        return float(fit_mixture(k, config.random_state, sample).bic(sample))

    bic = dict(zip(ks, on_every_core(bic_of, ks), strict=True))
    return min(bic, key=bic.__getitem__), bic


def stability(candidate: Candidate, matrix: np.ndarray, fitter: CandidateFitter) -> float:
    """Mean adjusted Rand index between the candidate's labels and refits on bootstrap resamples."""
    config = fitter.config
    agreements = []
    for resample in range(config.stability_resamples):
        seed = config.random_state + 1 + resample
        rows = subsample(matrix, len(matrix), seed, replace=True)
        refit = fitter.fit(candidate.algorithm, candidate.params, rows, seed)
        agreements.append(adjusted_rand_score(candidate.labels, refit(matrix)))
    return float(np.mean(agreements))


Silhouette = Callable[[np.ndarray], float]


def silhouette_on_sample(matrix: np.ndarray, config: SegmentationConfig) -> Silhouette:
    """Silhouette of any labelling of `matrix`, on one fixed sample of its rows whose pairwise
    distances are computed once: the search scores every candidate on the same rows, and
    recomputing the distances per candidate was a fifth of the search's time."""
    rows = sample_positions(len(matrix), config.silhouette_sample, config.random_state)
    distances = pairwise_distances(matrix[rows])
    return lambda labels: float(silhouette_score(distances, labels[rows], metric="precomputed"))


def closest_pair(matrix: np.ndarray, labels: np.ndarray) -> tuple[float, tuple[int, int]]:
    """How far apart the two closest segments are: over every pair of segments, the largest gap
    between their centres on any dimension, in standard deviations of that dimension; the
    smallest such gap, and its pair."""
    segments = np.unique(labels)
    spread = matrix.std(axis=0)
    spread[spread == 0] = 1.0
    centres = np.vstack([matrix[labels == segment].mean(axis=0) for segment in segments]) / spread
    gaps = np.abs(centres[:, None, :] - centres[None, :, :]).max(axis=2)
    gaps[np.diag_indices_from(gaps)] = np.inf
    first, second = np.unravel_index(gaps.argmin(), gaps.shape)
    return float(gaps[first, second]), (int(segments[first]), int(segments[second]))


def score(
    candidate: Candidate, matrix: np.ndarray, fitter: CandidateFitter, silhouette: Silhouette
) -> None:
    """Every score, then the gates: too few segments, a segment too small, two segments that do
    not differ materially, too unstable."""
    config = fitter.config
    shares = np.bincount(pd.factorize(candidate.labels)[0]) / len(candidate.labels)
    candidate.scores["smallest_share"] = float(shares.min())
    if candidate.n_segments < 2:
        candidate.rejected_because = "fewer than 2 segments"
        return
    separation, pair = closest_pair(matrix, candidate.labels)
    candidate.scores["min_separation"] = separation
    candidate.scores["silhouette"] = silhouette(candidate.labels)
    candidate.scores["calinski_harabasz"] = float(calinski_harabasz_score(matrix, candidate.labels))
    candidate.scores["davies_bouldin"] = float(davies_bouldin_score(matrix, candidate.labels))
    candidate.scores["stability"] = stability(candidate, matrix, fitter)
    if shares.min() < config.min_segment_share:
        candidate.rejected_because = (
            f"smallest segment {shares.min():.1%} < {config.min_segment_share:.0%}"
        )
    elif separation < config.min_segment_separation:
        candidate.rejected_because = (
            f"segments {pair[0]} and {pair[1]} differ by at most {separation:.2f} standard "
            f"deviations on any dimension < {config.min_segment_separation}"
        )
    elif candidate.scores["stability"] < config.min_stability:
        candidate.rejected_because = (
            f"stability {candidate.scores['stability']:.2f} < {config.min_stability:.2f}"
        )


def on_every_core(work: Callable[[Item], Result], items: list[Item]) -> list[Result]:
    """`work` on each item, one item per core at a time (started in the order of `items`), each
    on one thread of BLAS and OpenMP; the results in the order of `items`. The fits here are small
    and their numeric code releases the GIL, so fits side by side use the cores better than one
    fit's threads do."""
    with threadpool_limits(limits=1), ThreadPoolExecutor(len(os.sched_getaffinity(0))) as pool:
        return list(pool.map(work, items))
