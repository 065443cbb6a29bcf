"""Population stability index and segment-share drift on known distributions."""

import numpy as np
import pandas as pd
import pytest

from ml.drift import DriftTally, psi, reference, retrain_reason


@pytest.fixture
def training() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"spend": rng.lognormal(3, 1, 20_000), "visits": rng.poisson(4, 20_000)})
    frame.loc[::10, "visits"] = np.nan
    labels = pd.Series(rng.integers(1, 4, 20_000))
    return frame, labels


def _tally(training: tuple[pd.DataFrame, pd.Series], today: pd.DataFrame, ids: pd.Series):
    frame, labels = training
    tally = DriftTally(reference(frame, ["spend", "visits"], labels))
    for start in range(0, len(today), 3_000):  # in chunks, as scoring reads them
        tally.add(today.iloc[start : start + 3_000], ids.iloc[start : start + 3_000])
    return tally


def test_the_same_population_does_not_drift(training: tuple[pd.DataFrame, pd.Series]) -> None:
    rng = np.random.default_rng(1)
    today = pd.DataFrame({"spend": rng.lognormal(3, 1, 10_000), "visits": rng.poisson(4, 10_000)})
    today.loc[::10, "visits"] = np.nan
    tally = _tally(training, today, pd.Series(rng.integers(1, 4, 10_000)))
    assert tally.feature_psi()["psi"].max() < 0.02
    assert tally.segment_share_changes()["change"].abs().max() < 0.02
    assert retrain_reason(tally.feature_psi(), tally.segment_share_changes(), 0.25, 0.05) == ""


def test_halved_spend_and_a_grown_segment_drift(training: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, _ = training
    today = frame.assign(spend=frame["spend"] / 2)
    ids = pd.Series(np.where(np.arange(len(frame)) % 2 == 0, 1, 2))  # segment 3 vanished
    tally = _tally(training, today, ids)
    psi_by_feature = tally.feature_psi().set_index("feature")["psi"]
    assert psi_by_feature["spend"] > 0.25 > psi_by_feature["visits"]
    changes = tally.segment_share_changes().set_index("segment_id")
    assert changes.loc[3, "share"] == 0 and changes.loc[3, "training_share"] == pytest.approx(
        1 / 3, abs=0.02
    )
    reason = retrain_reason(tally.feature_psi(), tally.segment_share_changes(), 0.25, 0.05)
    assert reason.startswith("feature drift: PSI spend ")
    assert "segment 3 " in reason and "-> 0.0%" in reason


def test_psi_is_zero_for_identical_shares_and_finite_for_empty_bins() -> None:
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0
    assert 0 < psi(np.array([1.0, 0.0]), np.array([0.0, 1.0])) < 20
