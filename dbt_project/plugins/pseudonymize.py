"""dbt-duckdb plugin: registers `pseudonymize(text)`, a keyed HMAC-SHA256 of personal data.

The key comes from the environment (SEG_PII_HASH_KEY) and lives inside a function registered on
dbt's DuckDB connection (its cursors share it), so it never appears in compiled SQL, dbt logs or
the manifest. Without the variable a fixed demo key is used and a warning says so: pseudonyms are
then stable but not secret.
"""

import hashlib
import hmac
import os
import warnings

import pyarrow as pa
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection
from duckdb.sqltypes import VARCHAR

KEY_VARIABLE = "SEG_PII_HASH_KEY"
DEMO_KEY = "demo-only-pseudonymisation-key"


def _key() -> bytes:
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        warnings.warn(
            f"{KEY_VARIABLE} is not set: personal data is hashed with the public demo key.",
            stacklevel=2,
        )
        key = DEMO_KEY
    return key.encode()


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict) -> None:
        key = _key()

        def pseudonymize(values: pa.Array) -> pa.Array:
            return pa.array(
                [
                    None
                    if value is None
                    else hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
                    for value in values.to_pylist()
                ],
                pa.string(),
            )

        self._function = pseudonymize

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        conn.create_function(
            "pseudonymize", self._function, [VARCHAR], VARCHAR, type="arrow", side_effects=False
        )
