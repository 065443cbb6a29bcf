"""Stable segment identity across refreshes (DESIGN.md section 6).

New clusters are matched to the previous run's segments by membership overlap: the Jaccard index
of the two customer sets, over customers present in both runs, maximised over one-to-one pairings
with the Hungarian algorithm. A pair keeps the previous id only when its overlap reaches the
threshold; any other cluster is a genuinely new segment and gets a never-used id.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score


@dataclass(frozen=True)
class Matching:
    segment_ids: dict[int, int]  # cluster label -> segment id
    overlaps: dict[int, float]  # cluster label -> Jaccard with the matched previous segment
    new_segments: tuple[int, ...]  # segment ids created in this run


def jaccard_matrix(previous: pd.Series, current: pd.Series) -> pd.DataFrame:
    """previous segment x current cluster Jaccard index, over customers in both (index: id)."""
    common = previous.index.intersection(current.index)
    before, after = previous.loc[common], current.loc[common]
    both = pd.crosstab(before, after)
    union = (
        before.value_counts().reindex(both.index).to_numpy()[:, None]
        + after.value_counts().reindex(both.columns).to_numpy()[None, :]
        - both.to_numpy()
    )
    return pd.DataFrame(both.to_numpy() / union, index=both.index, columns=both.columns)


def match_segments(
    previous: pd.Series | None, current: pd.Series, min_overlap: float, next_id: int
) -> Matching:
    """`previous` maps customer id -> segment id (None on a first run), `current` customer id ->
    cluster label; `next_id` is the smallest id never used before."""
    clusters = sorted(pd.unique(current))
    ids: dict[int, int] = {}
    overlaps: dict[int, float] = {}
    if previous is not None and len(previous):
        jaccard = jaccard_matrix(previous, current)
        rows, cols = linear_sum_assignment(jaccard.to_numpy(), maximize=True)
        for row, col in zip(rows, cols, strict=True):
            if jaccard.iat[row, col] >= min_overlap:
                ids[int(jaccard.columns[col])] = int(jaccard.index[row])
                overlaps[int(jaccard.columns[col])] = float(jaccard.iat[row, col])
    new = []
    for cluster in clusters:
        if int(cluster) not in ids:
            ids[int(cluster)] = next_id
            new.append(next_id)
            next_id += 1
    return Matching(ids, overlaps, tuple(new))


def stability_ari(previous: pd.Series | None, current: pd.Series) -> float | None:
    """Adjusted Rand index between two runs' assignments over customers in both."""
    if previous is None:
        return None
    common = previous.index.intersection(current.index)
    if len(common) == 0:
        return None
    return float(adjusted_rand_score(previous.loc[common], current.loc[common]))


def relabel(labels: np.ndarray, segment_ids: dict[int, int]) -> np.ndarray:
    return pd.Series(labels).map(segment_ids).to_numpy()
