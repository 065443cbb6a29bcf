"""Figure 1 of Fader, Hardie & Lee (2005) from this pipeline: BG/NBD fitted on the CDNOW
calibration period (to 1997-09-30) by the warehouse's own inputs (marts.customer_repeat_purchases),
against the cumulative repeat purchases through the 39-week holdout.

    SEG_CONSENT_POLICY=profile_all_activate_consented \\
    SEG_SOURCE_CONFIG=examples/cdnow/sources.yml SEG_WAREHOUSE_PATH=warehouse/cdnow-1997.duckdb \\
    SEG_AS_OF_DATE=1997-09-30 make run
    uv run --frozen python examples/cdnow/track_repeat_purchases.py warehouse/cdnow-1997.duckdb

Writes docs/images/cdnow_cumulative_repeat_purchases.png and prints the parameters and the
tracking at the end of the calibration period and of the holdout.
"""

import sys
from datetime import date
from pathlib import Path

import duckdb

from dagster_project.lib.names import CUSTOMER_REPEAT_PURCHASES_TABLE
from dagster_project.lib.segment_store.predictions import cohort_purchase_days, read_table
from dagster_project.lib.settings import REPO_ROOT
from ml.clv import RepeatPurchases, fit_clv
from ml.clv_tracking import cumulative_repeat_purchases
from ml.prediction_plots import cumulative_tracking

CALIBRATION_END = date(1997, 9, 30)
HOLDOUT_END = date(1998, 6, 30)
FIGURE = REPO_ROOT / "docs" / "images" / "cdnow_cumulative_repeat_purchases.png"


def main(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        inputs = read_table(conn, CUSTOMER_REPEAT_PURCHASES_TABLE)
        purchase_days = cohort_purchase_days(conn, inputs["customer_id"], HOLDOUT_END)
    if inputs["as_of_date"].iat[0].date() != CALIBRATION_END:
        raise SystemExit(
            f"{warehouse} is built as of {inputs['as_of_date'].iat[0]}, not 1997-09-30"
        )
    model = fit_clv(RepeatPurchases.from_frame(inputs))
    tracking = cumulative_repeat_purchases(model, purchase_days, CALIBRATION_END, HOLDOUT_END)
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    FIGURE.write_bytes(
        cumulative_tracking(
            tracking, "CDNOW: cumulative repeat purchases, BG/NBD fitted to week 39"
        )
    )
    print({name: round(value, 4) for name, value in model.parameters().items()})
    calibration_end = tracking[~tracking["holdout"]].iloc[-1]
    print(tracking.loc[[calibration_end.name, tracking.index[-1]]].to_string(index=False))
    print(f"written {FIGURE.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
