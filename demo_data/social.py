"""Social-media interactions: likes, shares, comments and mentions with text in a persona's tone."""

import numpy as np
import pandas as pd

from demo_data.catalog import SOCIAL_TEXTS
from demo_data.ids import IdSequence
from demo_data.population import Population
from demo_data.sampling import pick_per_group
from demo_data.timeline import uniform_between, utc_timestamps

PLATFORMS = ("instagram", "tiktok", "facebook", "x")
SHARE_SHARE = 0.2


def draw_social_interactions(
    rng: np.random.Generator, population: Population, interaction_ids: IdSequence
) -> pd.DataFrame:
    counts = rng.poisson(
        population.persona_rate("social_actions_per_year") * population.active_years()
    )
    owner = np.repeat(np.arange(len(population)), counts)
    comment_share = population.persona_rate("comment_share")[owner]
    draw = rng.random(len(owner))
    interaction_type = np.select(
        [
            draw < comment_share,
            draw < comment_share * 1.5,
            draw < comment_share * 1.5 + SHARE_SHARE,
        ],
        ["comment", "mention", "share"],
        default="like",
    )
    has_text = np.isin(interaction_type, ("comment", "mention"))
    text = np.where(has_text, _texts_in_tone(rng, population, owner), None)
    return pd.DataFrame(
        {
            "interaction_id": interaction_ids.take(len(owner)),
            "customer_id": population.customer_id[owner],
            "platform": rng.choice(PLATFORMS, len(owner)),
            "interaction_type": interaction_type,
            "text": text,
            "occurred_at": utc_timestamps(
                uniform_between(rng, population.signup_us[owner], population.active_end_us[owner])
            ),
        }
    )


def _texts_in_tone(
    rng: np.random.Generator, population: Population, owner: np.ndarray
) -> np.ndarray:
    positive = population.persona_rate("positive_probability")[owner]
    negative = population.persona_rate("negative_probability")[owner]
    draw = rng.random(len(owner))
    tone = np.where(
        draw < positive, "positive", np.where(draw < positive + negative, "negative", "neutral")
    )
    return pick_per_group(rng, tone, SOCIAL_TEXTS)
