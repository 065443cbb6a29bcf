"""The dirt that real exports carry, planted at small, configurable rates.

Every kind listed in DESIGN.md section 3 is planted so that the staging models' cleaning rules are
exercised by the demo data itself: exact duplicate rows, null keys, mixed-case and padded emails,
repeated CRM records, shouted status values, negative quantities (returned items), timestamps in
the future and unknown product ids. Cancelled and returned orders, orders before signup (guest
checkouts) and anonymous web events are part of normal behaviour, drawn by the source generators.
"""

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from demo_data.catalog import UNKNOWN_PRODUCT_PREFIX
from demo_data.ids import format_ids
from demo_data.timeline import DAY_US

FUTURE_DAYS = (2, 60)  # clock and time-zone errors; staging drops them


@dataclass(frozen=True)
class DirtRates:
    """Share of rows affected by each kind of dirt."""

    duplicate_rows: float = 0.005
    null_keys: float = 0.001
    messy_emails: float = 0.05
    repeated_crm_records: float = 0.01
    future_timestamps: float = 0.001
    negative_quantities: float = 0.01
    unknown_products: float = 0.003
    shouted_statuses: float = 0.005

    @classmethod
    def clean(cls) -> "DirtRates":
        return cls(**{field.name: 0.0 for field in fields(cls)})


def plant_dirt(
    source: str, frame: pd.DataFrame, rng: np.random.Generator, rates: DirtRates, end_us: int
) -> pd.DataFrame:
    """Return `frame` with the dirt that belongs to `source` planted, duplicates last."""
    planter = _Planter(rng, rates, end_us)
    return planter.duplicate_rows(_PLANTERS[source](frame.copy(), planter))


@dataclass(frozen=True)
class _Planter:
    rng: np.random.Generator
    rates: DirtRates
    end_us: int

    def rows(self, frame: pd.DataFrame, share: float) -> np.ndarray:
        return self.rng.random(len(frame)) < share

    def duplicate_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        copies = frame[self.rows(frame, self.rates.duplicate_rows)]
        return pd.concat([frame, copies], ignore_index=True)

    def null_keys(self, frame: pd.DataFrame, column: str) -> pd.DataFrame:
        frame.loc[self.rows(frame, self.rates.null_keys), column] = None
        return frame

    def future_timestamps(self, frame: pd.DataFrame, column: str) -> pd.DataFrame:
        chosen = self.rows(frame, self.rates.future_timestamps)
        days = self.rng.integers(*FUTURE_DAYS, int(chosen.sum()))
        frame.loc[chosen, column] = pd.to_datetime(self.end_us + days * DAY_US, unit="us", utc=True)
        return frame

    def shouted(self, frame: pd.DataFrame, column: str) -> pd.DataFrame:
        chosen = self.rows(frame, self.rates.shouted_statuses)
        frame.loc[chosen, column] = frame.loc[chosen, column].str.upper()
        return frame


def _customers(frame: pd.DataFrame, planter: _Planter) -> pd.DataFrame:
    messy = planter.rows(frame, planter.rates.messy_emails)
    frame.loc[messy, "email"] = "  " + frame.loc[messy, "email"].str.title() + " "
    # The CRM exported some customers twice: the later record has a changed consent.
    updated = frame[planter.rows(frame, planter.rates.repeated_crm_records)].copy()
    updated["marketing_consent"] = ~updated["marketing_consent"].astype(bool)
    days_later = pd.to_timedelta(planter.rng.integers(1, 30, len(updated)), unit="D")
    updated["consent_updated_at"] = (updated["consent_updated_at"] + days_later).clip(
        upper=pd.Timestamp(planter.end_us - 1, unit="us", tz="UTC")
    )
    frame = pd.concat([frame, updated], ignore_index=True)
    return planter.null_keys(frame, "customer_id")


def _orders(frame: pd.DataFrame, planter: _Planter) -> pd.DataFrame:
    frame = planter.shouted(frame, "status")
    frame = planter.future_timestamps(frame, "ordered_at")
    return planter.null_keys(frame, "customer_id")


def _order_items(frame: pd.DataFrame, planter: _Planter) -> pd.DataFrame:
    returned = planter.rows(frame, planter.rates.negative_quantities)
    frame.loc[returned, "quantity"] = -frame.loc[returned, "quantity"]
    unknown = planter.rows(frame, planter.rates.unknown_products)
    frame.loc[unknown, "product_id"] = format_ids(
        UNKNOWN_PRODUCT_PREFIX, planter.rng.integers(0, 10_000, int(unknown.sum())), 4
    )
    return planter.null_keys(frame, "order_id")


def _events(time_column: str, key_column: str) -> Callable[[pd.DataFrame, _Planter], pd.DataFrame]:
    def plant(frame: pd.DataFrame, planter: _Planter) -> pd.DataFrame:
        frame = planter.future_timestamps(frame, time_column)
        return planter.null_keys(frame, key_column)

    return plant


_PLANTERS: dict[str, Callable[[pd.DataFrame, _Planter], pd.DataFrame]] = {
    "customers": _customers,
    "products": lambda frame, planter: frame,
    "orders": _orders,
    "order_items": _order_items,
    "web_events": _events("event_at", "event_id"),
    "campaign_events": _events("event_at", "customer_id"),
    "social_interactions": _events("occurred_at", "customer_id"),
}
