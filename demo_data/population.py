"""The customers of one chunk: who they are, their persona and when they are active."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from demo_data.bias import PlantedBias
from demo_data.catalog import COUNTRIES, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES
from demo_data.ids import format_ids
from demo_data.personas import PERSONAS
from demo_data.sampling import pick_per_group
from demo_data.timeline import DAY_US, YEAR_US, Timeline, uniform_between, utc_timestamps

DEVICES = ("desktop", "mobile", "tablet")
ACQUISITION_CHANNELS = ("organic", "paid_search", "social", "referral", "email", "affiliate")
GENDER_SPELLINGS = {
    "female": ("female", "F", "Female", "f"),
    "male": ("male", "M", "Male", "m"),
    "other": ("other", "non-binary"),
}
MARKETING_CONSENT_RATE = 0.65


@dataclass(frozen=True)
class Population:
    """Per-customer arrays for one chunk; index i is the same customer in every array."""

    customer_id: np.ndarray
    anonymous_id: np.ndarray
    persona_index: np.ndarray
    signup_us: np.ndarray
    active_end_us: np.ndarray
    country: np.ndarray
    currency: np.ndarray
    has_marketing_consent: np.ndarray
    preferred_device: np.ndarray
    end_us: int  # the timeline's end: ages are drawn as of it
    age_years: np.ndarray | None = None  # drawn with the personas only when a bias is planted

    def __len__(self) -> int:
        return len(self.customer_id)

    def persona_rate(self, attribute: str) -> np.ndarray:
        """A persona parameter looked up for every customer."""
        values = np.array([getattr(persona, attribute) for persona in PERSONAS], dtype=float)
        return values[self.persona_index]

    def active_years(self) -> np.ndarray:
        return np.maximum(self.active_end_us - self.signup_us, 0) / YEAR_US

    def persona_names(self) -> np.ndarray:
        return np.array([persona.name for persona in PERSONAS])[self.persona_index]


def draw_population(
    rng: np.random.Generator,
    timeline: Timeline,
    first_number: int,
    size: int,
    bias: PlantedBias | None = None,
) -> Population:
    """Ages are drawn later (customers_frame), independently of persona and signup, unless a bias
    is planted (demo_data/bias.py): then they are drawn first, and the persona depends on them."""
    numbers = np.arange(first_number, first_number + size)
    persona_index = rng.choice(len(PERSONAS), size, p=_persona_shares())
    age_years = None
    if bias is not None:
        age_years = _draw_ages(rng, size)
        switched = bias.switched(rng, persona_index, np.floor(age_years))
        persona_index = np.where(switched, bias.target, persona_index)
    signup_us = _draw_days_ago(rng, timeline, persona_index, "signup_days_ago")
    stopped_us = _draw_days_ago(rng, timeline, persona_index, "inactive_days")
    active_end_us = np.maximum(signup_us + DAY_US, stopped_us)
    country_codes = np.array(list(COUNTRIES))
    country_shares = np.array([share for share, _, _ in COUNTRIES.values()])
    country = rng.choice(country_codes, size, p=country_shares / country_shares.sum())
    currency_of = {code: currency for code, (_, currency, _) in COUNTRIES.items()}
    return Population(
        customer_id=format_ids("C", numbers, 8),
        anonymous_id=format_ids("A", numbers * 7919 % 100_000_019, 9),
        persona_index=persona_index,
        signup_us=signup_us,
        active_end_us=active_end_us,
        country=country,
        currency=np.vectorize(currency_of.get, otypes=[object])(country),
        has_marketing_consent=rng.random(size) < MARKETING_CONSENT_RATE,
        preferred_device=rng.choice(DEVICES, size, p=(0.45, 0.45, 0.10)),
        end_us=timeline.end_us,
        age_years=age_years,
    )


def _draw_ages(rng: np.random.Generator, size: int) -> np.ndarray:
    """Ages in years as of the timeline's end."""
    return rng.normal(42, 14, size).clip(18, 90)


def _persona_shares() -> np.ndarray:
    shares = np.array([persona.share for persona in PERSONAS])
    return shares / shares.sum()


def _draw_days_ago(
    rng: np.random.Generator, timeline: Timeline, persona_index: np.ndarray, attribute: str
) -> np.ndarray:
    """An instant a persona-specific number of days before the end of the timeline."""
    bounds = np.array([getattr(persona, attribute) for persona in PERSONAS])[persona_index]
    end = np.full(len(persona_index), timeline.end_us)
    return uniform_between(rng, end - bounds[:, 1] * DAY_US, end - bounds[:, 0] * DAY_US)


def customers_frame(rng: np.random.Generator, population: Population) -> pd.DataFrame:
    """The CRM export: contact details, demographics, consent and acquisition."""
    size = len(population)
    first = rng.choice(FIRST_NAMES, size)
    last = rng.choice(LAST_NAMES, size)
    numbers = np.char.lstrip(population.customer_id.astype(str), "C0")
    emails = (
        np.char.lower(first.astype(str))
        + "."
        + np.char.lower(last.astype(str))
        + numbers
        + "@"
        + rng.choice(EMAIL_DOMAINS, size)
    )
    phones = format_ids("+44 7", rng.integers(0, 1_000_000_000, size), 9)
    # Drawn here, where it always was, so that every later draw of a seed stays the same; as of the
    # timeline's end rather than the signup, so that the newest customers are not the youngest.
    ages = population.age_years if population.age_years is not None else _draw_ages(rng, size)
    birth_us = population.end_us - (ages * 365.25 * DAY_US).astype(np.int64)
    birth = birth_us.astype("datetime64[us]").astype("datetime64[D]")
    consent_updated_us = uniform_between(
        rng, population.signup_us, np.maximum(population.active_end_us, population.signup_us)
    )
    return pd.DataFrame(
        {
            "customer_id": population.customer_id,
            "email": emails,
            "full_name": first.astype(object) + " " + last.astype(object),
            "phone": phones,
            "birth_date": pd.Series(birth).where(rng.random(size) > 0.02),
            "gender": _draw_genders(rng, size),
            "country": population.country,
            "city": pick_per_group(
                rng,
                population.country,
                {code: cities for code, (_, _, cities) in COUNTRIES.items()},
            ),
            "signup_at": utc_timestamps(population.signup_us),
            "marketing_consent": population.has_marketing_consent,
            "consent_updated_at": utc_timestamps(consent_updated_us),
            "acquisition_channel": _draw_acquisition(rng, population),
        }
    )


def _draw_genders(rng: np.random.Generator, size: int) -> np.ndarray:
    """Genders as a CRM stores them: several spellings per value and some blanks."""
    gender = rng.choice(list(GENDER_SPELLINGS), size, p=(0.5, 0.46, 0.04))
    spelled = pick_per_group(rng, gender, GENDER_SPELLINGS)
    spelled[rng.random(size) < 0.03] = None
    return spelled


def _draw_acquisition(rng: np.random.Generator, population: Population) -> np.ndarray:
    channel = rng.choice(ACQUISITION_CHANNELS, len(population))
    is_social_advocate = population.persona_names() == "social_advocate"
    channel[is_social_advocate & (rng.random(len(population)) < 0.6)] = "social"
    return channel
