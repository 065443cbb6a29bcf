"""Orders and order lines, drawn from each customer's persona."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from demo_data.catalog import CURRENCY_PER_GBP, Catalog
from demo_data.ids import IdSequence
from demo_data.personas import CATEGORIES, PERSONAS
from demo_data.population import Population
from demo_data.sampling import positions_within_groups
from demo_data.timeline import (
    DAY_US,
    day_of_week,
    start_of_year_us,
    uniform_between,
    utc_timestamps,
    year_of,
)

CANCEL_PROBABILITY = 0.04
GUEST_CHECKOUT_PROBABILITY = 0.01
GIFT_SEASON_FIRST_DAY = 313  # 10 November, counted from 1 January
GIFT_SEASON_DAYS = 42
PRICE_TIER_CONCENTRATION = 4.0


@dataclass(frozen=True)
class DrawnOrders:
    orders: pd.DataFrame
    order_items: pd.DataFrame
    # For the web generator: who placed each online order, and when.
    web_order_owner: np.ndarray
    web_order_us: np.ndarray


def draw_orders(
    rng: np.random.Generator,
    population: Population,
    catalog: Catalog,
    order_ids: IdSequence,
) -> DrawnOrders:
    counts = rng.poisson(population.persona_rate("orders_per_year") * population.active_years())
    counts = np.maximum(counts, population.persona_rate("min_orders").astype(int))
    owner = np.repeat(np.arange(len(population)), counts)
    ordered_us = _draw_order_times(rng, population, owner)
    return_probability = population.persona_rate("return_probability")[owner]
    draw = rng.random(len(owner))
    status = np.where(
        draw < CANCEL_PROBABILITY,
        "cancelled",
        np.where(draw < CANCEL_PROBABILITY + return_probability, "returned", "completed"),
    )
    is_web = rng.random(len(owner)) < population.persona_rate("web_order_share")[owner]
    channel = np.where(is_web, "web", rng.choice(("app", "store"), len(owner)))
    order_id = order_ids.take(len(owner))
    orders = pd.DataFrame(
        {
            "order_id": order_id,
            "customer_id": population.customer_id[owner],
            "ordered_at": utc_timestamps(ordered_us),
            "status": status,
            "currency": population.currency[owner],
            "channel": channel,
        }
    )
    items = _draw_order_items(rng, population, catalog, owner, order_id)
    return DrawnOrders(orders, items, owner[is_web], ordered_us[is_web])


def _draw_order_times(
    rng: np.random.Generator, population: Population, owner: np.ndarray
) -> np.ndarray:
    start = population.signup_us[owner]
    end = population.active_end_us[owner]
    ordered_us = uniform_between(rng, start, end)

    # Gift buyers move most orders into the weeks before Christmas of an active year.
    years = rng.integers(year_of(start), year_of(end) + 1)
    in_season = (
        start_of_year_us(years)
        + (GIFT_SEASON_FIRST_DAY + rng.random(len(owner)) * GIFT_SEASON_DAYS) * DAY_US
    ).astype(np.int64)
    wants_season = (
        rng.random(len(owner)) < population.persona_rate("gift_season_probability")[owner]
    )
    movable = wants_season & (in_season >= start) & (in_season < end)
    ordered_us = np.where(movable, in_season, ordered_us)

    # Some personas shop at weekends: move a weekday order back to the Saturday or Sunday before.
    weekday = day_of_week(ordered_us)
    shift = (
        rng.random(len(owner)) < population.persona_rate("weekend_shift_probability")[owner]
    ) & (weekday < 5)
    days_back = weekday + 1 + (rng.random(len(owner)) < 0.5)
    ordered_us = np.where(shift, ordered_us - days_back * DAY_US, ordered_us)

    # Guest checkouts: a few orders predate the account that was created afterwards.
    guest = rng.random(len(owner)) < GUEST_CHECKOUT_PROBABILITY
    before_signup = start - ((1 + rng.random(len(owner)) * 59) * DAY_US).astype(np.int64)
    return np.where(guest, before_signup, ordered_us)


def _draw_order_items(
    rng: np.random.Generator,
    population: Population,
    catalog: Catalog,
    owner: np.ndarray,
    order_id: np.ndarray,
) -> pd.DataFrame:
    lines_per_order = 1 + rng.poisson(population.persona_rate("extra_lines_per_order")[owner])
    line_order = np.repeat(np.arange(len(owner)), lines_per_order)
    line_number = positions_within_groups(lines_per_order) + 1
    line_owner = owner[line_order]
    persona_index = population.persona_index[line_owner]

    category = np.empty(len(line_order), dtype=np.int64)
    for index, persona in enumerate(PERSONAS):
        mask = persona_index == index
        weights = np.array([persona.category_weights.get(c, 1.0) for c in CATEGORIES])
        category[mask] = rng.choice(len(CATEGORIES), int(mask.sum()), p=weights / weights.sum())

    tier = population.persona_rate("price_tier")[line_owner]
    product_id = np.empty(len(line_order), dtype=object)
    list_price = np.empty(len(line_order))
    for index, name in enumerate(CATEGORIES):
        mask = category == index
        products = catalog.products_in(name)
        u = rng.beta(
            PRICE_TIER_CONCENTRATION * tier[mask], PRICE_TIER_CONCENTRATION * (1 - tier[mask])
        )
        pick = np.minimum((u * len(products)).astype(int), len(products) - 1)
        product_id[mask] = products["product_id"].to_numpy()[pick]
        list_price[mask] = products["list_price"].to_numpy()[pick]

    currency = population.currency[line_owner]
    fx = np.vectorize(CURRENCY_PER_GBP.get)(currency)
    discounted = (
        rng.random(len(line_order)) < population.persona_rate("discount_probability")[line_owner]
    )
    low, high = (
        np.array([persona.discount_range[i] for persona in PERSONAS])[persona_index] for i in (0, 1)
    )
    discount = np.where(discounted, np.round(rng.uniform(low, high) * 20) / 20, 0.0)
    return pd.DataFrame(
        {
            "order_id": order_id[line_order],
            "line_number": line_number,
            "product_id": product_id,
            "quantity": 1 + rng.poisson(0.4, len(line_order)),
            "unit_price": np.round(list_price * fx, 2),
            "discount": discount,
        }
    )
