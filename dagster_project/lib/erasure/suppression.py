"""The suppression list of erased customers, the drop of their redelivered rows, and the log.

An erased customer is kept only as the keyed hash of their id (`request_hash`), made with a key
of its own (`<warehouse>.erasure-key`, random, readable by its owner only): rotating the
pseudonymisation key must not forget who was erased, and a hash under a key that is not in the
repository cannot be matched against a list of ids by anyone without the file. Every load checks
the customer ids it brought against the list and drops the matching rows (and what hangs off
them) before any check or model reads them, counting them per table.
"""

import hashlib
import hmac
import json
from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project.lib.erasure.rows import remove_customers
from dagster_project.lib.names import ERASURE_LOG_TABLE, RAW_SCHEMA, SEGMENTS_SCHEMA
from dagster_project.lib.pii_key import read_or_create_secret
from dagster_project.lib.segment_store.reads import table_exists

SUPPRESSED = f"{RAW_SCHEMA}._erased_customers"
DROPPED_AT_INGEST = f"{RAW_SCHEMA}._erased_rows_dropped"
KEY_FILE_SUFFIX = ".erasure-key"


def erasure_key(warehouse_path: Path) -> bytes:
    path = warehouse_path.with_name(warehouse_path.name + KEY_FILE_SUFFIX)
    return read_or_create_secret(path).encode()


def request_hash(key: bytes, customer_id: str) -> str:
    return hmac.new(key, customer_id.strip().encode(), hashlib.sha256).hexdigest()


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"create schema if not exists {RAW_SCHEMA}")
    conn.execute(f"create schema if not exists {SEGMENTS_SCHEMA}")
    conn.execute(
        f"""
        create table if not exists {SUPPRESSED} (
            request_hash varchar primary key, erased_at timestamp with time zone not null
        );
        create table if not exists {DROPPED_AT_INGEST} (
            dropped_at timestamp with time zone not null, source_table varchar not null,
            rows bigint not null
        );
        create table if not exists {ERASURE_LOG_TABLE} (
            request_hash varchar not null, requested_at timestamp with time zone not null,
            completed_at timestamp with time zone, rows_removed json
        );
        """
    )


def record_erasure(
    conn: duckdb.DuckDBPyConnection,
    hashes: list[str],
    requested_at: datetime,
    rows_removed: dict[str, int],
) -> None:
    """Suppresses `hashes` and logs the erasure (completed later by `complete_erasure`)."""
    conn.executemany(
        f"insert or ignore into {SUPPRESSED} values (?, ?)", [[h, requested_at] for h in hashes]
    )
    conn.executemany(
        f"insert into {ERASURE_LOG_TABLE} values (?, ?, null, ?)",
        [[h, requested_at, json.dumps(rows_removed, sort_keys=True)] for h in hashes],
    )


def complete_erasure(
    conn: duckdb.DuckDBPyConnection, hashes: list[str], requested_at: datetime, now: datetime
) -> None:
    conn.execute(
        f"update {ERASURE_LOG_TABLE} set completed_at = ? "
        "where requested_at = ? and request_hash in (select unnest(?))",
        [now, requested_at, hashes],
    )


def suppressed_hashes(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """The request hashes of every erased customer (none before the first erasure)."""
    if not table_exists(conn, SUPPRESSED):
        return set()
    return {h for (h,) in conn.execute(f"select request_hash from {SUPPRESSED}").fetchall()}


def drop_suppressed_rows(
    conn: duckdb.DuckDBPyConnection, key: bytes, now: datetime
) -> dict[str, int]:
    """Removes from schema raw the rows of erased customers that a load brought back; returns
    (and records) the rows dropped per table."""
    suppressed = suppressed_hashes(conn)
    if not suppressed:
        return {}  # nobody was ever erased
    tables = conn.execute(
        "select schema_name || '.' || table_name from duckdb_columns() "
        "where database_name = current_database() and schema_name = ? "
        "and column_name = 'customer_id'",
        [RAW_SCHEMA],
    ).fetchall()
    ids = {
        customer
        for (table,) in tables
        for (customer,) in conn.execute(
            f"select distinct trim(customer_id) from {table} where customer_id is not null"
        ).fetchall()
    }
    erased = sorted(c for c in ids if request_hash(key, c) in suppressed)
    if not erased:
        return {}
    dropped = remove_customers(conn, erased, schemas=(RAW_SCHEMA,))
    conn.executemany(
        f"insert into {DROPPED_AT_INGEST} values (?, ?, ?)",
        [[now, table, rows] for table, rows in dropped.items()],
    )
    return dropped
