"""Fairness audit of a segmentation: does membership of a segment depend on a protected attribute?

For each protected attribute (age band, gender, country by default) and each of its groups, and
each segment taken as the selection of a campaign:

- `share_in_segment` against `share_overall`: the group's share of the segment and of everyone;
  their ratio is `representation_ratio`;
- `selection_rate`: the share of the group's customers in the segment (fairlearn's
  `selection_rate` through a `MetricFrame`), and `selection_rate_ratio`, the group's selection
  rate over everyone else's: the four-fifths rule reads a ratio under 0.8 as adverse impact, and
  above 1.25 (its mirror) as the group being favoured;
- `p_value`: Fisher's exact test of the group against everyone else in and out of the segment;
- per attribute, the chi-square test of independence of segment and group, with Cramér's V, the
  strength of the association (0: none, 1: segment determined by group).

A row is `flagged` when its ratio lies outside [0.8, 1.25], the group has at least
`fairness_min_group_customers` customers, and the difference is significant in two steps (a
hierarchical test): first the attribute's chi-square at `fairness_alpha` over the number of
attributes, then the row's Fisher test at `fairness_alpha` over every row of the audit (a
20,000-customer segmentation has a few hundred rows, and ratios of small groups swing by chance).
A single cell with a small p among hundreds is what independence produces now and then; a real
dependence also shows in the attribute as a whole.

The four-fifths rule is a screening heuristic from US employment practice, not a legal test of
discrimination, and a flag says that a group is over- or under-represented, not why:
docs/privacy.md says what the audit does and does not show.
"""

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, selection_rate
from scipy.stats import chi2_contingency, fisher_exact

from ml.config import SegmentationConfig

LOW_RATIO = 0.8
HIGH_RATIO = 1.25
COLUMNS = (
    "attribute",
    "group",
    "segment_id",
    "customers_in_group",
    "share_in_segment",
    "share_overall",
    "representation_ratio",
    "selection_rate",
    "selection_rate_ratio",
    "p_value",
    "cramers_v",
    "attribute_p_value",
    "flagged",
)
"""The audit's columns, in the order segments.fairness_audit holds them."""


def _cramers_v(table: pd.DataFrame) -> tuple[float, float]:
    """Cramér's V and the chi-square p-value of a segment x group contingency table."""
    if min(table.shape) < 2:
        return 0.0, 1.0
    chi2, p_value, _, _ = chi2_contingency(table.to_numpy())
    total = table.to_numpy().sum()
    return float(np.sqrt(chi2 / (total * (min(table.shape) - 1)))), float(p_value)


def _attribute_rows(segments: pd.Series, groups: pd.Series, attribute: str) -> pd.DataFrame:
    table = pd.crosstab(segments, groups)
    cramers_v, attribute_p = _cramers_v(table)
    total = len(segments)
    rows = []
    for segment in table.index:
        selected = (segments == segment).to_numpy()
        rates = MetricFrame(
            metrics=selection_rate,
            y_true=selected,  # unused by selection_rate; MetricFrame requires it
            y_pred=selected,
            sensitive_features=groups.to_numpy(),
        ).by_group
        in_segment = int(selected.sum())
        for group in table.columns:
            members = int(table.loc[:, group].sum())
            both = int(table.loc[segment, group])
            others_in = in_segment - both
            others = total - members
            rest_rate = others_in / others if others else np.nan
            rate = float(rates[group])
            _, p_value = fisher_exact([[both, members - both], [others_in, others - others_in]])
            rows.append(
                {
                    "attribute": attribute,
                    "group": str(group),
                    "segment_id": int(segment),
                    "customers_in_group": members,
                    "share_in_segment": both / in_segment,
                    "share_overall": members / total,
                    "representation_ratio": (both / in_segment) / (members / total),
                    "selection_rate": rate,
                    "selection_rate_ratio": rate / rest_rate if rest_rate else np.nan,
                    "p_value": float(p_value),
                    "cramers_v": cramers_v,
                    "attribute_p_value": attribute_p,
                }
            )
    return pd.DataFrame(rows)


def audit(
    segments: pd.Series, demographics: pd.DataFrame, config: SegmentationConfig
) -> pd.DataFrame:
    """One row per protected attribute, group and segment (see the module docstring).
    `segments` maps customer id -> segment id; `demographics` has customer_id and the attributes
    (missing values count as the group "unknown")."""
    frame = demographics.set_index("customer_id").reindex(segments.index)
    parts = [
        _attribute_rows(
            segments, frame[attribute].astype(object).fillna("unknown").astype(str), attribute
        )
        for attribute in config.protected_attributes
        if attribute in frame.columns
    ]
    if not parts:
        return pd.DataFrame(columns=list(COLUMNS))
    table = pd.concat(parts, ignore_index=True)
    attribute_threshold = config.fairness_alpha / len(parts)
    threshold = config.fairness_alpha / len(table)
    outside = (table["selection_rate_ratio"] < LOW_RATIO) | (
        table["selection_rate_ratio"] > HIGH_RATIO
    )
    table["flagged"] = (
        outside
        & (table["attribute_p_value"] < attribute_threshold)
        & (table["p_value"] < threshold)
        & (table["customers_in_group"] >= config.fairness_min_group_customers)
    )
    return table[list(COLUMNS)]
