"""Customer ids that are direct identifiers: an email address or a phone number used as the key.

The customer id travels everywhere (features, segment tables, the snapshot, exports), so it must
be pseudonymous. A delivery whose customer ids look like emails (`name@domain.tld`) or phone
numbers (8 to 15 digits written with a leading `+`, spaces or parentheses: `+44 7700 900123`,
`(555) 010-9999`) stops the load with advice. Digit strings, with or without dashes, are not taken
for phone numbers: customer numbers often look like that (`17850`, `2021-000123`).

A source mapping with `pseudonymize_customer_id: true` hashes every customer id at ingest instead
(HMAC-SHA256 under `<warehouse>.id-key`, its own random key, owner-only, never rotated with the
pseudonymisation key: the ids must stay the same), so raw and everything after it hold only the
pseudonymous id.
"""

import contextlib
import hashlib
import hmac
from pathlib import Path

import duckdb

from dagster_project.lib.ingest.errors import InputFileError
from dagster_project.lib.pii_key import read_or_create_secret
from dagster_project.lib.sql import sql_string

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_CHARACTERS = r"^\+?[0-9 ()./-]+$"
PHONE_WRITTEN = r"^\+|[ ()]"
ID_KEY_SUFFIX = ".id-key"
PSEUDONYMOUS_ID_FUNCTION = "pseudonymous_customer_id"


def looks_like_contact(column: str) -> str:
    """SQL: whether the text in `column` looks like an email address or a phone number."""
    value = f"trim(cast({column} as varchar))"
    digits = f"length(regexp_replace({value}, '[^0-9]', '', 'g'))"
    return (
        f"(regexp_matches({value}, {sql_string(EMAIL)}) or ("
        f"regexp_matches({value}, {sql_string(PHONE_CHARACTERS)}) "
        f"and regexp_matches({value}, {sql_string(PHONE_WRITTEN)}) "
        f"and {digits} between 8 and 15))"
    )


def check_customer_ids(
    conn: duckdb.DuckDBPyConnection, relation: str, path: Path, pseudonymized: bool
) -> None:
    """Stops the load when `relation`'s customer_id values look like emails or phone numbers,
    unless the mapping pseudonymises them; the message holds counts, never a value."""
    if pseudonymized:
        return
    total, contacts = conn.execute(
        f"select count(*), count(*) filter (where {looks_like_contact('customer_id')}) "
        f"from ({relation})"
    ).fetchone()
    if contacts:
        raise InputFileError(
            path,
            f"{contacts:,} of {total:,} customer ids look like email addresses or phone numbers. "
            "The customer id is published in every segment table and export, so it must not "
            "identify a person directly: deliver a customer number instead, or, with a source "
            "mapping, set `pseudonymize_customer_id: true` at its top level to replace every "
            "customer id with a keyed hash at ingest (docs/privacy.md).",
            column="customer_id",
        )


def register_pseudonymous_ids(conn: duckdb.DuckDBPyConnection, warehouse_path: Path) -> str:
    """Registers the function that pseudonymises customer ids on `conn` (the key stays in this
    process); returns its name."""
    key = read_or_create_secret(
        warehouse_path.with_name(warehouse_path.name + ID_KEY_SUFFIX)
    ).encode()

    def pseudonymous(customer_id: str | None) -> str | None:
        if customer_id is None or not customer_id.strip():
            return None
        return hmac.new(key, customer_id.strip().encode(), hashlib.sha256).hexdigest()[:32]

    with contextlib.suppress(duckdb.InvalidInputException):  # registered by an earlier load
        conn.remove_function(PSEUDONYMOUS_ID_FUNCTION)
    conn.create_function(
        PSEUDONYMOUS_ID_FUNCTION, pseudonymous, ["VARCHAR"], "VARCHAR", side_effects=False
    )
    return PSEUDONYMOUS_ID_FUNCTION
