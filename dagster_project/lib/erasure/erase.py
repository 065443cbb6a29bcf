"""One erasure, start to end (docs/privacy.md#erasure).

1. The requested customers are found: by id, and by email in raw.customers (compared in its
   normalised form) and in staging (by the keyed hash).
2. Their rows leave the audience exports in the outbox, and their keys and contact hashes are
   redacted from every file beside the warehouse (Data Docs, validation results, alerts) and from
   Dagster's storage, first: should the erasure stop later, running it again still knows what to
   look for.
3. In one transaction, their rows leave every table of the warehouse, their keyed hashes join the
   suppression list and the erasure log records each request (hash, times, rows per table).
4. The warehouse file is rewritten (no deleted row survives in a free block), the snapshot is
   published again, and the log entries are completed.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from dagster_project.lib.audiences.outbox import remove_customers as remove_from_outbox
from dagster_project.lib.duckdb_files import base_table_columns, connect, rewrite
from dagster_project.lib.erasure.requests import ErasureRequest
from dagster_project.lib.erasure.rows import remove_customers
from dagster_project.lib.erasure.suppression import (
    complete_erasure,
    ensure_tables,
    erasure_key,
    record_erasure,
    request_hash,
)
from dagster_project.lib.erasure.traces import redact_folder
from dagster_project.lib.names import CUSTOMER_SEGMENTS, RAW_SCHEMA, SEGMENTS_SCHEMA
from dagster_project.lib.pii_key import resolve_key
from dagster_project.lib.segment_store.reads import table_exists
from dagster_project.lib.snapshot import publish_snapshot

CONTACT_HASHES = ("email_hash", "phone_hash")


@dataclass(frozen=True)
class ErasureReport:
    requests: int
    customers_found: int
    request_hashes: tuple[str, ...]
    rows_removed: dict[str, int]
    files_redacted: int
    snapshot_published: bool


@dataclass(frozen=True)
class ErasurePaths:
    warehouse: Path
    snapshot: Path
    dagster_home: Path | None  # Dagster's storage (event log, compute logs), when on disk
    memory_limit: str
    outbox: Path | None = None  # the audience exports (docs/audiences.md)


def erase(paths: ErasurePaths, request: ErasureRequest, run_id: str) -> ErasureReport:
    """Erases the customers of `request` (see the module docstring). The caller holds the
    warehouse lock."""
    requested_at = datetime.now(UTC)
    warehouse = paths.warehouse
    pii_secret = resolve_key(warehouse).secret.encode()
    email_hashes = [
        hmac.new(pii_secret, email.encode(), hashlib.sha256).hexdigest() for email in request.emails
    ]
    with connect(warehouse, paths.memory_limit) as conn:
        ensure_tables(conn)
        customers = sorted(set(request.customer_ids) | _by_email(conn, request, email_hashes))
        tokens = [*customers, *_contact_hashes(conn, customers), *email_hashes]
    outbox_files = remove_from_outbox(paths.outbox, customers) if paths.outbox else 0
    redacted = redact_folder(warehouse.parent, tokens, skip=(warehouse, paths.snapshot))
    if paths.dagster_home is not None:
        redacted += redact_folder(paths.dagster_home, tokens)
    key = erasure_key(warehouse)
    hashes = [request_hash(key, customer) for customer in customers]
    with connect(warehouse, paths.memory_limit) as conn:
        conn.execute("begin transaction")
        try:
            removed = remove_customers(conn, customers)
            record_erasure(conn, hashes, requested_at, removed)
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
    rewrite(warehouse)
    with connect(warehouse, paths.memory_limit) as conn:
        published = table_exists(conn, CUSTOMER_SEGMENTS)
        if published:
            publish_snapshot(conn, paths.snapshot, run_id)
        complete_erasure(conn, hashes, requested_at, datetime.now(UTC))
    return ErasureReport(
        requests=len(request.customer_ids) + len(request.emails),
        customers_found=len(customers),
        request_hashes=tuple(hashes),
        rows_removed=removed,
        files_redacted=len(redacted) + outbox_files,
        snapshot_published=published,
    )


def _by_email(
    conn: duckdb.DuckDBPyConnection, request: ErasureRequest, email_hashes: list[str]
) -> set[str]:
    """Customers with one of the requested emails, in the raw CRM export or (by keyed hash) in
    any table that keeps the hash."""
    found: set[str] = set()
    if request.emails and table_exists(conn, f"{RAW_SCHEMA}.customers"):
        found |= {
            c
            for (c,) in conn.execute(
                f"select distinct trim(customer_id) from {RAW_SCHEMA}.customers "
                "where lower(trim(email)) in (select unnest(?))",
                [list(request.emails)],
            ).fetchall()
        }
    for table, columns in _tables_with(conn, "email_hash").items():
        if email_hashes and "customer_id" in columns:
            found |= {
                c
                for (c,) in conn.execute(
                    f"select distinct customer_id from {table} "
                    "where email_hash in (select unnest(?))",
                    [email_hashes],
                ).fetchall()
            }
    return {c for c in found if c}


def _contact_hashes(conn: duckdb.DuckDBPyConnection, customers: list[str]) -> set[str]:
    """The keyed email and phone hashes the warehouse holds for `customers`."""
    hashes: set[str] = set()
    for column in CONTACT_HASHES:
        for table, columns in _tables_with(conn, column).items():
            if "customer_id" in columns and customers:
                hashes |= {
                    h
                    for (h,) in conn.execute(
                        f"select distinct {column} from {table} "
                        f"where customer_id in (select unnest(?)) and {column} is not null",
                        [customers],
                    ).fetchall()
                }
    return hashes


def _tables_with(conn: duckdb.DuckDBPyConnection, column: str) -> dict[str, set[str]]:
    """The tables outside schema segments that have `column`, with their columns."""
    return {
        table: set(columns)
        for table, columns in base_table_columns(conn).items()
        if column in columns and not table.startswith(f'"{SEGMENTS_SCHEMA}".')
    }
