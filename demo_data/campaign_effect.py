"""A planted campaign effect, for testing the audience-lift measurement: extra purchases for the
customers an audience's control split (ml/control_groups.py) puts in the treated arm.

The generator cannot know who an audience will select, but the split is a hash of the audience's
salt and the customer id, the same for everyone: planting the effect on every customer whose draw
says "treated" under the salt plants it on the treated arm of any audience with that salt, and on
nobody's control. Each such customer who signed up before the activation day gets one extra
completed order, with probability `extra_order_probability`, at a uniform time on the
`window_days` days after it. The true lift on orders per customer over that window is therefore
`extra_order_probability`. An audience with another salt splits independently of the planted
arm: its true lift is zero. The extra orders come from a random stream of their own, so the rest
of the data is the same with and without the effect.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from demo_data.catalog import CURRENCY_PER_GBP, Catalog
from demo_data.ids import IdSequence
from demo_data.population import Population
from demo_data.timeline import DAY_US, SECOND_US, utc_timestamps
from ml.control_groups import in_control

EFFECT_STREAM = 1_000_000_009  # a seed stream no customer chunk uses


@dataclass(frozen=True)
class PlantedCampaignEffect:
    salt: str
    holdout_share: float
    activated_on: date
    window_days: int
    extra_order_probability: float

    @classmethod
    def parse(cls, text: str) -> "PlantedCampaignEffect":
        """`SALT:HOLDOUT_SHARE:ACTIVATION_DATE:WINDOW_DAYS:EXTRA_ORDER_PROBABILITY`, e.g.
        `win_back:0.5:2026-10-23:28:0.3`."""
        parts = text.split(":")
        try:
            salt, share, day, days, probability = parts
            effect = cls(salt, float(share), date.fromisoformat(day), int(days), float(probability))
        except ValueError:
            raise ValueError(
                "--plant-campaign-effect must be SALT:HOLDOUT_SHARE:ACTIVATION_DATE:WINDOW_DAYS:"
                f"EXTRA_ORDER_PROBABILITY, e.g. win_back:0.5:2026-10-23:28:0.3; got {text!r}"
            ) from None
        if not (0 <= effect.holdout_share < 1 and 0 < effect.extra_order_probability <= 1):
            raise ValueError("the holdout share must be in [0, 1), the probability in (0, 1]")
        return effect

    def window_us(self) -> tuple[int, int]:
        """Start of the day after activation, and the end of the window's last day."""
        first = datetime.combine(self.activated_on + timedelta(days=1), datetime.min.time(), UTC)
        start = int(first.timestamp()) * SECOND_US
        return start, start + self.window_days * DAY_US

    def extra_orders(
        self,
        rng: np.random.Generator,
        population: Population,
        catalog: Catalog,
        order_ids: IdSequence,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(orders, order_items) planted for this chunk's treated customers."""
        start, end = self.window_us()
        treated = ~in_control(self.salt, population.customer_id, self.holdout_share)
        known = population.signup_us < start
        buys = treated & known & (rng.random(len(population)) < self.extra_order_probability)
        owner = np.flatnonzero(buys)
        order_id = order_ids.take(len(owner))
        currency = population.currency[owner]
        product = rng.integers(0, len(catalog.products), len(owner))
        fx = np.array([CURRENCY_PER_GBP[c] for c in currency])
        orders = pd.DataFrame(
            {
                "order_id": order_id,
                "customer_id": population.customer_id[owner],
                "ordered_at": utc_timestamps(rng.integers(start, end, len(owner))),
                "status": "completed",
                "currency": currency,
                "channel": "app",
            }
        )
        items = pd.DataFrame(
            {
                "order_id": order_id,
                "line_number": 1,
                "product_id": catalog.products["product_id"].to_numpy()[product],
                "quantity": 1,
                "unit_price": np.round(catalog.products["list_price"].to_numpy()[product] * fx, 2),
                "discount": 0.0,
            }
        )
        return orders, items
