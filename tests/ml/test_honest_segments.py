"""Segments that mean what they say, on hand-made data: a single order's weekday or quarter does
not make a segment or a name; scaling bounds its clip and scales every column; names carry their
evidence; the membership probability is calibrated and is low where there is no structure."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from ml.backtest import backtest, eta_squared
from ml.config import SegmentationConfig
from ml.credibility import CredibilityWeighting
from ml.profiles import name_evidence
from ml.scaling import BoundedScaler
from ml.train import PreviousRun, train

VERSION = "20260101T000000-aaaaaaaa"
QUICK = SegmentationConfig(
    algorithms=("kmeans",), k_range=(2, 6), cv_folds=2, importance_sample=300
)


def _customers(rng: np.random.Generator, count: int, orders: np.ndarray) -> pd.DataFrame:
    """Customers with real differences in spend and recency, whose weekday and quarter of
    ordering carry no habit at all: each order falls on a weekend with probability 2/7 and in
    the fourth quarter with the probability of their own exposure (a quarter of the year)."""
    spender = rng.random(count) < 0.4
    monetary = np.where(spender, rng.lognormal(6, 0.3, count), rng.lognormal(4, 0.3, count))
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(count)],
            "frequency": orders,
            "monetary": monetary,
            "recency_days": np.where(
                spender, rng.integers(1, 60, count), rng.integers(200, 400, count)
            ),
            "weekend_order_share": rng.binomial(orders, 2 / 7) / orders,
            "q4_order_share": rng.binomial(orders, 0.25) / orders,
            "q4_exposure_share": np.full(count, 0.25),
        }
    )


@pytest.fixture(scope="module")
def one_order_customers() -> pd.DataFrame:
    """Half the customers bought once (as in CDNOW), the others 2 to 12 times."""
    rng = np.random.default_rng(5)
    count = 3_000
    orders = np.where(rng.random(count) < 0.5, 1, rng.integers(2, 13, count))
    return _customers(rng, count, orders)


def test_the_weekday_or_quarter_of_one_order_places_no_one_in_a_segment(
    one_order_customers: pd.DataFrame,
) -> None:
    report = train(one_order_customers, QUICK, VERSION)
    segments = report.labels.to_numpy()
    one_order = one_order_customers["frequency"].to_numpy() == 1
    for rate in ("weekend_order_share", "q4_order_share"):
        # Among one-order customers, those whose order fell on a weekend (in Q4) are spread over
        # the segments like those whose order did not.
        hit = one_order & (one_order_customers[rate].to_numpy() == 1)
        miss = one_order & (one_order_customers[rate].to_numpy() == 0)
        by_hit = pd.Series(segments[hit]).value_counts(normalize=True)
        by_miss = pd.Series(segments[miss]).value_counts(normalize=True)
        gap = by_hit.subtract(by_miss, fill_value=0).abs().max()
        assert gap < 0.1, (rate, by_hit.to_dict(), by_miss.to_dict())
    words = " ".join(segment.name for segment in report.model.segments.values()).lower()
    assert "weekend" not in words and "seasonal" not in words


def test_a_single_order_counts_for_little_and_many_orders_for_much() -> None:
    frame = pd.DataFrame(
        {
            "weekend_order_share": [1.0, 1.0, 0.0, 0.5, None],
            "frequency": [1, 40, 1, 10, 0],
        }
    )
    rng = np.random.default_rng(0)
    orders = rng.integers(1, 20, 5_000)
    habit = rng.beta(2, 5, 5_000)  # a real, spread-out weekend habit
    population = pd.DataFrame(
        {"weekend_order_share": rng.binomial(orders, habit) / orders, "frequency": orders}
    )
    weighting = CredibilityWeighting({"weekend_order_share": "frequency"}).fit(population)
    pooled = weighting.prior_rate_["weekend_order_share"]
    weighted = weighting.weighted(frame)["weekend_order_share"].to_numpy()
    assert weighted[0] - pooled < 0.5 * (weighted[1] - pooled)  # 1 order << 40 orders
    assert weighted[1] > 0.85
    assert weighted[4] == pytest.approx(pooled)  # no orders: the population's rate

    pure_chance = pd.DataFrame(
        {"weekend_order_share": rng.binomial(orders, 2 / 7) / orders, "frequency": orders}
    )
    noise = CredibilityWeighting({"weekend_order_share": "frequency"}).fit(pure_chance)
    assert noise.prior_strength_["weekend_order_share"] > 100  # no habit to find
    assert noise.weighted(pure_chance)["weekend_order_share"].std() < 0.02


def test_an_expected_rate_removes_the_calendar_from_the_q4_share() -> None:
    """A customer first seen in November has only Q4 days: all their orders in Q4 is what no
    preference at all would give."""
    frame = pd.DataFrame(
        {
            "q4_order_share": [1.0, 1.0, 0.25, 0.0],
            "frequency": [3, 3, 4, 4],
            "q4_exposure_share": [1.0, 0.25, 0.25, 0.25],
        }
    )
    rng = np.random.default_rng(1)
    orders = rng.integers(1, 10, 4_000)
    gift = rng.random(4_000) < 0.2
    population = pd.DataFrame(
        {
            "q4_order_share": rng.binomial(orders, np.where(gift, 0.8, 0.25)) / orders,
            "frequency": orders,
            "q4_exposure_share": np.full(4_000, 0.25),
        }
    )
    weighting = CredibilityWeighting(
        {"q4_order_share": "frequency"}, {"q4_order_share": "q4_exposure_share"}
    ).fit(population)
    new_in_november, gift_buyer, typical, _ = weighting.weighted(frame)["q4_order_share"]
    assert new_in_november == pytest.approx(typical, abs=0.01)
    assert gift_buyer > typical + 0.2


def test_scaling_clips_few_customers_and_scales_every_column() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            # Most customers near zero, a long tail: the IQR alone clipped a sixth of them.
            "discount_share": np.where(rng.random(10_000) < 0.7, 0.0, rng.beta(1, 3, 10_000)),
            # Zero IQR: a tenth of customers differ.
            "mentions": (rng.random(10_000) < 0.1) * rng.integers(1, 5, 10_000),
            "monetary": rng.lognormal(4, 1, 10_000),
        }
    )
    scaler = BoundedScaler(clip=4.0, max_clipped_share=0.01).fit(frame)
    assert (scaler.clipped_share(frame) <= 0.01).all()
    scaled = scaler.transform(frame)
    assert scaled["mentions"].std() > 0.5  # not left in raw units, where it weighed little
    assert (scaled.abs().max() <= 4.0).all()


def test_names_carry_their_effect_and_a_segment_without_one_is_typical() -> None:
    rng = np.random.default_rng(3)
    matrix, _ = make_blobs(3_000, centers=[[0, 0], [6, 0], [0, 6]], random_state=3)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(3_000)],
            "monetary": np.exp(4 + matrix[:, 0] / 3),
            "recency_days": 30 + 40 * np.abs(matrix[:, 1]),
            "likes": rng.poisson(1, 3_000),  # no segment differs on it
        }
    )
    report = train(frame, QUICK, VERSION)
    for segment in report.model.segments.values():
        if segment.name.startswith("Typical customers"):
            assert segment.name_evidence == []
            continue
        assert segment.name_evidence, segment.name
        for evidence in segment.name_evidence:
            assert abs(evidence["effect"]) >= QUICK.min_name_effect
            assert evidence["feature"] != "likes"
    assert not any("social" in s.name.lower() for s in report.model.segments.values())


def test_membership_probability_is_calibrated_and_low_without_structure() -> None:
    columns = ["monetary", "frequency", "recency_days", "tenure_days"]

    def frame(matrix: np.ndarray) -> pd.DataFrame:
        out = pd.DataFrame(matrix, columns=columns)
        out.insert(0, "customer_id", [f"c{i:05d}" for i in range(len(out))])
        return out

    blobs, _ = make_blobs(4_000, centers=4, n_features=4, cluster_std=1.0, random_state=4)
    structured = train(frame(blobs), QUICK, VERSION)
    noise_config = SegmentationConfig(
        **{**vars(QUICK), "min_stability": 0.0, "min_segment_separation": 0.0}
    )
    noise = train(frame(np.random.default_rng(4).normal(size=(4_000, 4))), noise_config, VERSION)

    for report in (structured, noise):
        # Held-out refits: among customers published with probability about p, about p kept
        # their segment.
        assert report.membership.calibration_error < 0.05, report.membership.calibration
    # The assigner reproduces even a partition of noise (fidelity), the probability says it
    # does not hold (quality).
    assert noise.assigner_cv.macro_f1 > 0.9
    assert noise.model.metrics["median_membership_probability"] < 0.8
    assert structured.model.metrics["median_membership_probability"] > 0.95
    assigned = structured.model.assign(frame(blobs))
    assert assigned["membership_probability"].between(0, 1).all()


def test_a_planted_new_segment_is_found_on_the_next_training() -> None:
    """Trained on three groups, then retrained when a fourth, distinct group has appeared: the
    previous model is not kept, and the new group becomes a segment of its own."""
    columns = ["monetary", "frequency", "recency_days"]
    centres = [[0, 0, 0], [8, 8, 0], [0, 8, 8]]
    three, _ = make_blobs(3_000, centers=centres, n_features=3, cluster_std=0.5, random_state=6)
    planted, _ = make_blobs(600, centers=[[8, 0, 8]], n_features=3, cluster_std=0.5, random_state=7)

    def frame(matrix: np.ndarray) -> pd.DataFrame:
        out = pd.DataFrame(np.exp(matrix / 4), columns=columns)
        out.insert(0, "customer_id", [f"c{i:05d}" for i in range(len(out))])
        return out

    first = train(frame(three), QUICK, VERSION)
    assert first.search.chosen.n_segments == 3
    previous = PreviousRun(
        assignments=first.labels,
        names={i: s.name for i, s in first.model.segments.items()},
        next_id=max(first.model.segments) + 1,
        model=first.model,
    )
    second = train(frame(np.vstack([three, planted])), QUICK, VERSION, previous)
    assert not second.search.chosen.previous_model
    newcomers = second.labels.iloc[3_000:]
    assert newcomers.value_counts(normalize=True).iloc[0] > 0.95
    assert newcomers.iloc[0] not in set(second.labels.iloc[:3_000])


def test_eta_squared_is_the_share_of_variance_between_groups() -> None:
    groups = pd.Series(["a", "a", "b", "b"], index=["c1", "c2", "c3", "c4"])
    # Means 1 and 3 around 2: between 4 of total 4 + 2 (within: 1 + 1).
    outcomes = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4"], "purchases": [0, 2, 2, 4]})
    outcomes["spend"] = outcomes["purchases"] * 10.0
    table = backtest({"segments": groups}, outcomes).set_index("measure")
    assert table.loc["purchases", "eta_squared"] == pytest.approx(4 / 8)
    assert table.loc["spend", "eta_squared"] == pytest.approx(4 / 8)
    assert table.loc["any_purchase", "eta_squared"] == pytest.approx(1 / 3)  # 0,1,1,1
    # A customer without a later purchase is missing from the outcomes and counts as zero.
    partial = backtest({"segments": groups}, outcomes.iloc[1:]).set_index("measure")
    assert partial.loc["purchases", "customers"] == 4
    assert eta_squared(groups, pd.Series([5.0] * 4, index=groups.index)) == 0.0


def test_name_evidence_reads_nullable_integer_columns() -> None:
    """customer_features holds counts as nullable integers; a source not provided leaves them NA."""
    frame = pd.DataFrame(
        {
            "frequency": pd.array([1, 1, 1, 9, 9, 9], dtype="Int32"),
            "sessions_90d": pd.array([pd.NA] * 6, dtype="Int32"),
        }
    )
    labels = pd.Series([0, 0, 0, 1, 1, 1])
    evidence = name_evidence(frame, labels, min_effect=0.5)
    assert [item.phrase for item in evidence[1]] == ["Frequent buyers"]
    assert [item.phrase for item in evidence[0]] == ["Rare buyers"]
