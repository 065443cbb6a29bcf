"""Web and app events, grouped into sessions whose events are less than 30 minutes apart.

Every online order gets a checkout session ending in its purchase event; on top of that each
persona browses at its own rate, some sessions while logged out (customer id unknown, only the
device's anonymous id), and unknown visitors browse without ever signing up.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from demo_data.catalog import Catalog
from demo_data.ids import IdSequence
from demo_data.population import DEVICES, Population
from demo_data.sampling import positions_within_groups
from demo_data.timeline import DAY_US, MINUTE_US, SECOND_US, uniform_between, utc_timestamps

MEAN_EVENT_GAP_SECONDS = 40
MAX_EVENT_GAP_US = 20 * MINUTE_US  # below the 30-minute gap that ends a session
LOGGED_OUT_SESSION_SHARE = 0.15
PREFERRED_DEVICE_SHARE = 0.8
ADD_TO_CART_SHARE = 0.05
CLICK_SHARE = 0.25
VISITOR_SESSIONS_PER_CUSTOMER = 0.1
CHECKOUT_SESSION_EVENTS = 3
BROWSE_BEFORE_SIGNUP_DAYS = 30


@dataclass(frozen=True)
class Sessions:
    """Sessions to expand into events; arrays are indexed by session."""

    owner: np.ndarray  # customer position in the population, or -1 for unknown visitors
    start_us: np.ndarray
    size: np.ndarray
    is_checkout: np.ndarray
    is_logged_in: np.ndarray


def draw_web_events(
    rng: np.random.Generator,
    population: Population,
    catalog: Catalog,
    web_order_owner: np.ndarray,
    web_order_us: np.ndarray,
    event_ids: IdSequence,
    visitor_ids: IdSequence,
) -> pd.DataFrame:
    sessions = _concat_sessions(
        _checkout_sessions(rng, population, web_order_owner, web_order_us),
        _browse_sessions(rng, population),
        _visitor_sessions(rng, population),
    )
    session = np.repeat(np.arange(len(sessions.size)), sessions.size)
    position = positions_within_groups(sessions.size)
    event_us = sessions.start_us[session] + _offsets_within_sessions(rng, session, position)
    event_type = _event_types(rng, sessions, session, position)
    owner = sessions.owner[session]
    known = owner >= 0
    session_anonymous_id = population.anonymous_id[np.maximum(sessions.owner, 0)]
    is_visitor = sessions.owner < 0
    session_anonymous_id[is_visitor] = visitor_ids.take(int(is_visitor.sum()))
    customer_id = np.where(
        known & sessions.is_logged_in[session], population.customer_id[np.maximum(owner, 0)], None
    )
    device = np.where(
        known & (rng.random(len(session)) < PREFERRED_DEVICE_SHARE),
        population.preferred_device[np.maximum(owner, 0)],
        rng.choice(DEVICES, len(session)),
    )
    return pd.DataFrame(
        {
            "event_id": event_ids.take(len(session)),
            "customer_id": customer_id,
            "anonymous_id": session_anonymous_id[session],
            "event_at": utc_timestamps(event_us),
            "event_type": event_type,
            "page_path": _page_paths(rng, catalog, event_type),
            "device": device,
        }
    )


def _checkout_sessions(
    rng: np.random.Generator, population: Population, owner: np.ndarray, order_us: np.ndarray
) -> Sessions:
    """A product page view, an add-to-cart and the purchase, timed to end near the order."""
    size = np.full(len(owner), CHECKOUT_SESSION_EVENTS)
    # Gaps are at most MAX_EVENT_GAP_US, so starting this early keeps the purchase near the order.
    start_us = order_us - (size - 1) * MEAN_EVENT_GAP_SECONDS * SECOND_US
    return Sessions(owner, start_us, size, np.ones(len(owner), bool), np.ones(len(owner), bool))


def _browse_sessions(rng: np.random.Generator, population: Population) -> Sessions:
    counts = rng.poisson(
        population.persona_rate("browse_sessions_per_year") * population.active_years()
    )
    owner = np.repeat(np.arange(len(population)), counts)
    start_us = uniform_between(
        rng,
        population.signup_us[owner] - BROWSE_BEFORE_SIGNUP_DAYS * DAY_US,
        population.active_end_us[owner],
    )
    bounced = rng.random(len(owner)) < population.persona_rate("bounce_probability")[owner]
    pages = population.persona_rate("pages_per_session")[owner]
    size = np.where(bounced, 1, 2 + rng.poisson(np.maximum(pages - 2, 0)))
    is_logged_in = (start_us >= population.signup_us[owner]) & (
        rng.random(len(owner)) >= LOGGED_OUT_SESSION_SHARE
    )
    return Sessions(owner, start_us, size, np.zeros(len(owner), bool), is_logged_in)


def _visitor_sessions(rng: np.random.Generator, population: Population) -> Sessions:
    """Visitors who never sign up: anonymous sessions that cannot be attributed."""
    count = rng.poisson(VISITOR_SESSIONS_PER_CUSTOMER * len(population))
    low = np.full(count, population.signup_us.min())
    start_us = uniform_between(rng, low, np.full(count, population.active_end_us.max()))
    size = 1 + rng.poisson(1.5, count)
    return Sessions(
        np.full(count, -1), start_us, size, np.zeros(count, bool), np.zeros(count, bool)
    )


def _concat_sessions(*parts: Sessions) -> Sessions:
    return Sessions(
        *(
            np.concatenate([getattr(part, name) for part in parts])
            for name in ("owner", "start_us", "size", "is_checkout", "is_logged_in")
        )
    )


def _offsets_within_sessions(
    rng: np.random.Generator, session: np.ndarray, position: np.ndarray
) -> np.ndarray:
    """Microseconds from the session start: a running sum of short random gaps."""
    gaps = np.minimum(
        (rng.exponential(MEAN_EVENT_GAP_SECONDS, len(session)) * SECOND_US).astype(np.int64),
        MAX_EVENT_GAP_US,
    )
    gaps[position == 0] = 0
    running = np.cumsum(gaps)
    return running - running[position == 0][session]


def _event_types(
    rng: np.random.Generator, sessions: Sessions, session: np.ndarray, position: np.ndarray
) -> np.ndarray:
    draw = rng.random(len(session))
    event_type = np.where(
        draw < ADD_TO_CART_SHARE,
        "add_to_cart",
        np.where(draw < ADD_TO_CART_SHARE + CLICK_SHARE, "click", "page_view"),
    )
    event_type[position == 0] = "page_view"
    is_checkout = sessions.is_checkout[session]
    last = position == sessions.size[session] - 1
    event_type[is_checkout & ~last] = "page_view"
    event_type[is_checkout & (position == sessions.size[session] - 2)] = "add_to_cart"
    event_type[is_checkout & last] = "purchase"
    return event_type


def _page_paths(rng: np.random.Generator, catalog: Catalog, event_type: np.ndarray) -> np.ndarray:
    products = catalog.products
    pick = rng.integers(0, len(products), len(event_type))
    product_path = "/p/" + products["product_id"].to_numpy()[pick].astype(object)
    category_path = "/c/" + products["category"].to_numpy()[pick].astype(object)
    page = np.where(rng.random(len(event_type)) < 0.3, category_path, product_path)
    page = np.where(rng.random(len(event_type)) < 0.15, "/", page)
    return np.select(
        [event_type == "add_to_cart", event_type == "purchase", event_type == "click"],
        ["/cart", "/checkout/complete", product_path],
        default=page,
    )
