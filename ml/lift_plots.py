"""The audience-lift plot for the Dagster UI: per measure, each audience's lift by activation date
with its confidence interval, against the zero line (no effect)."""

import pandas as pd
from matplotlib.figure import Figure

from ml.plots import to_png


def lift_plot(lift: pd.DataFrame) -> bytes:
    """`lift`: rows of segments.audience_lift (audience, activation_date, measure, lift, ci_low,
    ci_high)."""
    measures = list(dict.fromkeys(lift["measure"]))
    figure = Figure(figsize=(8, 2.6 * max(len(measures), 1)))
    axes = figure.subplots(max(len(measures), 1), 1, squeeze=False)[:, 0]
    for axis, measure in zip(axes, measures, strict=False):
        rows = lift[lift["measure"] == measure]
        for audience, points in rows.groupby("audience"):
            points = points.sort_values("activation_date")
            low = (points["lift"] - points["ci_low"]).fillna(0)
            high = (points["ci_high"] - points["lift"]).fillna(0)
            axis.errorbar(
                points["activation_date"],
                points["lift"],
                yerr=[low, high],
                marker="o",
                capsize=4,
                label=audience,
            )
        axis.axhline(0, color="grey", linewidth=0.8)
        axis.set_title(f"{measure}: treated minus control (95 % interval)")
        axis.legend(fontsize="small")
    axes[-1].set_xlabel("activation date")
    return to_png(figure)
