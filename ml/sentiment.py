"""Lexicon-based sentiment of short social texts with VADER (its lexicon ships in the package).

VADER was built for social-media language (emoticons, capitals, "!!!"), needs no training data and
no download, and its compound score in [-1, 1] averages cleanly per customer.
"""

from collections.abc import Iterable
from importlib.metadata import version

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

SCORER_NAME = f"vaderSentiment {version('vaderSentiment')} compound"


def compound_scores(texts: Iterable[str]) -> np.ndarray:
    """VADER compound score of each text, from -1 (most negative) to 1 (most positive)."""
    analyzer = SentimentIntensityAnalyzer()
    return np.array([analyzer.polarity_scores(text)["compound"] for text in texts], dtype=float)
