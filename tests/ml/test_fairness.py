"""The fairness audit on hand-made segmentations: a planted dependency of segment on group is
flagged, and only it; independence flags nothing; the numbers are the definitions'."""

import numpy as np
import pandas as pd
import pytest

from ml.config import SegmentationConfig
from ml.fairness import COLUMNS, audit

CONFIG = SegmentationConfig()


def _customers(size: int, seed: int) -> tuple[pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"c{i:05d}" for i in range(size)]
    demographics = pd.DataFrame(
        {
            "customer_id": ids,
            "age_band": rng.choice(["18-24", "25-34", "35-44", "45-54"], size),
            "gender": rng.choice(["female", "male"], size),
            "country": rng.choice(["GB", "DE", "US"], size),
        }
    )
    segments = pd.Series(rng.integers(1, 6, size), index=ids)
    return segments, demographics


def test_independent_segments_flag_nothing() -> None:
    segments, demographics = _customers(8_000, seed=1)
    table = audit(segments, demographics, CONFIG)
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == 5 * (4 + 2 + 3)
    assert not table["flagged"].any()
    assert (table.groupby("attribute")["cramers_v"].first() < 0.05).all()


def test_a_planted_dependency_is_flagged_and_nothing_else() -> None:
    segments, demographics = _customers(8_000, seed=2)
    young = demographics["age_band"].to_numpy() == "18-24"
    rng = np.random.default_rng(3)
    # Segment 3 becomes about three times as likely for 18-24 as for everyone else.
    segments[young & (rng.random(len(segments)) < 0.4)] = 3
    table = audit(segments, demographics, CONFIG)
    flagged = table[table["flagged"]]
    assert set(zip(flagged["attribute"], flagged["group"], flagged["segment_id"], strict=True)) >= {
        ("age_band", "18-24", 3)
    }
    # Its consequences within age bands may be flagged too (the others are under-selected in
    # segment 3, and 18-24 in the segments it left), nothing about gender or country.
    assert set(flagged["attribute"]) == {"age_band"}
    row = table.set_index(["attribute", "group", "segment_id"]).loc[("age_band", "18-24", 3)]
    assert row["selection_rate_ratio"] == pytest.approx(3, rel=0.2)
    assert row["representation_ratio"] > 1.5
    assert table[table["attribute"] == "age_band"]["cramers_v"].iat[0] > 0.1


def test_the_numbers_follow_their_definitions() -> None:
    ids = ["a", "b", "c", "d", "e", "f"]
    segments = pd.Series([1, 1, 1, 2, 2, 2], index=ids)
    demographics = pd.DataFrame({"customer_id": ids, "gender": ["f", "f", "m", "m", "m", "m"]})
    config = SegmentationConfig(protected_attributes=("gender",))
    row = audit(segments, demographics, config).set_index(["group", "segment_id"]).loc[("f", 1)]
    assert row["share_in_segment"] == pytest.approx(2 / 3)
    assert row["share_overall"] == pytest.approx(2 / 6)
    assert row["representation_ratio"] == pytest.approx(2.0)
    assert row["selection_rate"] == pytest.approx(1.0)  # both f are in segment 1
    assert row["selection_rate_ratio"] == pytest.approx(1.0 / (1 / 4))
    assert not row["flagged"]  # six customers: far from significant, and groups under 30
