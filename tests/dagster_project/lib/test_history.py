"""The type-2 history splice on a small in-memory DuckDB: days published in any order give the
same history and transitions, and re-publishing a day changes nothing."""

import itertools
from datetime import date

import duckdb
import pandas as pd
import pytest

from dagster_project.lib.segment_store import history

DAYS = [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
# customer -> segment on each day (None: not a customer that day)
STATES = {
    "a": [1, 1, 2, 2],
    "b": [1, 2, 1, 1],
    "c": [None, 3, 3, None],
    "d": [2, 2, 2, 2],
    "e": [3, None, None, 1],
}
# Customers the consent policy leaves out, with the reason (c withdrew consent before day 4).
LEFT_OUT = "(select 'c' as customer_id, 'no_marketing_consent' as reason)"


def assignments(day: date) -> pd.DataFrame:
    position = DAYS.index(day)
    return pd.DataFrame(
        [(c, s[position]) for c, s in STATES.items() if s[position] is not None],
        columns=["customer_id", "segment_id"],
    )


def publish_in_order(days: list[date]) -> duckdb.DuckDBPyConnection:
    """Splices `days` one by one, as publish() would: each with the days already there after it."""
    conn = duckdb.connect()
    history.create_history_tables(conn)
    published: list[date] = []
    for day in days:
        later = tuple(sorted(d for d in published if d > day))
        conn.register("day_assignments", assignments(day))
        history.splice_day(conn, day, later, "day_assignments", LEFT_OUT)
        conn.unregister("day_assignments")
        published.append(day)
    return conn


def contents(conn: duckdb.DuckDBPyConnection) -> tuple[list, list]:
    spells = conn.execute(
        f"select * from {history.HISTORY} order by customer_id, valid_from"
    ).fetchall()
    moves = conn.execute(f"select * from {history.TRANSITIONS} order by all nulls first").fetchall()
    return spells, moves


def test_history_of_days_in_order_is_exact() -> None:
    spells, moves = contents(publish_in_order(DAYS))
    d1, d2, d3, d4 = DAYS
    assert spells == [
        ("a", 1, d1, d3, "moved"),
        ("a", 2, d3, None, None),
        ("b", 1, d1, d2, "moved"),
        ("b", 2, d2, d3, "moved"),
        ("b", 1, d3, None, None),
        ("c", 3, d2, d4, "no_marketing_consent"),
        ("d", 2, d1, None, None),
        ("e", 3, d1, d2, "left"),
        ("e", 1, d4, None, None),
    ]
    # From null: new; to null: gone.
    assert (d2, 3, None, 1) in moves  # e left
    assert (d2, None, 3, 1) in moves  # c arrived
    assert (d3, 1, 2, 1) in moves and (d3, 2, 1, 1) in moves  # a and b swapped
    assert (d4, 3, None, 1) in moves and (d4, None, 1, 1) in moves  # c left, e came back
    first_day = [row for row in moves if row[0] == d1]
    assert sorted(first_day, key=str) == sorted(
        [(d1, None, 1, 2), (d1, None, 2, 1), (d1, None, 3, 1)], key=str
    )


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(DAYS))))[1::5])
def test_days_out_of_order_give_the_same_history(order: tuple[int, ...]) -> None:
    expected = contents(publish_in_order(DAYS))
    assert contents(publish_in_order([DAYS[i] for i in order])) == expected


def test_republishing_a_day_changes_nothing() -> None:
    expected = contents(publish_in_order(DAYS))
    for day in DAYS:
        assert contents(publish_in_order([*DAYS, day])) == expected


def test_moved_customers_counts_changes_of_segment_only() -> None:
    conn = publish_in_order(DAYS)
    assert [history.moved_customers(conn, day) for day in DAYS] == [0, 1, 2, 0]
