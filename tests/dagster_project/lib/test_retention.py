"""Retention on a small in-memory warehouse: the settings' syntax, and the segment history purge
keeping open spells and those that ended within the retention."""

from datetime import UTC, date, datetime

import duckdb
import pytest

from dagster_project.lib.retention import parse_retention, purge
from dagster_project.lib.segment_store import history


def test_retention_settings_are_validated() -> None:
    assert parse_retention(" web_events=400, segment_history=30 ") == {
        "web_events": 400,
        "segment_history": 30,
    }
    assert parse_retention("") == {}
    with pytest.raises(ValueError, match="unknown source 'customers'"):
        parse_retention("customers=30")
    with pytest.raises(ValueError, match="'orders=0' needs a whole number"):
        parse_retention("orders=0")


def test_history_keeps_open_and_recent_spells() -> None:
    conn = duckdb.connect()
    history.create_history_tables(conn)
    conn.execute(
        """
        insert into segments.segment_history values
            ('old', 1, date '2025-01-01', date '2025-03-01', 'moved'),
            ('recent', 1, date '2025-01-01', date '2026-05-01', 'left'),
            ('open', 2, date '2025-01-01', null, null);
        insert into segments.segment_transitions values
            (date '2025-03-01', 1, 2, 1), (date '2026-05-01', 1, null, 1);
        """
    )
    removed = purge(conn, {"segment_history": 365}, date(2026, 6, 1), datetime.now(UTC))
    assert removed == {"segments.segment_history": 1, "segments.segment_transitions": 1}
    kept = conn.execute("select customer_id from segments.segment_history order by 1").fetchall()
    assert kept == [("open",), ("recent",)]
