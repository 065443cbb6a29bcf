"""RFM quintile scores and cells on hand-made customers."""

import pandas as pd

from ml.rfm import quintile_scores, rfm_scores


def test_quintiles_split_ties_by_rank_into_equal_fifths() -> None:
    scores = quintile_scores(pd.Series([5.0] * 10))
    assert scores.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_scores_and_cells_on_hand_made_customers() -> None:
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(10)],
            # c0/c1 recent and frequent; c8/c9 long gone and rare; c9 never ordered
            "recency_days": [1, 2, 30, 40, 60, 90, 200, 300, 700, None],
            "frequency": [40, 30, 9, 8, 5, 4, 3, 2, 1, 0],
            "monetary": [9000.0, 7000, 900, 800, 500, 400, 300, 200, 50, 0],
        }
    )
    scored = rfm_scores(customers).set_index("customer_id")
    assert scored.loc["c0", ["recency_score", "frequency_score", "monetary_score"]].tolist() == [
        5,
        5,
        5,
    ]
    assert scored.loc["c9", "recency_score"] == 1  # never ordered ranks as least recent
    assert scored.loc["c0", "rfm_segment"] == "Champions"
    assert scored.loc["c9", "rfm_segment"] == "Hibernating"
    assert scored.loc["c0", "rfm_code"] == "555"
    assert scored["recency_score"].value_counts().tolist() == [2] * 5
