"""Scoring every customer with a trained model, a chunk at a time, while tallying drift against
the model's training snapshot: memory stays bounded by the chunk, however many customers there
are. Pure: the chunks come from any iterator of feature frames (a warehouse reader, a file, a
notebook's DataFrame split)."""

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from ml.drift import DriftTally
from ml.model import SegmentationModel


@dataclass(frozen=True)
class Scored:
    """Every customer's assignment, and how far they drifted from the training snapshot (empty
    frames when the model has no snapshot)."""

    assignments: pd.DataFrame  # customer_id, segment_id, segment_name, membership_probability
    feature_psi: pd.DataFrame  # feature, psi
    segment_share_changes: pd.DataFrame  # segment_id, training_share, share, change


def score_in_chunks(model: SegmentationModel, chunks: Iterable[pd.DataFrame]) -> Scored:
    """Assigns each chunk of customers (frames with customer_id and the model's features) and
    adds it to the drift tally."""
    snapshot = model.drift_reference
    tally = DriftTally(snapshot) if snapshot is not None else None
    parts = []
    for chunk in chunks:
        assigned = model.assign(chunk)
        if tally is not None:
            tally.add(chunk, assigned["segment_id"])
        parts.append(assigned)
    return Scored(
        assignments=pd.concat(parts, ignore_index=True),
        feature_psi=tally.feature_psi() if tally else pd.DataFrame(columns=["feature", "psi"]),
        segment_share_changes=tally.segment_share_changes()
        if tally
        else pd.DataFrame(columns=["segment_id", "training_share", "share", "change"]),
    )
