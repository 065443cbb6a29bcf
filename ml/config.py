"""Every segmentation setting, with its default, in one place.

Override any of them with a YAML file named by SEG_SEGMENTATION_CONFIG, for example:

    k_range: [3, 9]
    algorithms: [kmeans, gmm]
    pca_variance: 0.9
"""

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

ALGORITHMS: tuple[str, ...] = ("kmeans", "gmm", "ward", "hdbscan")


@dataclass(frozen=True)
class SegmentationConfig:
    # Which columns go in. None means every numeric column that is not an id, profiling-only or
    # excluded.
    features: tuple[str, ...] | None = None
    profile_only: tuple[str, ...] = ("age_band", "gender", "country")
    """Demographics kept for profiling and fairness audits, never used to form segments."""
    excluded_features: tuple[str, ...] = (
        "spend_trend",
        "q4_exposure_share",
        "sessions",
        "campaigns_received",
        "emails_received",
        "campaign_clicks",
    )
    """Kept in customer_features for SQL users but left out of the model. spend_trend compares two
    90-day windows; for the many customers with a few orders a quarter it is close to +-1 by
    chance, and clustering on it split real segments in two. The others are the evidence rates
    are weighted by (rate_opportunities, rate_expectations), not behaviour of their own."""
    categorical_features: tuple[str, ...] = ()
    """Low-cardinality text columns to one-hot encode into the model (none by default)."""
    log_features: tuple[str, ...] = (
        "recency_days",
        "frequency",
        "monetary",
        "avg_order_value",
        "tenure_days",
        "orders_last_90d",
        "sessions_90d",
        "avg_session_seconds",
        "pages_per_session",
        "likes",
        "shares",
        "comments",
        "mentions",
    )
    """Heavy-tailed money and count features, compressed with a signed log1p before scaling."""

    # Preprocessing.
    rate_opportunities: tuple[tuple[str, str], ...] = (
        ("q4_order_share", "frequency"),
        ("weekend_order_share", "frequency"),
        ("return_rate", "frequency"),
        ("discount_share", "frequency"),
        ("category_share_*", "frequency"),
        ("bounce_rate", "sessions"),
        ("site_conversion_rate", "sessions"),
        ("email_open_rate", "emails_received"),
        ("click_through_rate", "campaigns_received"),
        ("campaign_conversion_rate", "campaign_clicks"),
    )
    """Rate -> the column counting the opportunities it was observed over. Each rate is weighted
    by that evidence (ml/credibility.py): one order cannot make a weekend shopper. A rate may be
    a pattern (`category_share_*`). In YAML, a mapping: `rate_opportunities:
    {weekend_order_share: frequency}` (replaces the whole list)."""
    rate_expectations: tuple[tuple[str, str], ...] = (("q4_order_share", "q4_exposure_share"),)
    """Rate -> a column holding the rate each customer would show without any preference; others
    expect the population's pooled rate. The Q4 order share is compared with the share of the
    customer's own days that fell in the fourth quarter, so neither the as-of date's place in the
    calendar nor a short tenure makes a gift buyer."""
    correlation_threshold: float = 0.95
    """Of two columns correlated beyond this (absolute), the later one is dropped and reported."""
    clip_sigmas: float = 4.0
    """Scaled values are clipped to +-this, so a few extreme customers cannot claim a cluster of
    their own (ml/scaling.py)."""
    max_clipped_share: float = 0.01
    """At most this share of customers reaches the clip on any column: the scale widens until
    the tail quantiles fall inside it."""
    pca_variance: float | None = 0.9
    """Keep this share of variance with PCA before clustering (None keeps every column): the
    discarded tail is mostly per-customer noise, and dropping it makes the scores sharper."""

    # Model search.
    algorithms: tuple[str, ...] = ALGORITHMS
    k_range: tuple[int, int] = (2, 12)
    min_segment_share: float = 0.03
    """Candidates with a segment smaller than this share of customers are rejected."""
    min_stability: float = 0.9
    """Candidates whose bootstrap stability (mean ARI over refits) is below this are rejected;
    the search then takes the most segments that remain, so this is what "reproduces reliably"
    means."""
    keep_previous_model: bool = True
    """On a refresh, keep the previous model's segments as they are (its assigner places this
    run's customers) while its algorithm and parameters, refitted on this data, still pass the
    share and stability gates and each kept segment holds min_segment_share. Customers then move
    only when their own behaviour crosses a segment's border, not because a refit nudged the
    borders. False lets every refresh fit and choose afresh."""
    challenger_margin: float = 0.05
    """Previous segments that pass the gates are replaced by a candidate with more segments only
    when it keeps each of them (min_identity_overlap) and its stability exceeds min_stability by
    this much: a finer re-cut, or a split that only just reproduces, does not move everyone."""
    stability_resamples: int = 5
    silhouette_sample: int = 5_000
    search_sample: int = 20_000
    """Candidates are fitted and scored on a sample this large; the chosen one is then refitted
    on the training sample. Keeps the search's cost flat as customers grow."""
    costly_fit_sample: int = 5_000
    """The GaussianMixture (and its BIC sweep over k), Ward and HDBSCAN are fitted on a sample
    this large and extended to everyone (the mixture by its own predict, the others by nearest
    centroid)."""
    train_sample: int = 200_000
    """Training fits on a sample this large; scoring always covers every customer."""

    # Explanation and identity.
    tree_max_depth: int = 8
    """Depth of the explaining tree: deep enough to separate every segment (CV F1), shallow
    enough that each rule stays a handful of conditions."""
    cv_folds: int = 5
    cv_sample: int = 20_000
    """Cross-validation uses at most this many training customers: enough for per-segment F1
    within about a point even for a segment of 3 %, and each fold refits both models."""
    importance_sample: int = 5_000
    """Permutation importances use at most this many of them: every shuffle re-predicts with
    the assigner, preprocessing included, and the ranking is settled well before the sample gets
    large."""
    min_name_effect: float = 0.5
    """A word enters a segment's name only when the segment's mean differs from everyone's by at
    least this many standard deviations (standardised effect) and its median lies beyond the
    population's quartile on that side; otherwise the segment is "Typical customers"."""
    min_segment_separation: float = 0.5
    """Candidates with two segments whose centres are closer than this many standard deviations
    on every model dimension are rejected: they are one group cut in two."""
    membership_refits: int = 20
    """Refits on bootstrap resamples behind the membership probability: half estimate it, half
    check its calibration (ml/membership.py)."""
    min_identity_overlap: float = 0.5
    """A new cluster keeps a previous segment's id when at least this share (Jaccard) of the
    two memberships overlap; otherwise it is a new segment with a new id."""
    random_state: int = 42

    # Predictive validity (ml/backtest.py).
    backtest_horizon_days: int = 90
    """The backtest trains on the features as of this many days before the as-of date and
    measures how much of the customers' behaviour since then their segments explain."""

    # Fairness audit (ml/fairness.py).
    protected_attributes: tuple[str, ...] = ("age_band", "gender", "country")
    """customer_features columns audited: a segment's membership against each group's share."""
    fairness_alpha: float = 0.05
    """Family-wise significance level of the audit's flags (Bonferroni over every row)."""
    fairness_min_group_customers: int = 30
    """Groups smaller than this are reported, never flagged: their ratios swing by chance."""

    # Drift, measured on every refresh against the scoring model's training snapshot.
    drift_psi_threshold: float = 0.25
    """A feature whose population stability index exceeds this triggers a retrain (0.25 is the
    customary line for a significant shift; under 0.1 counts as stable)."""
    drift_segment_share_threshold: float = 0.05
    """A segment whose share of customers moved more than this (absolute, 0.05 = 5 points) from
    its share at training triggers a retrain."""

    @classmethod
    def from_mapping(cls, overrides: Mapping[str, Any], source: str) -> "SegmentationConfig":
        """Defaults with `overrides` applied; unknown names are an error naming `source`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(
                f"{source}: unknown segmentation setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        sequences = {
            name: tuple(value) for name, value in overrides.items() if isinstance(value, list)
        }
        pairs = {
            name: tuple((str(key), str(item)) for key, item in value.items())
            for name, value in overrides.items()
            if isinstance(value, Mapping)
        }
        config = replace(cls(), **{**overrides, **sequences, **pairs})
        config.validate(source)
        return config

    def validate(self, source: str = "segmentation config") -> None:
        low, high = self.k_range
        if not 2 <= low <= high:
            raise ValueError(f"{source}: k_range must be [low, high] with 2 <= low <= high")
        unknown = sorted(set(self.algorithms) - set(ALGORITHMS))
        if unknown or not self.algorithms:
            raise ValueError(
                f"{source}: algorithms must be some of {', '.join(ALGORITHMS)}, got {unknown}"
            )
        if self.pca_variance is not None and not 0 < self.pca_variance <= 1:
            raise ValueError(f"{source}: pca_variance must be in (0, 1]")
        if not 0 <= self.max_clipped_share < 1 or self.clip_sigmas <= 0:
            raise ValueError(f"{source}: clip_sigmas must be > 0 and max_clipped_share in [0, 1)")
        for name in ("rate_opportunities", "rate_expectations"):
            pairs = getattr(self, name)
            if not all(isinstance(pair, tuple) and len(pair) == 2 for pair in pairs):
                raise ValueError(f"{source}: {name} must map a rate to a column name")
        if self.backtest_horizon_days < 1:
            raise ValueError(f"{source}: backtest_horizon_days must be at least 1")
        if self.membership_refits < 4:
            raise ValueError(f"{source}: membership_refits must be at least 4")
