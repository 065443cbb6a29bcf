"""Time arithmetic on integer microseconds since the epoch (UTC), vectorised with numpy.

Timestamps stay int64 microseconds until they are written, so chunks of millions of events are
cheap to draw and shift.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

SECOND_US = 1_000_000
MINUTE_US = 60 * SECOND_US
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
YEAR_US = 365 * DAY_US
HISTORY_DAYS = 1100


@dataclass(frozen=True)
class Timeline:
    """The generated history: `HISTORY_DAYS` days ending at midnight UTC starting `end_date`.

    Data therefore covers every day up to the day before `end_date`, which is the natural as-of
    date of a pipeline run on `end_date`.
    """

    end_date: date

    @property
    def end_us(self) -> int:
        midnight = datetime(self.end_date.year, self.end_date.month, self.end_date.day, tzinfo=UTC)
        return int(midnight.timestamp()) * SECOND_US

    @property
    def start_us(self) -> int:
        return self.end_us - HISTORY_DAYS * DAY_US


def uniform_between(
    rng: np.random.Generator, low_us: np.ndarray, high_us: np.ndarray
) -> np.ndarray:
    """One uniform instant in [low, high) for each pair of bounds."""
    span = np.maximum(high_us - low_us, 1)
    return low_us + (rng.random(len(span)) * span).astype(np.int64)


def day_of_week(times_us: np.ndarray) -> np.ndarray:
    """ISO weekday index, Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday)."""
    return (times_us // DAY_US + 3) % 7


def year_of(times_us: np.ndarray) -> np.ndarray:
    return times_us.astype("datetime64[us]").astype("datetime64[Y]").astype(np.int64) + 1970


def start_of_year_us(years: np.ndarray) -> np.ndarray:
    return (years - 1970).astype("datetime64[Y]").astype("datetime64[us]").astype(np.int64)


def utc_timestamps(times_us: np.ndarray) -> pd.Series:
    """Microsecond instants as a timezone-aware (UTC) pandas column."""
    return pd.Series(pd.to_datetime(times_us, unit="us", utc=True))
