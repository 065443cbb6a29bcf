"""Retention (docs/privacy.md#retention): raw events and segment history older than a configured
number of days are purged.

`SEG_RETENTION_DAYS` lists `source=days` pairs (e.g. `web_events=400,segment_history=1095`); a
source not listed is kept. An event source's rows stamped before the cutoff (the day `days` before
the as-of date) leave its raw table and its incremental staging model together, an order's lines
with it, and the next refresh rebuilds every later layer in full (a pending rebuild, like a load
that replaced rows): per-customer incremental models would not notice rows that are gone. Features
computed over a window shorter than the retention (the 90-day features) do not change, but for
recent anonymous web events whose visitor's owner was decided by expired events; counts over a
customer's whole history do, so the purge also drops the quality baseline: the next refresh is not
compared with a run that still counted the purged rows. Segment history keeps the spells that
ended within the retention and the transitions of those days. Every purge is recorded in
`raw._retention_purges`.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from dagster_project.lib.ingest.load_log import ensure_tables, request_rebuild
from dagster_project.lib.names import (
    RAW_SCHEMA,
    SEGMENT_HISTORY,
    SEGMENT_TRANSITIONS,
    SEGMENTS_SCHEMA,
    STAGING_SCHEMA,
)
from dagster_project.lib.segment_store.reads import table_exists
from data_checks.baseline import FREQUENCY_TABLE, SUMMARY_TABLE

PURGES = f"{RAW_SCHEMA}._retention_purges"


@dataclass(frozen=True)
class EventSource:
    time_column: str
    staging_model: str


EVENT_SOURCES = {
    "orders": EventSource("ordered_at", "stg_shop__orders"),
    "web_events": EventSource("event_at", "stg_web__events"),
    "campaign_events": EventSource("event_at", "stg_marketing__campaign_events"),
    "social_interactions": EventSource("occurred_at", "stg_social__interactions"),
}
ORDER_LINES = {"raw": "order_items", "staging": "stg_shop__order_items"}
RETAINED = (*EVENT_SOURCES, SEGMENT_HISTORY)


def parse_retention(value: str) -> dict[str, int]:
    """`source=days,...` as a mapping; raises ValueError naming the bad entry."""
    retention: dict[str, int] = {}
    for entry in filter(None, (part.strip() for part in value.split(","))):
        source, _, days = entry.partition("=")
        source = source.strip()
        if source not in RETAINED:
            raise ValueError(
                f"SEG_RETENTION_DAYS: unknown source '{source}' in '{entry}'; one of "
                f"{', '.join(RETAINED)}"
            )
        if not days.strip().isdigit() or int(days) < 1:
            raise ValueError(
                f"SEG_RETENTION_DAYS: '{entry}' needs a whole number of days of at least 1"
            )
        retention[source] = int(days)
    return retention


def purge(
    conn: duckdb.DuckDBPyConnection, retention: dict[str, int], as_of: date, now: datetime
) -> dict[str, int]:
    """Deletes what is older than each source's retention, in one transaction; returns the rows
    removed per table."""
    ensure_tables(conn)
    conn.execute(
        f"create table if not exists {PURGES} (purged_at timestamp with time zone not null, "
        "table_name varchar not null, cutoff date not null, rows bigint not null)"
    )
    removed: dict[str, int] = {}
    conn.execute("begin transaction")
    try:
        for source, days in retention.items():
            cutoff = as_of - timedelta(days=days)
            counts = (
                _purge_history(conn, cutoff)
                if source == SEGMENT_HISTORY
                else _purge_events(conn, source, cutoff)
            )
            for table, rows in counts.items():
                conn.execute(
                    f"insert into {PURGES} values (?, ?, ?, ?)", [now, table, cutoff, rows]
                )
                removed[table] = rows
            if source != SEGMENT_HISTORY and any(counts.values()):
                # The per-customer incremental models only see rows that changed, not rows gone.
                request_rebuild(conn, source, f"rows before {cutoff} purged (retention)", now)
                # Whole-history features drop on purpose: the last validated run is no yardstick.
                for table in (SUMMARY_TABLE, FREQUENCY_TABLE):
                    conn.execute(f"drop table if exists {table}")
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return removed


def _purge_events(conn: duckdb.DuckDBPyConnection, source: str, cutoff: date) -> dict[str, int]:
    spec = EVENT_SOURCES[source]
    layers = {"raw": f"{RAW_SCHEMA}.{source}", "staging": f"{STAGING_SCHEMA}.{spec.staging_model}"}
    tables = {layer: table for layer, table in layers.items() if table_exists(conn, table)}
    before = f"{spec.time_column} < cast(? as date)"
    counts: dict[str, int] = {}
    if source == "orders":
        counts |= _purge_order_lines(
            conn, [f"select order_id from {t} where {before}" for t in tables.values()], cutoff
        )
    for table in tables.values():
        (rows,) = conn.execute(f"delete from {table} where {before}", [cutoff]).fetchone()
        counts[table] = rows
    return counts


def _purge_order_lines(
    conn: duckdb.DuckDBPyConnection, expired_orders: list[str], cutoff: date
) -> dict[str, int]:
    """The lines of orders expired in either layer, from both: staging may have dropped an order
    as dirt while keeping its lines (a tolerated orphan), whose raw order expires."""
    if not expired_orders:
        return {}
    conn.execute(
        "create or replace temp table expired_orders as " + " union ".join(expired_orders),
        [cutoff] * len(expired_orders),
    )
    counts: dict[str, int] = {}
    for lines in (
        f"{RAW_SCHEMA}.{ORDER_LINES['raw']}",
        f"{STAGING_SCHEMA}.{ORDER_LINES['staging']}",
    ):
        if table_exists(conn, lines):
            (rows,) = conn.execute(
                f"delete from {lines} where order_id in (select order_id from expired_orders)"
            ).fetchone()
            counts[lines] = rows
    conn.execute("drop table expired_orders")
    return counts


def _purge_history(conn: duckdb.DuckDBPyConnection, cutoff: date) -> dict[str, int]:
    statements = {
        f"{SEGMENTS_SCHEMA}.{SEGMENT_HISTORY}": "valid_to < ?",
        f"{SEGMENTS_SCHEMA}.{SEGMENT_TRANSITIONS}": "as_of_date < ?",
    }
    counts: dict[str, int] = {}
    for table, condition in statements.items():
        if table_exists(conn, table):
            (rows,) = conn.execute(f"delete from {table} where {condition}", [cutoff]).fetchone()
            counts[table] = rows
    return counts
