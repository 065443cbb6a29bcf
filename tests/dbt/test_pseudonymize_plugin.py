"""dbt's pseudonymisation function: the keyed HMAC it promises, with no trace of the key in what
SQL can read (the catalog of functions and macros), and a clear error without a key."""

import hashlib
import hmac
import sys

import duckdb
import pytest

from dagster_project.lib.settings import DBT_PROJECT_DIR

sys.path.insert(0, str(DBT_PROJECT_DIR / "plugins"))
from pseudonymize import NO_KEY, Plugin  # dbt loads plugins from this folder

KEY = "a-key-nobody-must-read-back"


def registered(monkeypatch: pytest.MonkeyPatch, key: str | None) -> duckdb.DuckDBPyConnection:
    if key:
        monkeypatch.setenv("SEG_PII_HASH_KEY", key)
    else:
        monkeypatch.delenv("SEG_PII_HASH_KEY", raising=False)
    plugin = Plugin.__new__(Plugin)
    plugin.initialize({"key_file": ""})
    conn = duckdb.connect()
    plugin.configure_connection(conn)
    return conn


def test_it_is_the_keyed_hmac_and_sql_cannot_read_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = registered(monkeypatch, KEY)
    hashed = conn.execute("select pseudonymize('gold@example.com'), pseudonymize(null)").fetchone()
    expected = hmac.new(KEY.encode(), b"gold@example.com", hashlib.sha256).hexdigest()
    assert hashed == (expected, None)
    catalog = " ".join(
        str(row) for row in conn.execute("select * from duckdb_functions()").fetchall()
    )
    padded = KEY.encode().ljust(64, b"\0")
    for secret in (KEY, KEY.encode().hex(), bytes(b ^ 0x36 for b in padded).hex()):
        assert secret not in catalog


def test_without_a_key_hashing_fails_with_advice(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = registered(monkeypatch, None)
    with pytest.raises(duckdb.Error, match="No pseudonymisation key"):
        conn.execute("select pseudonymize('gold@example.com')").fetchall()
    assert "SEG_PII_HASH_KEY" in NO_KEY
