"""Segment profiles (per-feature mean and lift against all customers), names and descriptions.

A name comes from the features on which a segment differs most from everyone, read through a
small lexicon of feature phrases; so names follow the data, not a fixed list of personas. A
phrase enters a name only with evidence (`name_evidence`): the segment's mean differs from
everyone's by at least `min_effect` standard deviations, and its median lies beyond the
population's quartile on that side (at or above the 75th percentile, at or below the 25th, ties
counted half). Features missing from the lexicon get a generic "High x" / "Low x".
"""

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

# feature -> (phrase when the segment is high on it, phrase when low). None: not worth naming.
LEXICON: dict[str, tuple[str | None, str | None]] = {
    "monetary": ("High-value", "Low-spend"),
    "avg_order_value": ("Big-basket", "Small-basket"),
    "frequency": ("Frequent buyers", "Rare buyers"),
    "orders_last_90d": ("Recently active", None),
    "recency_days": ("Lapsed", "Recent buyers"),
    "tenure_days": ("Long-standing", "New"),
    "discount_share": ("Discount hunters", None),
    "return_rate": ("Frequent returners", None),
    "q4_order_share": ("Seasonal gift buyers", None),
    "weekend_order_share": ("Weekend shoppers", None),
    "spend_trend": ("Growing", "Declining"),
    "sessions_90d": ("Frequent visitors", None),
    "bounce_rate": ("Window shoppers", None),
    "pages_per_session": ("Browsers", None),
    "site_conversion_rate": ("Converting visitors", "Window shoppers"),
    "email_open_rate": ("Email-engaged", "Email-dormant"),
    "click_through_rate": ("Campaign clickers", None),
    "campaign_conversion_rate": ("Campaign converters", None),
    "likes": ("Social fans", None),
    "shares": ("Social advocates", None),
    "comments": ("Social commenters", None),
    "mentions": ("Social advocates", None),
    "avg_sentiment": ("Happy", "Unhappy"),
}
CATEGORY_PREFIX = "category_share_"
NAME_PHRASES = 2
DESCRIPTION_FEATURES = 4
TYPICAL = "Typical customers"
QUARTILE = 0.25


@dataclass(frozen=True)
class NameEvidence:
    """Why a phrase is in a segment's name."""

    phrase: str
    feature: str
    effect: float  # (segment mean - everyone's mean) / everyone's standard deviation
    segment_median: float
    population_percentile: float  # where the segment's median falls among everyone (mid-rank)

    def as_dict(self) -> dict[str, object]:
        return {key: _rounded(value) for key, value in asdict(self).items()}


def _rounded(value: object) -> object:
    return round(value, 4) if isinstance(value, float) else value


def profile_table(features: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """One row per segment: customers, share, and every feature's mean and lift (mean / overall
    mean; null where the overall mean is 0)."""
    numeric = features.select_dtypes("number")
    overall = numeric.mean()
    means = numeric.groupby(labels.to_numpy()).mean()
    lifts = means / overall.replace(0, np.nan)
    sizes = labels.value_counts().sort_index()
    table = pd.concat([means.add_prefix("mean_"), lifts.add_prefix("lift_")], axis=1).rename_axis(
        "segment"
    )
    table.insert(0, "customers", sizes.reindex(table.index).to_numpy())
    table.insert(1, "share", table["customers"] / len(labels))
    return table


def standardised_differences(features: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """(segment mean - overall mean) / overall std, per segment and feature."""
    numeric = features.select_dtypes("number")
    spread = numeric.std().replace(0, np.nan)
    return (numeric.groupby(labels.to_numpy()).mean() - numeric.mean()) / spread


def _phrase(feature: str, high: bool) -> str | None:
    if feature.startswith(CATEGORY_PREFIX):
        category = feature.removeprefix(CATEGORY_PREFIX).replace("_", " ")
        return f"{category.capitalize()} lovers" if high else None
    if feature in LEXICON:
        return LEXICON[feature][0 if high else 1]
    return f"{'High' if high else 'Low'} {feature.replace('_', ' ')}"


def _percentile(population: np.ndarray, value: float) -> float:
    """Mid-rank percentile of `value` among `population`: share below plus half the share equal."""
    below = np.searchsorted(population, value, side="left")
    equal = np.searchsorted(population, value, side="right") - below
    return float((below + equal / 2) / len(population))


def name_evidence(
    features: pd.DataFrame, labels: pd.Series, min_effect: float
) -> dict[object, list[NameEvidence]]:
    """Per segment, every phrase its data supports, strongest effect first (see the module
    docstring). `features` are in their own units (rates evidence-weighted), `labels` aligned."""
    numeric = features.select_dtypes("number").astype(float)  # nullable ints: NaN, not NA
    differences = standardised_differences(numeric, labels)
    sorted_values = {name: np.sort(numeric[name].dropna().to_numpy()) for name in numeric}
    medians = numeric.groupby(labels.to_numpy()).median()
    supported: dict[object, list[NameEvidence]] = {}
    for segment, row in differences.iterrows():
        found: list[NameEvidence] = []
        for feature in row.abs().sort_values(ascending=False).index:
            effect, median = row[feature], medians.loc[segment, feature]
            if not abs(effect) >= min_effect or pd.isna(median) or not len(sorted_values[feature]):
                continue
            percentile = _percentile(sorted_values[feature], median)
            beyond = percentile >= 1 - QUARTILE if effect > 0 else percentile <= QUARTILE
            phrase = _phrase(feature, effect > 0)
            if beyond and phrase and phrase not in [item.phrase for item in found]:
                found.append(
                    NameEvidence(phrase, feature, float(effect), float(median), percentile)
                )
        supported[segment] = found
    return supported


def segment_names(evidence: dict[object, list[NameEvidence]]) -> dict[object, str]:
    """A short, unique name per segment from its best-supported phrases."""
    candidates = {
        segment: [item.phrase for item in items] or [TYPICAL] for segment, items in evidence.items()
    }
    names: dict[object, str] = {}
    for segment, phrases in candidates.items():
        name = _join(phrases[:NAME_PHRASES])
        extra = NAME_PHRASES
        while name in names.values() and extra < len(phrases):
            name = _join([*phrases[: NAME_PHRASES - 1], phrases[extra]])
            extra += 1
        if name in names.values():
            name = f"{name} {len(names) + 1}"
        names[segment] = name
    return names


def _join(phrases: list[str]) -> str:
    first, *rest = phrases
    return ", ".join([first, *(phrase.lower() for phrase in rest)])


def name_phrases(name: str) -> list[str]:
    """The phrases a name was joined from, lower case, without a disambiguating number."""
    base = name.rstrip("0123456789").rstrip() if name[-1:].isdigit() else name
    return [phrase.strip().lower() for phrase in base.split(",")]


def describe_segment(profile: pd.Series, differences: pd.Series, rule: str | None) -> str:
    """Plain language: the features where the segment stands out most, and its rule. No
    counts: segment_profiles holds the size of the published segment."""
    lines = []
    standouts = differences.abs().sort_values(ascending=False).index[:DESCRIPTION_FEATURES]
    comparisons = []
    for feature in standouts:
        mean, lift = profile[f"mean_{feature}"], profile[f"lift_{feature}"]
        relation = f"{lift:.1f}x the average" if pd.notna(lift) else "vs an average of 0"
        comparisons.append(f"{feature} {mean:,.3g} ({relation})")
    lines.append("Stands out on " + "; ".join(comparisons) + ".")
    if rule:
        lines.append(f"Typical rule: {rule}.")
    return " ".join(lines)
