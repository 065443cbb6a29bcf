"""Whether each event source is still delivering: the days between a source's newest event (up to
the as-of date) and the as-of date, against the longest silence the source kept before.

Sources have their own rhythm: orders arrive every day, campaigns go out weekly. A source is stale
when its silence is longer than `max_source_age_days` and longer than any silence it kept in the
HISTORY_DAYS before its newest event: a weekly campaign feed is not stale on day five, a daily
order feed is on day four.

A source that stopped delivering does not look broken to the row-level gates: its rows are all
valid, there are just no new ones. Its features go stale instead (seven days without orders move
every customer's recency by a week, and recency's drift past the retrain threshold), and a drift
retrain on them would learn the stall. So a stale source fails the freshness check and alerts, and
the drift measured while it is stale requests no retrain. A source that was never provided (an
empty table: an orders-only export) is not stale: it has nothing to deliver.
"""

from dataclasses import dataclass
from datetime import date

import duckdb

from dagster_project.lib.names import STAGING_SCHEMA

EVENT_TIMES: dict[str, tuple[str, str]] = {
    "orders": ("stg_shop__orders", "ordered_at"),
    "web_events": ("stg_web__events", "event_at"),
    "campaign_events": ("stg_marketing__campaign_events", "event_at"),
    "social_interactions": ("stg_social__interactions", "occurred_at"),
}
"""Source -> its staging model and the time its events happened."""
HISTORY_DAYS = 180


@dataclass(frozen=True)
class SourceAge:
    source: str
    newest_event: date | None  # None: the source has no events at all (not provided)
    days_silent: int | None
    longest_usual_silence: int  # the longest gap between event days in the history before

    def stale(self, max_age_days: int) -> bool:
        limit = max(max_age_days, self.longest_usual_silence)
        return self.days_silent is not None and self.days_silent > limit


def source_ages(conn: duckdb.DuckDBPyConnection, as_of_date: date) -> list[SourceAge]:
    """Every event source's newest event on or before `as_of_date`, and the days since."""
    ages = []
    for source, (model, column) in EVENT_TIMES.items():
        newest, longest_gap = conn.execute(
            f"""
            with days as (
                select distinct cast({column} as date) as day from {STAGING_SCHEMA}.{model}
                where cast({column} as date) <= $as_of
            ),
            recent as (
                select day, day - lag(day) over (order by day) as gap from days
                where day > (select max(day) from days) - {HISTORY_DAYS}
            )
            select max(day), coalesce(max(gap), 0) from recent
            """,
            {"as_of": as_of_date},
        ).fetchone()
        silent = (as_of_date - newest).days if newest is not None else None
        ages.append(SourceAge(source, newest, silent, int(longest_gap)))
    return ages


def stale_sources(ages: list[SourceAge], max_age_days: int) -> list[SourceAge]:
    return [age for age in ages if age.stale(max_age_days)]


def describe_stale(stale: list[SourceAge], max_age_days: int) -> str:
    """One sentence naming each stale source, its newest event and its silence."""
    listed = "; ".join(
        f"{age.source}: newest event {age.newest_event}, {age.days_silent} days before the as-of "
        f"date (its longest silence before: {age.longest_usual_silence} days)"
        for age in stale
    )
    return (
        f"stale sources (no events for more than {max_age_days} days): {listed}. Check that "
        "their exports still arrive in the landing folder."
    )
