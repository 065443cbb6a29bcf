"""Behavioural personas planted in the demo data.

Each persona is a bundle of rates that drive every source (orders, web, campaigns, social), so the
personas differ across all feature families and a good segmentation can find them again. The
persona of every customer is written to a ground-truth file that the pipeline never reads.
"""

from dataclasses import dataclass, field

CATEGORIES: tuple[str, ...] = (
    "electronics",
    "fashion",
    "home",
    "beauty",
    "toys",
    "sports",
    "books",
    "grocery",
)


@dataclass(frozen=True)
class Persona:
    """Rates that describe how one kind of customer behaves.

    Rates are per year of activity unless named otherwise; probabilities are in [0, 1].
    """

    name: str
    share: float
    # Lifetime: days before the end date at which customers sign up, and at which they stop.
    signup_days_ago: tuple[int, int]
    inactive_days: tuple[int, int] = (0, 0)
    # Purchases
    orders_per_year: float = 4.0
    min_orders: int = 0
    extra_lines_per_order: float = 2.0
    price_tier: float = 0.5
    discount_probability: float = 0.1
    discount_range: tuple[float, float] = (0.05, 0.15)
    gift_season_probability: float = 0.0
    weekend_shift_probability: float = 0.0
    return_probability: float = 0.03
    web_order_share: float = 0.4
    category_weights: dict[str, float] = field(default_factory=dict)
    # Web behaviour
    browse_sessions_per_year: float = 2.0
    pages_per_session: float = 3.0
    bounce_probability: float = 0.35
    # Campaigns
    targeting_probability: float = 0.4
    open_probability: float = 0.25
    click_probability: float = 0.2
    convert_probability: float = 0.1
    # Social
    social_actions_per_year: float = 1.0
    comment_share: float = 0.15
    positive_probability: float = 0.5
    negative_probability: float = 0.15


def _weights(**overrides: float) -> dict[str, float]:
    """Category weights: 1 for every category unless overridden."""
    return {category: overrides.get(category, 1.0) for category in CATEGORIES}


PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="loyal_high_spender",
        share=0.12,
        signup_days_ago=(400, 1095),
        orders_per_year=18.0,
        extra_lines_per_order=3.0,
        price_tier=0.8,
        discount_probability=0.03,
        return_probability=0.02,
        category_weights=_weights(electronics=2.0, home=2.0, fashion=1.5),
        browse_sessions_per_year=2.0,
        pages_per_session=5.0,
        bounce_probability=0.15,
        targeting_probability=0.5,
        open_probability=0.55,
        click_probability=0.35,
        convert_probability=0.3,
        social_actions_per_year=2.0,
        positive_probability=0.7,
        negative_probability=0.05,
    ),
    Persona(
        name="discount_hunter",
        share=0.16,
        signup_days_ago=(200, 1095),
        orders_per_year=9.0,
        extra_lines_per_order=1.0,
        price_tier=0.2,
        discount_probability=0.85,
        discount_range=(0.2, 0.5),
        return_probability=0.12,
        category_weights=_weights(fashion=2.5, beauty=2.0, grocery=1.5),
        browse_sessions_per_year=3.0,
        pages_per_session=4.0,
        targeting_probability=0.7,
        open_probability=0.7,
        click_probability=0.6,
        convert_probability=0.45,
        social_actions_per_year=1.0,
    ),
    Persona(
        name="seasonal_gift_buyer",
        share=0.14,
        signup_days_ago=(400, 1095),
        orders_per_year=2.5,
        extra_lines_per_order=2.5,
        price_tier=0.55,
        gift_season_probability=0.9,
        weekend_shift_probability=0.3,
        category_weights=_weights(toys=4.0, books=2.5, beauty=2.0, grocery=0.3, sports=0.5),
        browse_sessions_per_year=1.0,
        pages_per_session=4.0,
        targeting_probability=0.3,
        open_probability=0.2,
        click_probability=0.1,
        convert_probability=0.1,
        social_actions_per_year=0.5,
    ),
    Persona(
        name="window_shopper",
        share=0.18,
        signup_days_ago=(60, 1095),
        orders_per_year=0.6,
        extra_lines_per_order=0.3,
        price_tier=0.4,
        category_weights=_weights(electronics=2.0, sports=1.5),
        browse_sessions_per_year=7.0,
        pages_per_session=5.0,
        bounce_probability=0.55,
        targeting_probability=0.4,
        open_probability=0.3,
        click_probability=0.25,
        convert_probability=0.02,
        social_actions_per_year=1.0,
    ),
    Persona(
        name="social_advocate",
        share=0.10,
        signup_days_ago=(200, 1095),
        orders_per_year=5.0,
        extra_lines_per_order=1.5,
        price_tier=0.5,
        category_weights=_weights(beauty=2.5, fashion=2.0, sports=1.5),
        browse_sessions_per_year=2.0,
        pages_per_session=3.5,
        targeting_probability=0.4,
        open_probability=0.4,
        click_probability=0.3,
        convert_probability=0.15,
        social_actions_per_year=30.0,
        comment_share=0.35,
        positive_probability=0.85,
        negative_probability=0.03,
    ),
    Persona(
        name="lapsed",
        share=0.18,
        signup_days_ago=(700, 1095),
        inactive_days=(365, 640),
        orders_per_year=5.0,
        extra_lines_per_order=1.2,
        price_tier=0.45,
        return_probability=0.08,
        browse_sessions_per_year=1.5,
        pages_per_session=2.5,
        bounce_probability=0.45,
        targeting_probability=0.4,
        open_probability=0.05,
        click_probability=0.02,
        convert_probability=0.05,
        social_actions_per_year=0.5,
        positive_probability=0.2,
        negative_probability=0.5,
    ),
    Persona(
        name="new_customer",
        share=0.12,
        signup_days_ago=(0, 60),
        orders_per_year=9.0,
        min_orders=1,
        extra_lines_per_order=1.0,
        price_tier=0.5,
        browse_sessions_per_year=10.0,
        pages_per_session=4.0,
        bounce_probability=0.3,
        targeting_probability=0.8,
        open_probability=0.5,
        click_probability=0.3,
        convert_probability=0.2,
        social_actions_per_year=2.0,
        positive_probability=0.6,
    ),
)

PERSONA_NAMES: tuple[str, ...] = tuple(persona.name for persona in PERSONAS)
