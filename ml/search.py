"""Model search: fit every candidate clustering, score it, reject the unusable, pick one.

Candidates: KMeans for each k in the configured range; a GaussianMixture whose k is chosen by BIC;
Ward agglomerative clustering for each k and HDBSCAN. The last three are costly (full covariances,
quadratic memory), so they are fitted on a smaller sample and extended to everyone: the mixture by
its own predict, Ward and HDBSCAN by nearest centroid. Every candidate is scored on the same
matrix.

Selection rule, in the spirit of prediction strength (Tibshirani & Walther, 2005): the finest
segmentation that reproduces reliably. Among candidates whose smallest segment reaches
`min_segment_share` and whose bootstrap stability reaches `min_stability`, take those with the most
segments, and among them the best mean rank over silhouette (higher is better),
Calinski-Harabasz (higher), Davies-Bouldin (lower) and stability (higher); remaining ties go to the
earlier algorithm in the configured order. Ranking by the geometric scores alone was tried first
and is fragile here: Calinski-Harabasz falls steadily with k, so one month of new data flipped the
choice between 6 and 7 segments, or to a Ward tree that splits real groups on a noisy feature.
"""

import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml.candidates import (
    Candidate,
    CandidateFitter,
    Silhouette,
    gmm_k_by_bic,
    on_every_core,
    sample_positions,
    score,
    silhouette_on_sample,
)
from ml.config import SegmentationConfig
from ml.identity import match_segments

RANKED_SCORES: dict[str, bool] = {
    "silhouette": True,
    "calinski_harabasz": True,
    "davies_bouldin": False,
    "stability": True,
}
"""Score name -> whether higher is better; the selection rule ranks on these."""


@dataclass
class SearchResult:
    candidates: list[Candidate]
    chosen: Candidate
    reason: str
    gmm_bic: dict[int, float]
    labels: np.ndarray
    """The chosen candidate, refitted on the whole training matrix: one label per row of it."""

    def table(self) -> pd.DataFrame:
        """One row per candidate with every score, the rank and why it was rejected, if it was."""
        rows = [
            {
                "candidate": candidate.name,
                "algorithm": candidate.algorithm,
                "segments": candidate.n_segments,
                "chosen": candidate is self.chosen,
                "rejected_because": candidate.rejected_because or "",
                **candidate.scores,
            }
            for candidate in self.candidates
        ]
        return pd.DataFrame(rows)


def _candidate_specs(
    matrix: np.ndarray, config: SegmentationConfig
) -> tuple[list[tuple[str, dict[str, Any]]], dict[int, float]]:
    low, high = config.k_range
    specs: list[tuple[str, dict[str, Any]]] = []
    bic: dict[int, float] = {}
    for algorithm in config.algorithms:
        if algorithm in ("kmeans", "ward"):
            specs += [(algorithm, {"k": k}) for k in range(low, high + 1)]
        elif algorithm == "gmm":
            best_k, bic = gmm_k_by_bic(matrix, config)
            specs.append(("gmm", {"k": best_k}))
        elif algorithm == "hdbscan":
            sample_size = min(config.costly_fit_sample, len(matrix))
            min_size = max(5, int(config.min_segment_share * sample_size))
            specs.append(("hdbscan", {"min_cluster_size": min_size}))
    return specs, bic


def _fitted_and_scored(
    specs: list[tuple[str, dict[str, Any]]],
    sample: np.ndarray,
    fitter: CandidateFitter,
    silhouette: Silhouette,
) -> list[Candidate]:
    """Every candidate fitted and scored, one per core at a time (see `_on_every_core`), started
    in the order `_start_order` gives; returned in the order of `specs`."""

    def fitted(spec: tuple[str, dict[str, Any]]) -> Candidate:
        algorithm, params = spec
        assign = fitter.fit(algorithm, params, sample, fitter.config.random_state)
        candidate = Candidate(algorithm, params, assign(sample))
        score(candidate, sample, fitter, silhouette)
        return candidate

    started = _start_order(specs)
    candidates = on_every_core(fitted, [specs[position] for position in started])
    by_position = dict(zip(started, candidates, strict=True))
    return [by_position[position] for position in range(len(specs))]


def _start_order(specs: list[tuple[str, dict[str, Any]]]) -> list[int]:
    """Positions in `specs` in the order to start them: the first Ward candidate, KMeans from the
    largest k, the mixture, HDBSCAN, then the other Ward candidates. The first Ward candidate
    builds the trees (on the sample and its bootstrap resamples) that every other k reuses from
    the cache, so those start last, when it has ended. Ward and HDBSCAN hold the GIL most of the
    time, so they should run beside KMeans and the mixture, whose numeric code releases it, rather
    than beside each other. In the order of `specs`, two Ward candidates built the same trees side
    by side and HDBSCAN ran alone at the end (fitting and scoring on 20,000 rows of 1M customers:
    18.5 s -> 14.5-15.9 s)."""
    first_ward = next(
        (position for position, (algorithm, _) in enumerate(specs) if algorithm == "ward"), None
    )
    order = {"kmeans": 1, "gmm": 2, "hdbscan": 3, "ward": 4}

    def rank(position: int) -> tuple[int, int]:
        algorithm, params = specs[position]
        if position == first_ward:
            return (0, 0)
        return (order[algorithm], -params.get("k", 0))

    return sorted(range(len(specs)), key=rank)


def rank_candidates(candidates: list[Candidate], order: tuple[str, ...]) -> list[Candidate]:
    """Accepted candidates, best first, by the selection rule in the module docstring."""
    accepted = [candidate for candidate in candidates if candidate.rejected_because is None]
    if not accepted:
        return []
    scores = pd.DataFrame([candidate.scores for candidate in accepted])
    ranks = pd.concat(
        [
            scores[name].rank(ascending=not higher_is_better)
            for name, higher_is_better in RANKED_SCORES.items()
        ],
        axis=1,
    )
    for candidate, mean_rank in zip(accepted, ranks.mean(axis=1), strict=True):
        candidate.scores["mean_rank"] = float(mean_rank)
    return sorted(
        accepted,
        key=lambda c: (-c.n_segments, c.scores["mean_rank"], order.index(c.algorithm)),
    )


@dataclass(frozen=True)
class Incumbent:
    """The previous run's model: its candidate, and the segment it gives each row of this run's
    matrix (its own segment ids)."""

    algorithm: str
    params: dict[str, Any]
    labels: np.ndarray


def search(
    matrix: np.ndarray, config: SegmentationConfig, incumbent: Incumbent | None = None
) -> SearchResult:
    """Fits and scores every configured candidate on a sample of `matrix`, picks one by the rule
    above, and refits the chosen one on all of `matrix` (unless the previous segments are kept).

    On a refresh (`incumbent` given) with `keep_previous_model`, the previous model's segments
    are kept as they are, assigned afresh to this run's customers, while they pass the gates of
    any candidate on this data (each segment holds the minimum share; refits of its algorithm on
    resamples reproduce them) and no candidate that passes them has more segments. Refitting
    every time moved about three times as many customers in a month of demo data, all of it
    boundary drift: see the stability table in docs/segmentation.md."""
    positions = sample_positions(len(matrix), config.search_sample, config.random_state)
    sample = matrix[positions]
    with tempfile.TemporaryDirectory(prefix="ward-trees-") as cache_dir:
        fitter = CandidateFitter(config, cache_dir)
        silhouette = silhouette_on_sample(sample, config)
        specs, bic = _candidate_specs(sample, config)
        candidates = _fitted_and_scored(specs, sample, fitter, silhouette)
        ranked = rank_candidates(candidates, config.algorithms)
        if not ranked:
            reasons = "; ".join(f"{c.name}: {c.rejected_because}" for c in candidates)
            raise ValueError(
                f"every clustering candidate was rejected: {reasons}. With few customers no "
                f"segmentation may reproduce; lower min_stability or min_segment_share in the "
                f"segmentation config, or narrow k_range"
            )
        kept = _previous_segments(incumbent, ranked, positions, sample, fitter, silhouette)
        if kept is not None:
            candidates.append(kept)
        keeping = kept is not None and kept.rejected_because is None
        best = ranked[0] if kept is None or keeping else _challenger(kept, ranked)
        if keeping:
            labels = incumbent.labels
        else:
            labels = fitter.fit(best.algorithm, best.params, matrix, config.random_state)(matrix)
    rule = (
        f"{best.name} has the most segments ({best.n_segments}) among the {len(ranked)} of "
        f"{len(candidates)} candidates with every segment >= {config.min_segment_share:.0%} of "
        f"customers and bootstrap stability >= {config.min_stability:.2f}, and among those the "
        f"best mean rank ({best.scores['mean_rank']:.2f}) over silhouette, Calinski-Harabasz, "
        f"Davies-Bouldin and stability"
    )
    if not keeping:
        return SearchResult(candidates, best, rule, bic, labels)
    reason = (
        f"kept the previous model's segments: they pass every gate on this data (smallest "
        f"segment {kept.scores['smallest_share']:.1%}, stability {kept.scores['stability']:.2f} "
        f"against refits of {kept.algorithm} with {kept.params}), and no candidate with more "
        f"segments reaches stability {config.min_stability + config.challenger_margin:.2f} "
        f"(by itself the rule would pick: {rule})"
    )
    return SearchResult(candidates, kept, reason, bic, labels)


def _challenger(kept: Candidate, ranked: list[Candidate]) -> Candidate:
    """The candidate that replaces rejected previous segments: the first ranked one with more
    segments than they have when they lost to one, else the first ranked."""
    finer = [c for c in ranked if c.n_segments > kept.n_segments]
    return finer[0] if finer and kept.rejected_because.startswith("replaced") else ranked[0]


def _previous_segments(
    incumbent: Incumbent | None,
    ranked: list[Candidate],
    positions: np.ndarray,
    sample: np.ndarray,
    fitter: CandidateFitter,
    silhouette: Silhouette,
) -> Candidate | None:
    """The previous model's segments on the search sample, gated like any candidate: each holds
    the minimum share, and refits of its algorithm on resamples reproduce them (stability).
    They stay unless a candidate with more segments keeps every one of them (the same customers,
    by identity overlap) and passes the gates with a stability at least `challenger_margin` above
    the gate: when the data has gained a segment, the search finds it, while a finer re-cut of
    segments that hold, or a split that only just reproduces, does not move everyone. None when
    there is no previous model to weigh."""
    config = fitter.config
    if incumbent is None or not config.keep_previous_model:
        return None
    kept = Candidate(
        incumbent.algorithm, incumbent.params, incumbent.labels[positions], previous_model=True
    )
    score(kept, sample, fitter, silhouette)
    if kept.rejected_because is not None:
        return kept
    bar = config.min_stability + config.challenger_margin
    challengers = [
        c
        for c in ranked
        if c.n_segments > kept.n_segments
        and c.scores["stability"] >= bar
        and _extends(kept.labels, c.labels, config.min_identity_overlap)
    ]
    if challengers:
        kept.rejected_because = (
            f"replaced: {challengers[0].name} keeps every previous segment and adds "
            f"{challengers[0].n_segments - kept.n_segments}, with stability "
            f"{challengers[0].scores['stability']:.2f} >= {bar:.2f}"
        )
    return kept


def _extends(previous: np.ndarray, candidate: np.ndarray, min_overlap: float) -> bool:
    """Whether every previous segment has a cluster of the candidate that is the same group of
    customers (Jaccard >= min_overlap, one-to-one): the candidate gained segments rather than
    re-cutting the ones that hold."""
    rows = pd.RangeIndex(len(previous))
    matching = match_segments(
        pd.Series(previous, index=rows), pd.Series(candidate, index=rows), min_overlap, 0
    )
    return len(matching.overlaps) == len(np.unique(previous))
