"""Writing values into SQL text, for the few statements that cannot take parameters (file lists
of table functions, ATTACH paths, formats inside expressions)."""

from pathlib import Path


def sql_string(text: str | Path) -> str:
    """`text` as a SQL string literal (paths and user-given formats may contain quotes)."""
    return "'" + str(text).replace("'", "''") + "'"


GLOB_CHARACTERS = "[*?"


def sql_file(path: Path) -> str:
    """A file path as a SQL string that DuckDB's table functions read as that one file: DuckDB
    expands glob characters in every path, so `orders [1].parquet` would read `orders 1.parquet`;
    each glob character is escaped as a one-character class (`[[]`)."""
    escaped = "".join(f"[{c}]" if c in GLOB_CHARACTERS else c for c in str(path))
    return sql_string(escaped)
