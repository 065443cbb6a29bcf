"""Small fixed dimensions shared by every chunk: products, campaigns, and word banks.

They are generated once per run from the seed, so every customer chunk draws from the same catalog.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from demo_data.personas import CATEGORIES
from demo_data.timeline import DAY_US, Timeline

PRODUCTS_PER_CATEGORY = 60
CAMPAIGN_EVERY_DAYS = 14
UNKNOWN_PRODUCT_PREFIX = "P9"

# Typical list price per category, in the reporting currency (GBP).
CATEGORY_BASE_PRICE: dict[str, float] = {
    "electronics": 120.0,
    "fashion": 45.0,
    "home": 60.0,
    "beauty": 25.0,
    "toys": 30.0,
    "sports": 55.0,
    "books": 14.0,
    "grocery": 8.0,
}
PRODUCT_ADJECTIVES = ("Classic", "Premium", "Eco", "Compact", "Deluxe", "Everyday", "Smart", "Mini")

# Units of each order currency per 1 GBP; the dbt seed `currency_rates` holds the inverse.
CURRENCY_PER_GBP: dict[str, float] = {"GBP": 1.0, "EUR": 1.17, "USD": 1.27}
COUNTRIES: dict[str, tuple[float, str, tuple[str, ...]]] = {
    # country code: (share of customers, currency, cities)
    "GB": (0.55, "GBP", ("London", "Manchester", "Leeds", "Bristol", "Glasgow")),
    "US": (0.12, "USD", ("New York", "Chicago", "Austin", "Seattle")),
    "DE": (0.08, "EUR", ("Berlin", "Hamburg", "Munich")),
    "FR": (0.08, "EUR", ("Paris", "Lyon", "Marseille")),
    "NL": (0.05, "EUR", ("Amsterdam", "Utrecht")),
    "IE": (0.05, "EUR", ("Dublin", "Cork")),
    "ES": (0.04, "EUR", ("Madrid", "Valencia")),
    "IT": (0.03, "EUR", ("Rome", "Milan")),
}
FIRST_NAMES = (
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Noah", "Oliver", "George", "Leo", "Arthur",
    "Sofia", "Emma", "Lucas", "Hugo", "Chloe", "Liam", "Ella", "Jack", "Grace", "Theo",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "mail.test", "inbox.test", "post.example")

# Comment and mention texts by tone; their sentiment is scored by a real lexicon model downstream.
SOCIAL_TEXTS: dict[str, tuple[str, ...]] = {
    "positive": (
        "Absolutely love this shop, great quality and super fast delivery!",
        "Best purchase I have made this year, highly recommend.",
        "Amazing customer service, thank you so much!",
        "The new collection is beautiful, I am so happy with my order.",
        "Great value and lovely packaging, will buy again.",
        "Fantastic gifts for the whole family, everyone loved them.",
    ),
    "neutral": (
        "Does this come in other colours?",
        "When is the next delivery window for my area?",
        "Ordered on Monday, tracking says Thursday.",
        "Is the store open on bank holidays?",
    ),
    "negative": (
        "Terrible experience, my parcel arrived broken and late.",
        "Very disappointed with the quality, returning it.",
        "Worst customer support ever, still waiting for a refund.",
        "The product stopped working after a week, awful.",
    ),
}


@dataclass(frozen=True)
class Catalog:
    """Products (sorted by price within each category) and the campaign calendar."""

    products: pd.DataFrame
    campaigns: pd.DataFrame

    def products_in(self, category: str) -> pd.DataFrame:
        return self.products[self.products["category"] == category]


def build_catalog(rng: np.random.Generator, timeline: Timeline) -> Catalog:
    return Catalog(products=_products(rng), campaigns=_campaigns(timeline))


def _products(rng: np.random.Generator) -> pd.DataFrame:
    frames = []
    for category_index, category in enumerate(CATEGORIES):
        prices = CATEGORY_BASE_PRICE[category] * rng.lognormal(0.0, 0.6, PRODUCTS_PER_CATEGORY)
        prices = np.sort(np.round(prices, 2).clip(0.5))
        numbers = category_index * PRODUCTS_PER_CATEGORY + np.arange(PRODUCTS_PER_CATEGORY) + 1
        adjectives = rng.choice(PRODUCT_ADJECTIVES, PRODUCTS_PER_CATEGORY)
        frames.append(
            pd.DataFrame(
                {
                    "product_id": [f"P{number:05d}" for number in numbers],
                    "product_name": [
                        f"{adjective} {category} item {number}"
                        for adjective, number in zip(adjectives, numbers, strict=True)
                    ],
                    "category": category,
                    "list_price": prices,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _campaigns(timeline: Timeline) -> pd.DataFrame:
    """One campaign every two weeks over the history; two in three are emails, the rest ads."""
    starts = np.arange(timeline.start_us, timeline.end_us, CAMPAIGN_EVERY_DAYS * DAY_US)
    numbers = np.arange(len(starts)) + 1
    return pd.DataFrame(
        {
            "campaign_id": [f"CMP{number:04d}" for number in numbers],
            "channel": np.where(numbers % 3 == 0, "ads", "email"),
            "sent_us": starts,
        }
    )
