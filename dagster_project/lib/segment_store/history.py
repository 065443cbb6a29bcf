"""The type-2 segment history and the daily transitions, with a day spliced in at any place.

`segment_history` holds one row per customer and spell (`valid_from` inclusive, `valid_to`
exclusive, null while it lasts) and why it ended (`closed_because`: `moved` to another segment,
the reason the consent policy left the customer out, or `left` the features otherwise);
`segment_transitions` counts, per as-of date, the customers
going from one segment to another (`from` null: new; `to` null: gone). Days can be published in
any order: the states of the later days are read back from the history, everything from the
spliced day on is undone, and the days are re-applied in date order. The result is the same
whatever the order, and re-applying a day that is already there changes nothing.
"""

from datetime import date

import duckdb

from dagster_project.lib.names import SEGMENT_HISTORY, SEGMENT_TRANSITIONS, SEGMENTS_SCHEMA

HISTORY = f"{SEGMENTS_SCHEMA}.{SEGMENT_HISTORY}"
TRANSITIONS = f"{SEGMENTS_SCHEMA}.{SEGMENT_TRANSITIONS}"
MOVED = "moved"
LEFT = "left"


def create_history_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"create schema if not exists {SEGMENTS_SCHEMA}")
    conn.execute(
        f"""
        create table if not exists {HISTORY} (
            customer_id varchar not null, segment_id integer not null,
            valid_from date not null, valid_to date, closed_because varchar
        );
        create table if not exists {TRANSITIONS} (
            as_of_date date not null, from_segment_id integer, to_segment_id integer,
            customers bigint not null
        );
        """
    )
    # Warehouses from before closed_because: their closed spells get no reason.
    conn.execute(f"alter table {HISTORY} add column if not exists closed_because varchar")


def splice_day(
    conn: duckdb.DuckDBPyConnection,
    as_of_date: date,
    later: tuple[date, ...],
    assignments: str,
    left_out: str,
) -> None:
    """History and transitions with `as_of_date`'s `assignments` (a relation of customer_id,
    segment_id) in place, and the `later` dates already published re-applied after it.
    `left_out` (customer_id, reason) says why customers who are not assigned left."""
    conn.execute(
        f"""
        create or replace temp table later_states as
        select dates.as_of_date, history.customer_id, history.segment_id
        from {HISTORY} as history
        join (select unnest(?::date[]) as as_of_date) as dates
          on history.valid_from <= dates.as_of_date
         and (history.valid_to is null or history.valid_to > dates.as_of_date)
        """,
        [list(later)],
    )
    _undo_from(conn, as_of_date)
    _apply_day(conn, as_of_date, assignments, left_out)
    for day in later:
        conn.execute(
            "create or replace temp view replayed_states as select customer_id, segment_id "
            f"from later_states where as_of_date = date '{day.isoformat()}'"
        )
        _apply_day(conn, day, "replayed_states", left_out)
    conn.execute("drop view if exists replayed_states")
    conn.execute("drop table later_states")


def moved_customers(conn: duckdb.DuckDBPyConnection, as_of_date: date) -> int:
    """Customers who changed segment on `as_of_date` (not counting arrivals and departures)."""
    return conn.execute(
        f"select coalesce(sum(customers), 0) from {TRANSITIONS} "
        "where as_of_date = ? and from_segment_id <> to_segment_id",
        [as_of_date],
    ).fetchone()[0]


def _undo_from(conn: duckdb.DuckDBPyConnection, as_of_date: date) -> None:
    """History and transitions as they were before `as_of_date` or any later date was added."""
    for statement in (
        f"delete from {HISTORY} where valid_from >= $as_of",
        f"update {HISTORY} set valid_to = null, closed_because = null where valid_to >= $as_of",
        f"delete from {TRANSITIONS} where as_of_date >= $as_of",
    ):
        conn.execute(statement, {"as_of": as_of_date})


def _apply_day(
    conn: duckdb.DuckDBPyConnection, as_of_date: date, assignments: str, left_out: str
) -> None:
    """Adds one day's assignments (relation `assignments`) on top of the history so far: the
    day's transitions, closed intervals for customers who moved or left (with the reason),
    new ones for the rest."""
    statements = (
        f"""
        insert into {TRANSITIONS}
        select $as_of, before.segment_id, after.segment_id, count(*)
        from (select * from {HISTORY} where valid_to is null) as before
        full outer join {assignments} as after using (customer_id)
        group by all
        """,
        f"""
        update {HISTORY} as history
        set
            valid_to = $as_of,
            closed_because = coalesce(
                (select any_value(reason) from {left_out} as out
                 where out.customer_id = history.customer_id),
                case
                    when exists (
                        select 1 from {assignments} as after
                        where after.customer_id = history.customer_id
                    ) then '{MOVED}'
                    else '{LEFT}'
                end
            )
        where valid_to is null and not exists (
            select 1 from {assignments} as after
            where after.customer_id = history.customer_id and after.segment_id = history.segment_id
        )
        """,
        f"""
        insert into {HISTORY} (customer_id, segment_id, valid_from)
        select customer_id, segment_id, $as_of from {assignments} as after
        where not exists (
            select 1 from {HISTORY} as history
            where history.customer_id = after.customer_id and history.valid_to is null
        )
        """,
    )
    for statement in statements:
        conn.execute(statement, {"as_of": as_of_date})
