"""Plots of the predictions' holdout evaluation, as PNG bytes for the Dagster UI and the docs:
cumulative repeat purchases against the BG/NBD's expectation, the lift chart and the reliability
curves."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ml.plots import to_png


def cumulative_tracking(tracking: pd.DataFrame, title: str) -> bytes:
    """Actual against predicted cumulative repeat purchases, week by week; the holdout shaded."""
    figure = Figure(figsize=(8, 4))
    axis = figure.subplots()
    weeks = pd.to_datetime(tracking["week_end"])
    axis.plot(weeks, tracking["actual"], label="actual", color="black")
    axis.plot(weeks, tracking["predicted"], label="BG/NBD", linestyle="--", color="tab:red")
    holdout = weeks[tracking["holdout"].to_numpy()]
    if len(holdout):
        axis.axvspan(holdout.min(), holdout.max(), color="grey", alpha=0.15, label="holdout")
    axis.set_ylabel("cumulative repeat purchases")
    axis.set_title(title)
    axis.legend()
    return to_png(figure)


def lift_chart(gains: pd.DataFrame) -> bytes:
    """Share of the holdout's buyers reached by contacting the top x % of customers, per score,
    against random targeting."""
    figure = Figure(figsize=(6, 4))
    axis = figure.subplots()
    percent = gains.index.to_numpy()
    for name in gains.columns:
        axis.plot(percent, gains[name], marker="o", label=name)
    axis.plot(percent, percent / 100, color="grey", linestyle=":", label="random")
    axis.set_xlabel("customers contacted, top %")
    axis.set_ylabel("share of holdout buyers reached")
    axis.legend()
    return to_png(figure)


def reliability_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> bytes:
    """Observed buyer rate against predicted probability per decile of the prediction: on the
    diagonal, a predicted 0.3 means three buyers in ten."""
    figure = Figure(figsize=(5, 5))
    axis = figure.subplots()
    for name, (observed, predicted) in curves.items():
        axis.plot(predicted, observed, marker="o", label=name)
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    axis.set_xlabel("predicted probability of a purchase")
    axis.set_ylabel("observed share who bought")
    axis.legend()
    return to_png(figure)
