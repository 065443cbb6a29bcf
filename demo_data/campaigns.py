"""Email and ads campaign events: a funnel of send, open (email only), click and convert."""

import numpy as np
import pandas as pd

from demo_data.catalog import Catalog
from demo_data.ids import IdSequence
from demo_data.population import Population
from demo_data.timeline import HOUR_US, utc_timestamps

ADS_CLICK_FACTOR = 0.3  # an ad impression is clicked far less often than an opened email
SEND_SPREAD_US = 6 * HOUR_US
OPEN_DELAY_US = 48 * HOUR_US
CLICK_DELAY_US = 1 * HOUR_US
CONVERT_DELAY_US = 24 * HOUR_US


def draw_campaign_events(
    rng: np.random.Generator, population: Population, catalog: Catalog, event_ids: IdSequence
) -> pd.DataFrame:
    campaigns = catalog.campaigns
    sent_us = campaigns["sent_us"].to_numpy()
    is_email = (campaigns["channel"] == "email").to_numpy()
    # Targeting: active customers who signed up before the campaign; email needs consent.
    eligible = (sent_us[None, :] >= population.signup_us[:, None]) & (
        population.has_marketing_consent[:, None] | ~is_email[None, :]
    )
    targeted = (
        rng.random(eligible.shape) < population.persona_rate("targeting_probability")[:, None]
    )
    customer, campaign = np.nonzero(eligible & targeted)

    send_us = sent_us[campaign] + (rng.random(len(campaign)) * SEND_SPREAD_US).astype(np.int64)
    email = is_email[campaign]
    opened = email & (
        rng.random(len(campaign)) < population.persona_rate("open_probability")[customer]
    )
    click_probability = population.persona_rate("click_probability")[customer]
    clicked = np.where(email, opened, True) & (
        rng.random(len(campaign))
        < np.where(email, click_probability, click_probability * ADS_CLICK_FACTOR)
    )
    converted = clicked & (
        rng.random(len(campaign)) < population.persona_rate("convert_probability")[customer]
    )
    open_us = send_us + (rng.random(len(campaign)) * OPEN_DELAY_US).astype(np.int64)
    click_us = np.where(email, open_us, send_us) + (
        rng.random(len(campaign)) * CLICK_DELAY_US
    ).astype(np.int64)
    convert_us = click_us + (rng.random(len(campaign)) * CONVERT_DELAY_US).astype(np.int64)

    steps = [
        ("send", np.ones(len(campaign), bool), send_us),
        ("open", opened, open_us),
        ("click", clicked, click_us),
        ("convert", converted, convert_us),
    ]
    frames = [
        pd.DataFrame(
            {
                "customer_id": population.customer_id[customer[happened]],
                "campaign_id": campaigns["campaign_id"].to_numpy()[campaign[happened]],
                "channel": campaigns["channel"].to_numpy()[campaign[happened]],
                "event_type": event_type,
                "event_at": utc_timestamps(at_us[happened]),
            }
        )
        for event_type, happened, at_us in steps
    ]
    events = pd.concat(frames, ignore_index=True)
    events.insert(0, "event_id", event_ids.take(len(events)))
    return events
