"""dbt-duckdb plugin: defines `pseudonymize(text)`, a keyed HMAC-SHA256 of personal data.

The key comes from the environment (SEG_PII_HASH_KEY) or from the key file the pipeline keeps
beside the warehouse (plugin setting `key_file`, from dbt var `pii_key_file`; see
dagster_project/lib/pii_key.py). It stays in this Python process: `pseudonymize` is a Python
(Arrow) function registered on each of dbt's DuckDB connections and cursors, so neither the key
nor anything derived from it appears in compiled SQL, dbt logs, the manifest, the database file or
the catalog (`duckdb_functions()` shows a SQL macro's definition to any model; a Python function's
body is not SQL). There is no default key: without one, `pseudonymize` fails with a message saying
how to provide it (models that do not hash still build).

A macro over DuckDB's sha256 was faster (CHANGELOG.md has the numbers), but its definition carried
the key's HMAC pads, which any model could read back.
"""

import contextlib
import hashlib
import hmac
import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

KEY_VARIABLE = "SEG_PII_HASH_KEY"
FUNCTION = "pseudonymize"
NO_KEY = (
    f"No pseudonymisation key: set {KEY_VARIABLE}, or run through the pipeline (make run), which "
    "keeps a random key in a file beside the warehouse"
)


def _key(key_file: str) -> bytes | None:
    if os.environ.get(KEY_VARIABLE):
        return os.environ[KEY_VARIABLE].encode()
    if key_file and Path(key_file).is_file():
        return Path(key_file).read_text().strip().encode() or None
    return None


def keyed_hash(key: bytes | None) -> Callable[[pa.Array], pa.Array]:
    """The Arrow function behind `pseudonymize`: the hex HMAC-SHA256 of each value's UTF-8 bytes
    under `key`, null for null; without a key, an error saying how to provide one."""
    keyed = hmac.new(key, digestmod=hashlib.sha256) if key else None

    def pseudonymize(values: pa.Array) -> pa.Array:
        if keyed is None:
            raise RuntimeError(NO_KEY)
        hashes = []
        for value in values.to_pylist():
            if value is None:
                hashes.append(None)
                continue
            digest = keyed.copy()
            digest.update(value.encode())
            hashes.append(digest.hexdigest())
        return pa.array(hashes, type=pa.string())

    return pseudonymize


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict) -> None:
        self._function = keyed_hash(_key(str(plugin_config.get("key_file") or "")))

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        self._register(conn)

    def configure_cursor(self, cursor: DuckDBPyConnection) -> None:
        """A cursor dbt copies may or may not see its connection's functions: register when not."""
        self._register(cursor)

    def _register(self, conn: DuckDBPyConnection) -> None:
        with contextlib.suppress(duckdb.CatalogException):  # already visible on this cursor
            conn.create_function(
                FUNCTION, self._function, ["VARCHAR"], "VARCHAR", type="arrow", side_effects=False
            )
