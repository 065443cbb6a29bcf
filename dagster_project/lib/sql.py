"""Writing values into SQL text, for the few statements that cannot take parameters (file lists
of table functions, ATTACH paths, formats inside expressions)."""

from pathlib import Path


def sql_string(text: str | Path) -> str:
    """`text` as a SQL string literal (paths and user-given formats may contain quotes)."""
    return "'" + str(text).replace("'", "''") + "'"
