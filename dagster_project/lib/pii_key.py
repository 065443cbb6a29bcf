"""The key that pseudonymises emails and phones (HMAC-SHA256 in dbt's staging), and the
warehouse's record of which key its hashes were made with.

Never a public key: SEG_PII_HASH_KEY when set, otherwise a random key created on the first run in
a file beside the warehouse (`<warehouse>.pii-key`, readable by its owner only) and reused. The
warehouse records the key's fingerprint (an HMAC of a fixed text under the key, so the key cannot
be read back from it) with the first build. A later build with another key would mix old and new
hashes of the same email, so it stops, naming both fingerprints, until `python -m
dagster_project.rotate_key` has marked a rotation to the key in use: the next build then rebuilds
every hash from the raw values (a full refresh) and records the new fingerprint. A warehouse built
before fingerprints were recorded is rebuilt once the same way, since no one can tell which key
its hashes were made with.
"""

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from dagster_project.lib.ingest.load_log import ensure_tables, request_rebuild
from dagster_project.lib.names import RAW_SCHEMA, STAGING_SCHEMA

KEY_VARIABLE = "SEG_PII_HASH_KEY"
KEY_FILE_SUFFIX = ".pii-key"
FINGERPRINTS = f"{RAW_SCHEMA}._pii_key"
FINGERPRINT_TEXT = b"customer-segments: fingerprint of the pseudonymisation key"
HASHED_TABLE = f"{STAGING_SCHEMA}.stg_shop__customers"
REBUILD_SOURCE = "customers"


class KeyMismatchError(RuntimeError):
    """The key in use is not the one the warehouse's hashes were made with."""


@dataclass(frozen=True)
class PiiKey:
    secret: str = field(repr=False)
    source: str  # KEY_VARIABLE, or the key file's path
    file: Path | None = None  # the key file, when the key came from one

    @property
    def fingerprint(self) -> str:
        return hmac.new(self.secret.encode(), FINGERPRINT_TEXT, hashlib.sha256).hexdigest()[:16]


def key_file(warehouse_path: Path) -> Path:
    return warehouse_path.with_name(warehouse_path.name + KEY_FILE_SUFFIX)


def resolve_key(warehouse_path: Path, environ: dict[str, str] | None = None) -> PiiKey:
    """SEG_PII_HASH_KEY, or the key file beside the warehouse, created with a random key (owner
    read and write only) when missing."""
    environ = os.environ if environ is None else environ
    if environ.get(KEY_VARIABLE):
        return PiiKey(environ[KEY_VARIABLE], KEY_VARIABLE)
    path = key_file(warehouse_path)
    return PiiKey(read_or_create_secret(path), str(path), path)


def read_or_create_secret(path: Path) -> str:
    """The random key in `path`, created (owner read and write only) when missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(32) + "\n")
    secret = path.read_text().strip()
    if not secret:
        raise KeyMismatchError(f"The key file {path} is empty: restore it, or delete it and rotate")
    return secret


def _ensure(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"create schema if not exists {RAW_SCHEMA}")
    conn.execute(
        f"create table if not exists {FINGERPRINTS} (fingerprint varchar not null, "
        "state varchar not null, recorded_at timestamp with time zone not null)"
    )


def _fingerprint(conn: duckdb.DuckDBPyConnection, state: str) -> str | None:
    rows = conn.execute(
        f"select fingerprint from {FINGERPRINTS} where state = ? order by recorded_at desc",
        [state],
    ).fetchall()
    return rows[0][0] if rows else None


def _has_hashes(conn: duckdb.DuckDBPyConnection) -> bool:
    schema, table = HASHED_TABLE.split(".")
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


def prepare_build(conn: duckdb.DuckDBPyConnection, key: PiiKey) -> bool:
    """Checks the key before a build; True when this build must rebuild every hash (a rotation,
    or a warehouse whose hashes predate fingerprints), for which a full refresh is requested.
    Raises KeyMismatchError when the key differs from the recorded one without a rotation."""
    _ensure(conn)
    recorded = _fingerprint(conn, "in use")
    if recorded == key.fingerprint:
        return False
    if recorded is None and not _has_hashes(conn):
        return False  # the first build makes every hash with this key
    if recorded is not None and _fingerprint(conn, "rotating to") != key.fingerprint:
        raise KeyMismatchError(
            f"The warehouse's emails and phones were pseudonymised with the key of fingerprint "
            f"{recorded}; the key in use ({key.source}) has fingerprint {key.fingerprint}. "
            "Building with it would mix old and new hashes of the same customers. Put the "
            "original key back, or re-hash everything with this key: python -m "
            "dagster_project.rotate_key (docs/privacy.md)."
        )
    ensure_tables(conn)
    request_rebuild(conn, REBUILD_SOURCE, "pseudonymisation key changed", datetime.now(UTC))
    return True


def record_build(conn: duckdb.DuckDBPyConnection, key: PiiKey) -> None:
    """After a build that made every hash with `key`: it is the key in use."""
    _ensure(conn)
    conn.execute(f"delete from {FINGERPRINTS}")
    conn.execute(f"insert into {FINGERPRINTS} values (?, 'in use', now())", [key.fingerprint])


def mark_rotation(conn: duckdb.DuckDBPyConnection, key: PiiKey) -> None:
    """Allows the next build to re-hash everything with `key`."""
    _ensure(conn)
    conn.execute(f"delete from {FINGERPRINTS} where state = 'rotating to'")
    conn.execute(f"insert into {FINGERPRINTS} values (?, 'rotating to', now())", [key.fingerprint])
