"""Drift of today's customers from the model's training snapshot.

Per feature, the population stability index (PSI) compares the share of customers in each bin
of the training distribution (deciles of the training sample, plus a bin for missing values)
with today's share: PSI = sum((today - training) * ln(today / training)). The usual reading is
under 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 a shift worth retraining for. Segment
sizes are compared the same way, as the largest change of a segment's share.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

BINS = 10
FLOOR = 1e-4  # share given to an empty bin, so that ln() stays finite


@dataclass(frozen=True)
class DriftReference:
    """The training snapshot: per feature, the inner bin edges and each bin's share (the last
    bin holds missing values), and each segment's share of the training customers."""

    edges: dict[str, list[float]]
    shares: dict[str, list[float]]
    segment_shares: dict[int, float]

    def to_json(self) -> dict:
        return {
            "edges": self.edges,
            "shares": self.shares,
            "segment_shares": {str(k): v for k, v in self.segment_shares.items()},
        }

    @classmethod
    def from_json(cls, value: dict) -> "DriftReference":
        return cls(
            value["edges"],
            value["shares"],
            {int(k): v for k, v in value["segment_shares"].items()},
        )


def reference(frame: pd.DataFrame, features: list[str], labels: pd.Series) -> DriftReference:
    edges = {name: _edges(frame[name]) for name in features}
    return DriftReference(
        edges=edges,
        shares={name: _shares(frame[name], edges[name]).tolist() for name in features},
        segment_shares={int(k): float(v) for k, v in labels.value_counts(normalize=True).items()},
    )


def _edges(values: pd.Series) -> list[float]:
    """Inner decile edges of the observed values (fewer when values repeat)."""
    observed = values.dropna().astype(float)
    if observed.empty:
        return []
    quantiles = np.quantile(observed, np.linspace(0, 1, BINS + 1)[1:-1])
    return np.unique(quantiles).tolist()


def _counts(values: pd.Series, edges: list[float]) -> np.ndarray:
    """Values per bin: len(edges) + 1 value bins, then the missing bin."""
    numbers = values.astype(float).to_numpy()
    missing = np.isnan(numbers)
    bins = np.searchsorted(np.asarray(edges), numbers[~missing], side="right")
    return np.append(np.bincount(bins, minlength=len(edges) + 1), missing.sum())


def _shares(values: pd.Series, edges: list[float]) -> np.ndarray:
    return _counts(values, edges) / max(len(values), 1)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected = np.maximum(np.asarray(expected, dtype=float), FLOOR)
    actual = np.maximum(np.asarray(actual, dtype=float), FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


class DriftTally:
    """Counts today's customers into the snapshot's bins a chunk at a time, so that drift over
    every customer costs no more memory than scoring them."""

    def __init__(self, snapshot: DriftReference) -> None:
        self.snapshot = snapshot
        self.bins = {name: np.zeros(len(e) + 2) for name, e in snapshot.edges.items()}
        self.segments: pd.Series = pd.Series(dtype=float)
        self.rows = 0

    def add(self, features: pd.DataFrame, segment_ids: pd.Series) -> None:
        for name, edges in self.snapshot.edges.items():
            self.bins[name] += _counts(features[name], edges)
        self.segments = self.segments.add(segment_ids.value_counts(), fill_value=0)
        self.rows += len(features)

    def feature_psi(self) -> pd.DataFrame:
        """feature, psi: today's customers against the training snapshot, largest first."""
        rows = [
            (name, psi(self.snapshot.shares[name], counts / max(self.rows, 1)))
            for name, counts in self.bins.items()
        ]
        return (
            pd.DataFrame(rows, columns=["feature", "psi"])
            .sort_values(["psi", "feature"], ascending=[False, True])
            .reset_index(drop=True)
        )

    def segment_share_changes(self) -> pd.DataFrame:
        """segment_id, training_share, share, change (today's share minus the training one)."""
        ids = sorted(set(self.snapshot.segment_shares) | {int(i) for i in self.segments.index})
        training = [self.snapshot.segment_shares.get(i, 0.0) for i in ids]
        shares = [float(self.segments.get(i, 0.0)) / max(self.rows, 1) for i in ids]
        return pd.DataFrame(
            {
                "segment_id": ids,
                "training_share": training,
                "share": shares,
                "change": np.subtract(shares, training),
            }
        )


def retrain_reason(
    feature_psi: pd.DataFrame,
    segment_share_changes: pd.DataFrame,
    psi_threshold: float,
    share_threshold: float,
) -> str:
    """Why the data calls for a retrain, in words; empty when it does not."""
    drifted = feature_psi[feature_psi["psi"] > psi_threshold]
    moved = segment_share_changes[segment_share_changes["change"].abs() > share_threshold]
    reasons = []
    if len(drifted):
        listed = ", ".join(f"{row.feature} {row.psi:.2f}" for row in drifted.itertuples())
        reasons.append(f"feature drift: PSI {listed} > {psi_threshold}")
    if len(moved):
        listed = ", ".join(
            f"segment {row.segment_id} {row.training_share:.1%} -> {row.share:.1%}"
            for row in moved.itertuples()
        )
        reasons.append(f"segment sizes moved more than {share_threshold:.0%}: {listed}")
    return "; ".join(reasons)
