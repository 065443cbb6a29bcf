"""Redacting erased keys from files, SQLite and DuckDB databases: a key standing on its own is
replaced wherever it is text; the same digits inside a longer number or as a JSON number are left,
so the files stay readable."""

import json
import sqlite3
from pathlib import Path

import duckdb

from dagster_project.lib.erasure.traces import REDACTED, redact_folder

RECORD = {
    "message": "offending keys: 17850, C-9",
    "table": "| customer_id |\n| 17850 |",
    "keys": ["17850", "20000"],
    "rows": 17850,
    "timestamp": 1785012.5,
    "other": "C-90",
}


def test_keys_are_redacted_where_they_are_text_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(json.dumps(RECORD))
    with sqlite3.connect(tmp_path / "events.db") as conn:
        conn.execute("create table event_logs (id integer, event text)")
        conn.execute("insert into event_logs values (1, ?)", [json.dumps(RECORD)])
    with duckdb.connect(str(tmp_path / "alerts.duckdb")) as conn:
        conn.execute("create table run_failures as select ? as error", [RECORD["message"]])
    (tmp_path / "warehouse.duckdb.wal").write_text("17850")  # a skipped file's companion

    changed = redact_folder(tmp_path, ["17850", "C-9"], skip=[tmp_path / "warehouse.duckdb"])

    assert sorted(path.name for path in changed) == ["alerts.duckdb", "events.db", "result.json"]
    expected = {
        **RECORD,
        "message": f"offending keys: {REDACTED}, {REDACTED}",
        "table": f"| customer_id |\n| {REDACTED} |",
        "keys": [REDACTED, "20000"],
    }
    assert json.loads((tmp_path / "result.json").read_text()) == expected
    with sqlite3.connect(tmp_path / "events.db") as conn:
        assert json.loads(conn.execute("select event from event_logs").fetchone()[0]) == expected
    with duckdb.connect(str(tmp_path / "alerts.duckdb"), read_only=True) as conn:
        assert conn.execute("select error from run_failures").fetchone()[0] == expected["message"]
    assert (tmp_path / "warehouse.duckdb.wal").read_text() == "17850"
