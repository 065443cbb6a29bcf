"""Command line: `python -m demo_data --customers N --out DIR --seed S [--end-date D] [--clean]
[--plant-bias ...] [--plant-campaign-effect ...]`."""

import argparse
import time
from datetime import UTC, date, datetime
from pathlib import Path

from demo_data.bias import PlantedBias
from demo_data.campaign_effect import PlantedCampaignEffect
from demo_data.dirt import DirtRates
from demo_data.generate import DemoSpec, generate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m demo_data",
        description="Write the seven raw demo sources as Parquet, one folder per source.",
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--out", type=Path, required=True, help="landing folder to write into")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--end-date",
        type=date.fromisoformat,
        default=datetime.now(UTC).date(),
        help="data covers the ~3 years before this date (default: today, UTC)",
    )
    parser.add_argument("--clean", action="store_true", help="plant no dirt")
    parser.add_argument(
        "--plant-bias",
        type=PlantedBias.parse,
        default=None,
        metavar="PERSONA:YOUNGEST-OLDEST",
        help="make one persona 3 times as likely for one age band, e.g. discount_hunter:18-24 "
        "(to test the fairness audit)",
    )
    parser.add_argument(
        "--plant-campaign-effect",
        type=PlantedCampaignEffect.parse,
        default=None,
        metavar="SALT:HOLDOUT_SHARE:ACTIVATION_DATE:WINDOW_DAYS:EXTRA_ORDER_PROBABILITY",
        help="give the customers an audience with this salt would treat one extra order with "
        "this probability in the window after the activation date, e.g. "
        "win_back:0.5:2026-10-23:28:0.3 (to test the audience-lift measurement)",
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    spec = DemoSpec(
        customers=args.customers,
        seed=args.seed,
        end_date=args.end_date,
        dirt=DirtRates.clean() if args.clean else DirtRates(),
        bias=args.plant_bias,
        campaign_effect=args.plant_campaign_effect,
    )
    rows = generate(spec, args.out)
    seconds = time.perf_counter() - started
    print(f"Wrote demo data for {args.customers:,} customers to {args.out}/ in {seconds:.1f} s")
    for source, count in rows.items():
        print(f"  {source:<20} {count:>12,} rows")


if __name__ == "__main__":
    main()
