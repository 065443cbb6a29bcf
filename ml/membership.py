"""Membership probability: how likely a customer keeps their segment when the segmentation is
refitted on another sample of the same customers.

The assigner's own probability says how surely it reproduces the clusters' partition of the
clustering space; it is near 1 almost everywhere, even on Gaussian noise without any structure
(assignment fidelity, not uncertainty). Here the chosen candidate (algorithm and parameters) is
refitted on bootstrap resamples of the training customers; each refit's clusters are matched to
the model's segments (Hungarian, on overlap), and a customer "keeps" their segment in a refit
when the matched cluster is theirs. The keep frequency over half the refits is regressed
isotonically on the assigner's margin (log of its top probability over the runner-up's), which
every customer has, new ones included: the published probability. The other half of the refits,
never used to fit it, measure its calibration: among customers published with probability about
p, the share that kept their segment.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.isotonic import IsotonicRegression

from ml.candidates import CandidateFitter, sample_positions

CALIBRATION_BINS = 10
SMALLEST_PROBABILITY = 1e-12


def margin(probabilities: np.ndarray) -> np.ndarray:
    """log(top probability / second probability) per row: how far inside its segment's border a
    customer lies, in the assigner's terms."""
    if probabilities.shape[1] < 2:
        return np.full(len(probabilities), -np.log(SMALLEST_PROBABILITY))
    top_two = np.sort(probabilities, axis=1)[:, -2:]
    floor = np.maximum(top_two, SMALLEST_PROBABILITY)
    return np.log(floor[:, 1]) - np.log(floor[:, 0])


@dataclass(frozen=True)
class Membership:
    model: IsotonicRegression  # assigner margin -> probability of keeping the segment
    calibration: pd.DataFrame  # bin, customers, mean_probability, kept_share
    calibration_error: float  # customer-weighted mean |mean_probability - kept_share|
    refits: int


def _kept(reference: np.ndarray, refit: np.ndarray) -> np.ndarray:
    """Per row, whether the refit's cluster, matched one-to-one to the reference segments by
    overlap, is the row's reference segment."""
    segments, reference_codes = np.unique(reference, return_inverse=True)
    clusters, refit_codes = np.unique(refit, return_inverse=True)
    overlap = np.zeros((len(segments), len(clusters)))
    np.add.at(overlap, (reference_codes, refit_codes), 1)
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    matched = np.full(len(clusters), -1)
    matched[cols] = rows
    return matched[refit_codes] == reference_codes


def keep_indicators(
    fitter: CandidateFitter,
    algorithm: str,
    params: dict,
    matrix: np.ndarray,
    labels: np.ndarray,
    seeds: list[int],
) -> np.ndarray:
    """rows x refits: whether each row kept its segment in a refit on a bootstrap resample."""
    columns = []
    for seed in seeds:
        rows = sample_positions(len(matrix), len(matrix), seed, replace=True)
        refit = fitter.fit(algorithm, params, matrix[rows], seed)
        columns.append(_kept(labels, refit(matrix)))
    return np.column_stack(columns)


def calibration_table(probability: np.ndarray, kept: np.ndarray) -> pd.DataFrame:
    """Customers in ten equal-width probability bins: their mean published probability and the
    share of (customer, refit) pairs in which they kept their segment."""
    bins = np.minimum((probability * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    frame = pd.DataFrame({"bin": bins, "probability": probability, "kept": kept.mean(axis=1)})
    table = frame.groupby("bin").agg(
        customers=("probability", "size"),
        mean_probability=("probability", "mean"),
        kept_share=("kept", "mean"),
    )
    table.index = [
        f"{low / CALIBRATION_BINS:.1f}-{(low + 1) / CALIBRATION_BINS:.1f}" for low in table.index
    ]
    return table.rename_axis("probability_bin").reset_index()


def fit_membership(
    fitter: CandidateFitter,
    algorithm: str,
    params: dict,
    matrix: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
) -> Membership:
    """Refits on resamples of `matrix` (rows in clustering space, `labels` their segments,
    `probabilities` the assigner's), half to fit the probability and half to check it."""
    config = fitter.config
    refits = config.membership_refits
    seeds = [config.random_state + 1_000 + refit for refit in range(refits)]
    kept = keep_indicators(fitter, algorithm, params, matrix, labels, seeds)
    estimate, check = kept[:, : refits // 2], kept[:, refits // 2 :]
    margins = margin(probabilities)
    model = IsotonicRegression(y_min=0, y_max=1, increasing=True, out_of_bounds="clip")
    model.fit(margins, estimate.mean(axis=1))
    published = model.predict(margins)
    table = calibration_table(published, check)
    error = float(
        np.average(
            (table["mean_probability"] - table["kept_share"]).abs(), weights=table["customers"]
        )
    )
    return Membership(model, table, error, refits)


def membership_probability(
    model: IsotonicRegression | None, probabilities: np.ndarray
) -> np.ndarray:
    """The published probability for rows of assigner probabilities (NaN without a model: one
    saved before membership probabilities existed)."""
    if model is None:
        return np.full(len(probabilities), np.nan)
    return model.predict(margin(probabilities))
