"""Redacting erased customers from the files beside the warehouse and from Dagster's storage.

Their keys can reach files through failed checks: Great Expectations' validation results and
Data Docs pages list the offending rows' keys, an alert may quote a failed check, and Dagster's
event log and compute logs keep the check's metadata. Each occurrence is replaced by
`[erased]`, in place (text files are rewritten aside and renamed in; SQLite databases are updated
and vacuumed, so that no freed page keeps the old text; DuckDB files get an update of every text
column, then a rewrite).
"""

import re
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb

from dagster_project.lib.duckdb_files import base_table_columns, rewrite

REDACTED = "[erased]"
SQLITE_HEADER = b"SQLite format 3\x00"
DUCKDB_MAGIC = b"DUCK"


def token_pattern(tokens: Sequence[str]) -> re.Pattern[str]:
    """Where a key stands on its own: not inside a longer id or number (`17850` is not redacted in
    `1785012`) and not as a JSON number (`"rows": 17850`), which replacing would corrupt; a key
    is stored and logged as text (a quoted string, a table cell, a sentence)."""
    alternatives = "|".join(re.escape(token) for token in sorted(tokens, key=len, reverse=True))
    return re.compile(rf"(?<![0-9A-Za-z_.\-])(?<!\": )(?<!\":)(?:{alternatives})(?![0-9A-Za-z_\-])")


def redact_folder(folder: Path, tokens: Sequence[str], skip: Iterable[Path] = ()) -> list[Path]:
    """Redacts `tokens` in every file under `folder` but the `skip` files and those named after
    them (their write-ahead logs, locks and key files); returns the files changed."""
    if not tokens:
        return []
    pattern = token_pattern(tokens)
    skipped = [path.resolve() for path in skip]
    changed = []
    for path in sorted(folder.rglob("*")) if folder.exists() else []:
        if not path.is_file() or path.is_symlink() or _named_after(path.resolve(), skipped):
            continue
        if _redact_file(path, tokens, pattern):
            changed.append(path)
    return changed


def _named_after(path: Path, skipped: list[Path]) -> bool:
    return any(path.parent == s.parent and path.name.startswith(s.name) for s in skipped)


def _redact_file(path: Path, tokens: Sequence[str], pattern: re.Pattern[str]) -> bool:
    with path.open("rb") as handle:
        head = handle.read(16)
    if head.startswith(SQLITE_HEADER):
        return _redact_sqlite(path, tokens, pattern)
    if head[8:12] == DUCKDB_MAGIC:
        return _redact_duckdb(path, tokens, pattern)
    content = path.read_bytes()
    if not any(token.encode() in content for token in tokens):
        return False
    text = content.decode("utf-8", errors="surrogateescape")
    redacted = pattern.sub(REDACTED, text)
    if redacted == text:
        return False
    staged = path.with_name(f".{path.name}.redacting")
    staged.write_bytes(redacted.encode("utf-8", errors="surrogateescape"))
    staged.chmod(path.stat().st_mode & 0o777)
    staged.replace(path)
    return True


def _redact_sqlite(path: Path, tokens: Sequence[str], pattern: re.Pattern[str]) -> bool:
    changed = 0
    with sqlite3.connect(path, timeout=60) as conn:
        tables = [t for (t,) in conn.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            for _, column, *_ in conn.execute(f'pragma table_info("{table}")').fetchall():
                holding = " or ".join(f'instr("{column}", ?) > 0' for _ in tokens)
                changed += _redact_column(
                    conn,
                    f'"{table}"',
                    column,
                    f"typeof(\"{column}\") = 'text' and ({holding})",
                    tokens,
                    pattern,
                )
    if changed:
        with sqlite3.connect(path, timeout=60) as conn:
            conn.execute("vacuum")
    return bool(changed)


def _redact_duckdb(path: Path, tokens: Sequence[str], pattern: re.Pattern[str]) -> bool:
    changed = 0
    with duckdb.connect(str(path)) as conn:
        for table, columns in base_table_columns(conn).items():
            for column in (name for name, data_type in columns.items() if data_type == "VARCHAR"):
                holding = " or ".join(f'contains("{column}", ?)' for _ in tokens)
                changed += _redact_column(conn, table, column, holding, tokens, pattern)
    if changed:
        rewrite(path)
    return bool(changed)


def _redact_column(
    conn: sqlite3.Connection | duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    holding: str,
    tokens: Sequence[str],
    pattern: re.Pattern[str],
) -> int:
    """Rewrites the values of `table`.`column` that the condition `holding` (one parameter per
    token) selects, where `pattern` finds a key; returns the rows changed."""
    rows = conn.execute(
        f'select rowid, "{column}" from {table} where {holding}', list(tokens)
    ).fetchall()
    changed = 0
    for rowid, value in rows:
        redacted = pattern.sub(REDACTED, value)
        if redacted != value:
            conn.execute(f'update {table} set "{column}" = ? where rowid = ?', [redacted, rowid])
            changed += 1
    return changed
