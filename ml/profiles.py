"""Segment profiles (per-feature mean and lift against all customers), names and descriptions.

A name comes from the features on which a segment differs most from everyone (standardised mean
difference), read through a small lexicon of feature phrases; so names follow the data, not a
fixed list of personas. Features missing from the lexicon get a generic "High x" / "Low x".
"""

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


def segment_names(differences: pd.DataFrame) -> dict[object, str]:
    """A short, unique name per segment from its most distinctive features."""
    candidates: dict[object, list[str]] = {}
    for segment, row in differences.iterrows():
        phrases: list[str] = []
        for feature in row.abs().sort_values(ascending=False).index:
            phrase = _phrase(feature, row[feature] > 0)
            if phrase and phrase not in phrases:
                phrases.append(phrase)
        candidates[segment] = phrases or ["Typical customers"]
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


def describe_segment(profile: pd.Series, differences: pd.Series, rule: str | None) -> str:
    """Plain language: size, the features where the segment stands out most, and its rule."""
    lines = [f"{profile['share']:.1%} of customers ({int(profile['customers']):,})."]
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
