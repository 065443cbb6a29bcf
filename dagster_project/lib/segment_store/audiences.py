"""`segments.audience_members` and `segments.audience_runs`: who was in which audience, in which
arm, from when to when, and what each run selected, left out and exported.

A membership is a spell, like a segment spell: (audience, customer, arm) from `joined_at` to
`left_at` (null while open), dated by the as-of date of the runs that opened and closed it. The
open spells are the last export, so they are also what the next run's diff is taken against.
"""

from dataclasses import asdict, dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from dagster_project.lib.names import AUDIENCE_MEMBERS, AUDIENCE_RUNS, SEGMENTS_SCHEMA
from dagster_project.lib.segment_store.reads import table_exists

MEMBERS = f"{SEGMENTS_SCHEMA}.{AUDIENCE_MEMBERS}"
RUNS = f"{SEGMENTS_SCHEMA}.{AUDIENCE_RUNS}"


@dataclass(frozen=True)
class AudienceRun:
    """One row of segments.audience_runs."""

    audience: str
    run_id: str
    as_of_date: date
    recorded_at: datetime
    matched: int  # customers the definition selects
    left_out_no_marketing_consent: int
    left_out_erased: int
    treated: int  # exported
    control: int  # held out, never exported
    added: int
    removed: int  # listed in the removed file
    removed_unlisted: int  # left because they may no longer be activated: counted, never listed
    exported: bool
    not_exported_because: str  # empty when exported
    outbox_batch: str  # the batch folder, relative to the outbox; empty when not exported


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"create schema if not exists {SEGMENTS_SCHEMA}")
    conn.execute(
        f"""
        create table if not exists {MEMBERS} (
            audience varchar not null, customer_id varchar not null, arm varchar not null,
            joined_at date not null, left_at date
        );
        create table if not exists {RUNS} (
            audience varchar not null, run_id varchar not null, as_of_date date not null,
            recorded_at timestamp not null, matched bigint not null,
            left_out_no_marketing_consent bigint not null, left_out_erased bigint not null,
            treated bigint not null, control bigint not null, added bigint not null,
            removed bigint not null, removed_unlisted bigint not null, exported boolean not null,
            not_exported_because varchar not null, outbox_batch varchar not null,
            delivery varchar
        );
        """
    )


def open_members(conn: duckdb.DuckDBPyConnection, audience: str) -> pd.DataFrame:
    """customer_id, arm of the audience's open spells (empty before its first export)."""
    if not table_exists(conn, MEMBERS):
        return pd.DataFrame({"customer_id": pd.Series(dtype=str), "arm": pd.Series(dtype=str)})
    return conn.execute(
        f"select customer_id, arm from {MEMBERS} where audience = ? and left_at is null",
        [audience],
    ).df()


def last_export(conn: duckdb.DuckDBPyConnection, audience: str) -> AudienceRun | None:
    if not table_exists(conn, RUNS):
        return None
    rows = conn.execute(
        f"select * exclude (delivery) from {RUNS} where audience = ? and exported "
        "order by recorded_at desc limit 1",
        [audience],
    ).fetchall()
    return AudienceRun(*rows[0]) if rows else None


def record_export(conn: duckdb.DuckDBPyConnection, run: AudienceRun, members: pd.DataFrame) -> None:
    """In one transaction: closes the spells of customers no longer in `members` (or now in the
    other arm), opens spells for those new to it, and records the run."""
    ensure_tables(conn)
    conn.register("selected", members[["customer_id", "arm"]])
    conn.execute("begin transaction")
    try:
        conn.execute(
            f"""
            update {MEMBERS} set left_at = ?
            where audience = ? and left_at is null
              and (customer_id, arm) not in (select (customer_id, arm) from selected)
            """,
            [run.as_of_date, run.audience],
        )
        conn.execute(
            f"""
            insert into {MEMBERS}
            select ?, customer_id, arm, ?, null from selected
            where (customer_id, arm) not in (
                select (customer_id, arm) from {MEMBERS} where audience = ? and left_at is null
            )
            """,
            [run.audience, run.as_of_date, run.audience],
        )
        _insert_run(conn, run)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("selected")


def record_not_exported(conn: duckdb.DuckDBPyConnection, run: AudienceRun) -> None:
    """A run whose export a check stopped: its counts, and why; the members stay as they were."""
    ensure_tables(conn)
    _insert_run(conn, run)


def record_delivery(
    conn: duckdb.DuckDBPyConnection, audience: str, run_id: str, delivery: str
) -> None:
    conn.execute(
        f"update {RUNS} set delivery = ? where audience = ? and run_id = ?",
        [delivery, audience, run_id],
    )


def _insert_run(conn: duckdb.DuckDBPyConnection, run: AudienceRun) -> None:
    values = list(asdict(run).values())
    conn.execute(f"insert into {RUNS} values ({', '.join('?' * len(values))}, null)", values)
