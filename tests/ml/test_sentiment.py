"""Lexicon-based sentiment scores."""

import numpy as np

from ml.sentiment import compound_scores


def test_scores_follow_the_tone_and_stay_in_range() -> None:
    scores = compound_scores(
        [
            "Absolutely love this shop, great quality and super fast delivery!",
            "When is the next delivery window for my area?",
            "Worst customer support ever, still waiting for a refund.",
        ]
    )
    assert scores[0] > 0.5
    assert scores[1] == 0
    assert scores[2] < 0
    assert np.all(np.abs(scores) <= 1)


def test_no_texts_give_no_scores() -> None:
    assert compound_scores([]).shape == (0,)
