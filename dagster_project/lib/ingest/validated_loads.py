"""Which loads of each raw table passed the raw gate, and taking back the ones that did not.

A load stamps its rows with its time (`_loaded_at`). `raw._validated_loads` lists the loads whose
rows passed the table's blocking check. The gate validates every row of a load not in it (not
only the newest load's: a load whose check failed, or whose run died before the check, is
validated again), and when a check fails, every unvalidated load is rolled back: its rows are
deleted and its files leave the load log, so that they count as new and are loaded (and
checked) again on the next run, until they are fixed or removed. Rows that failed a blocking
check never reach staging, whatever arrives later.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import duckdb

from dagster_project.lib.ingest.load_log import LOAD_LOG
from dagster_project.lib.names import RAW_SCHEMA

VALIDATED_LOADS = f"{RAW_SCHEMA}._validated_loads"


@dataclass(frozen=True)
class RolledBack:
    """What a rollback took out of one raw table."""

    table: str
    rows: int
    files: tuple[str, ...]


def ensure_ledger(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        f"create table if not exists {VALIDATED_LOADS} (source varchar not null, "
        "loaded_at timestamp with time zone not null, validated_at timestamp with time zone)"
    )


def unvalidated(table: str) -> str:
    """SQL condition on raw.<table>'s rows: loaded by a load that has not passed the gate."""
    return f"_loaded_at not in (select loaded_at from {VALIDATED_LOADS} where source = '{table}')"


def unvalidated_loads(conn: duckdb.DuckDBPyConnection, table: str) -> list[datetime]:
    return [
        loaded_at
        for (loaded_at,) in conn.execute(
            f"select distinct _loaded_at from {RAW_SCHEMA}.{table} where {unvalidated(table)} "
            "order by 1"
        ).fetchall()
    ]


def record_validated(
    conn: duckdb.DuckDBPyConnection, table: str, loads: Iterable[datetime], now: datetime
) -> None:
    conn.executemany(
        f"insert into {VALIDATED_LOADS} values (?, ?, ?)",
        [(table, loaded_at, now) for loaded_at in loads],
    )


def roll_back_unvalidated(conn: duckdb.DuckDBPyConnection, tables: list[str]) -> list[RolledBack]:
    """Deletes the rows of every unvalidated load of `tables` and forgets their files, in one
    transaction."""
    conn.execute("begin transaction")
    try:
        rolled_back = [_roll_back(conn, table) for table in tables]
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return [entry for entry in rolled_back if entry.rows]


def _roll_back(conn: duckdb.DuckDBPyConnection, table: str) -> RolledBack:
    loads = unvalidated_loads(conn, table)
    if not loads:
        return RolledBack(table, 0, ())
    files = tuple(
        sorted(
            path
            for (path,) in conn.execute(
                f"select path from {LOAD_LOG} where source = ? and list_contains(?, loaded_at)",
                [table, loads],
            ).fetchall()
        )
    )
    (rows,) = conn.execute(
        f"delete from {RAW_SCHEMA}.{table} where list_contains(?, _loaded_at)", [loads]
    ).fetchone()
    conn.execute(
        f"delete from {LOAD_LOG} where source = ? and list_contains(?, loaded_at)", [table, loads]
    )
    return RolledBack(table, rows, files)
