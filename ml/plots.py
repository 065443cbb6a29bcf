"""Plots for the model report, as PNG bytes: k-selection curves, a 2-D PCA map, segment sizes."""

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

SCATTER_POINTS = 5_000


def to_png(figure: Figure) -> bytes:
    """Figures are built without pyplot: no global state, no GUI backend."""
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def k_selection_curves(candidates: pd.DataFrame) -> bytes:
    """Each score against the number of segments, one line per algorithm; a 2 x 2 grid, 640 px
    wide, so the figure fits the Dagster UI's metadata dialog unscaled."""
    scores = ["silhouette", "calinski_harabasz", "davies_bouldin", "stability"]
    figure = Figure(figsize=(8, 6))
    axes = figure.subplots(2, 2).ravel()
    for axis, score in zip(axes, scores, strict=True):
        for algorithm, rows in candidates.groupby("algorithm"):
            rows = rows.dropna(subset=[score]).sort_values("segments")
            axis.plot(rows["segments"], rows[score], marker="o", label=algorithm)
        axis.set_title(
            score.replace("_", " ") + (" (lower is better)" if score == "davies_bouldin" else "")
        )
        axis.set_xlabel("segments")
    axes[0].legend()
    return to_png(figure)


def segment_map(matrix: np.ndarray, labels: np.ndarray, names: dict[int, str], seed: int) -> bytes:
    """The training customers on their first two principal components, coloured by segment."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(matrix), size=min(SCATTER_POINTS, len(matrix)), replace=False)
    points = PCA(n_components=2, random_state=seed).fit_transform(matrix[rows])
    figure = Figure(figsize=(7, 5))
    axis = figure.subplots()
    for segment_id in np.unique(labels):
        mask = labels[rows] == segment_id
        axis.scatter(*points[mask].T, s=4, alpha=0.6, label=names.get(int(segment_id), segment_id))
    axis.set_xlabel("PC 1")
    axis.set_ylabel("PC 2")
    axis.legend(markerscale=3, fontsize=7)
    return to_png(figure)


def segment_sizes(sizes: pd.Series) -> bytes:
    """Customers per segment (index: segment name)."""
    figure = Figure(figsize=(7, 0.4 * len(sizes) + 1))
    axis = figure.subplots()
    sizes.sort_values().plot.barh(ax=axis)
    axis.set_xlabel("customers")
    return to_png(figure)


def membership_calibration(table: pd.DataFrame) -> bytes:
    """Published membership probability against the share of customers who kept their segment
    in held-out refits, per probability bin; the diagonal is perfect calibration."""
    figure = Figure(figsize=(5, 4.5))
    axis = figure.subplots()
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--", label="calibrated")
    axis.scatter(
        table["mean_probability"],
        table["kept_share"],
        s=20 + 200 * table["customers"] / table["customers"].sum(),
        label="probability bins (size: customers)",
    )
    axis.set_xlabel("published membership probability")
    axis.set_ylabel("share that kept its segment in held-out refits")
    axis.set_xlim(0, 1.02)
    axis.set_ylim(0, 1.02)
    axis.legend(loc="upper left", fontsize=8)
    return to_png(figure)


def backtest_bars(table: pd.DataFrame) -> bytes:
    """Eta squared of each later-behaviour measure, segments beside the RFM cells."""
    wide = table.pivot(index="measure", columns="grouping", values="eta_squared")
    figure = Figure(figsize=(6, 4))
    axis = figure.subplots()
    positions = np.arange(len(wide))
    width = 0.8 / max(len(wide.columns), 1)
    for offset, grouping in enumerate(wide.columns):
        axis.bar(positions + offset * width, wide[grouping], width, label=grouping)
    axis.set_xticks(positions + width * (len(wide.columns) - 1) / 2, wide.index)
    axis.set_ylabel("share of variance explained (eta squared)")
    axis.set_title("later behaviour explained by the groups")
    axis.legend()
    return to_png(figure)


def fairness_ratios(table: pd.DataFrame) -> bytes:
    """Per protected attribute, each group's selection-rate ratio in each segment (log colour
    scale centred on 1); flagged cells are marked with a cross."""
    attributes = list(dict.fromkeys(table["attribute"]))
    figure = Figure(figsize=(8, 2.2 + 1.6 * len(attributes)))
    axes = np.atleast_1d(figure.subplots(len(attributes), 1))
    for axis, attribute in zip(axes, attributes, strict=True):
        rows = table[table["attribute"] == attribute]
        ratios = rows.pivot(index="group", columns="segment_id", values="selection_rate_ratio")
        flagged = rows.pivot(index="group", columns="segment_id", values="flagged")
        image = axis.imshow(
            np.log2(ratios.clip(lower=1 / 8, upper=8).to_numpy(dtype=float)),
            cmap="coolwarm",
            vmin=-2,
            vmax=2,
            aspect="auto",
        )
        axis.set_yticks(range(len(ratios.index)), ratios.index, fontsize=7)
        axis.set_xticks(range(len(ratios.columns)), ratios.columns, fontsize=7)
        axis.set_title(f"{attribute}: selection-rate ratio (log2, blue < 1 < red)", fontsize=9)
        for y, x in zip(*np.nonzero(flagged.fillna(False).to_numpy(dtype=bool)), strict=True):
            axis.text(x, y, "x", ha="center", va="center", fontsize=10, fontweight="bold")
        figure.colorbar(image, ax=axis, shrink=0.8)
    axes[-1].set_xlabel("segment id")
    return to_png(figure)
