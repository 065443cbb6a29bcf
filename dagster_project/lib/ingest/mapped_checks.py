"""Checks of a user's files before anything is loaded, and the count of what cleaning removes.

Every file is checked on its own, so an error names it: readable with the declared format,
delimiter and encoding, not empty, split on the right delimiter, every drop rule and mapped
expression working on it, every value convertible to the contract type. Problems are raised as
InputFileError with the likely fix.
"""

import difflib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.lib.ingest.contract import RawColumn
from dagster_project.lib.ingest.errors import (
    SAMPLE_ROWS,
    InputFileError,
    shown_value,
    without_values,
)
from dagster_project.lib.ingest.mapped_sql import (
    TIMESTAMP_TYPES,
    converted,
    deduplicated,
    kept,
    reader,
)
from dagster_project.lib.ingest.mapping import SourceMapping, UserFiles

DELIMITERS = (";", "\t", "|", ",")


@dataclass(frozen=True)
class Cleaning:
    """Rows read from a file entry and rows each cleaning rule removed, in the order applied."""

    rows_read: int
    removed: dict[str, int]

    @property
    def rows_kept(self) -> int:
        return self.rows_read - sum(self.removed.values())


def cleaning_counts(
    conn: duckdb.DuckDBPyConnection, files: UserFiles, paths: list[Path]
) -> Cleaning:
    read = count_rows(conn, reader(files, paths))
    rows = deduplicated(files, paths)
    remaining = count_rows(conn, f"({rows})")
    removed = {"exact duplicates": read - remaining} if files.drop_duplicates else {}
    conditions: list[str] = []
    for reason, condition in files.drop.items():
        conditions.append(condition)
        left = count_rows(conn, f"({rows}) where {kept(conditions)}")
        removed[reason] = remaining - left
        remaining = left
    return Cleaning(read, removed)


def count_rows(conn: duckdb.DuckDBPyConnection, relation: str) -> int:
    # fetchall: a result left unfinished by fetchone() blocks register() on the connection.
    ((rows,),) = conn.execute(f"select count(*) from {relation}").fetchall()
    return rows


def check_file(conn: duckdb.DuckDBPyConnection, files: UserFiles, path: Path) -> None:
    """Raises InputFileError naming `path` when it cannot be read as declared, is empty, was
    split on the wrong delimiter, or a drop rule does not fit it."""
    source = reader(files, [path])
    try:
        rows = count_rows(conn, source)
    except duckdb.Error as error:
        raise InputFileError(path, _unreadable(files, error)) from error
    if rows == 0:
        raise InputFileError(path, "the file has no rows.")
    _check_delimiter(files, path, _file_columns(conn, source))
    for reason, condition in files.drop.items():
        try:
            count_rows(conn, f"{source} where {condition}")
        except duckdb.Error as error:
            raise InputFileError(
                path,
                f"the drop rule '{reason}' ({condition!r}) does not work on this file "
                f"({without_values(str(error))}). CSV values are read as text: compare numbers "
                "as try_cast(column as double) <= 0.",
            ) from error


def check_mapped_columns(
    conn: duckdb.DuckDBPyConnection, mapping: SourceMapping, path: Path
) -> None:
    """Raises InputFileError naming `path`, the column and sample rows when a mapped
    expression does not work on the file or gives values that do not convert."""
    source = reader(mapping.files, [path])
    for column in mapping.source.file_columns:
        if column.name not in mapping.columns:
            continue
        expression = mapping.columns[column.name]
        try:
            conn.execute(f"select {expression} from {source} limit 0")
        except duckdb.Error as error:
            raise InputFileError(
                path,
                _bad_expression(expression, _file_columns(conn, source), error),
                column=column.name,
            ) from error
        _check_values(conn, mapping, column, path)


def _file_columns(conn: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    return [name for name, *_ in conn.execute(f"describe select * from {source}").fetchall()]


def _check_values(
    conn: duckdb.DuckDBPyConnection, mapping: SourceMapping, column: RawColumn, path: Path
) -> None:
    expression = mapping.columns[column.name]
    key = mapping.source.key
    key_value = mapping.columns.get(key.name, "null")
    values = (
        f"select row_number() over () as row_number, ({key_value}) as {key.name}, "
        f"({expression}) as value from {reader(mapping.files, [path])}"
    )
    failed = (
        f"value is not null and {converted('value', column, mapping.files, strict=False)} is null"
    )
    bad = conn.execute(f"select count(*) from ({values}) where {failed}").fetchone()[0]
    if not bad:
        return
    sample = conn.execute(
        f"select row_number, {key.name}, {shown_value('value', column.personal)} as value "
        f"from ({values}) where {failed} order by row_number limit {SAMPLE_ROWS}"
    ).df()
    hint = (
        f"; the mapping reads them with date_format {mapping.files.date_format!r}"
        if mapping.files.date_format and column.data_type.lower() in TIMESTAMP_TYPES
        else ""
    )
    raise InputFileError(
        path,
        f"{bad:,} rows of {column.name} (mapped from {expression!r}) cannot be read as "
        f"{column.data_type}{hint}. Fix those rows, or set the file's date_format / the "
        "column's expression in the mapping.",
        column=column.name,
        sample=sample,
    )


def _unreadable(files: UserFiles, error: duckdb.Error) -> str:
    lines = str(error).splitlines()
    first = without_values(lines[0])
    encoding_problem = next((line for line in lines if "unicode" in line.lower()), None)
    if encoding_problem:
        return (
            f"cannot be read as {files.encoding} text ({first}: "
            f"{without_values(encoding_problem)}). Set the file's encoding in the mapping "
            "(latin-1 for most Windows exports)."
        )
    return f"cannot be read as {files.format} ({first}). Check the file's format in the mapping."


def _check_delimiter(files: UserFiles, path: Path, file_columns: list[str]) -> None:
    """A CSV whose whole header came out as one column was split on the wrong character."""
    if files.format != "csv" or len(file_columns) != 1:
        return
    guess = next((d for d in DELIMITERS if d in file_columns[0] and d != files.delimiter), None)
    if guess is not None:
        raise InputFileError(
            path,
            f"the whole header was read as one column, {file_columns[0]!r}: the delimiter looks "
            f"like {guess!r}, not {files.delimiter!r}; set delimiter in the mapping.",
        )


def _bad_expression(expression: str, file_columns: list[str], error: duckdb.Error) -> str:
    if expression in file_columns:
        suggestion = f' The column exists: quote its name, "\\"{expression}\\"" in YAML.'
    else:
        close = difflib.get_close_matches(expression, file_columns, n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
    return (
        f"the mapped expression {expression!r} does not work on this file "
        f"({without_values(str(error))}). The file's columns are: {', '.join(file_columns)}."
        f"{suggestion}"
    )
