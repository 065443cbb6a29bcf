"""Reading a user's files through a source mapping: checks first, then one SQL select per source.

Every file is checked on its own (so an error names it): readable with the declared format,
delimiter and encoding, not empty, every mapped column present, every value convertible to the
contract type. Only then are the raw tables built, all in one transaction, from selects that
drop the declared rows, convert dates in the declared format and time zone, and cast to the
contract types.
"""

import difflib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project.ingest.contract import RAW_SCHEMA, RawColumn
from dagster_project.ingest.loader import SAMPLE_ROWS, LandingFileError, LoadedTable
from dagster_project.ingest.mapping import Mapping, SourceMapping, UserFiles

TIMESTAMP_TYPES = ("timestamp with time zone", "timestamptz")
DELIMITERS = (";", "\t", "|", ",")


@dataclass(frozen=True)
class Cleaning:
    """Rows read from a file entry and rows each cleaning rule removed, in the order applied."""

    rows_read: int
    removed: dict[str, int]

    @property
    def rows_kept(self) -> int:
        return self.rows_read - sum(self.removed.values())


def reader(files: UserFiles, paths: list[Path]) -> str:
    """A DuckDB table function call reading `paths` (CSV as text, converted later)."""
    listed = "[" + ", ".join(_literal(str(path)) for path in paths) + "]"
    if files.format == "parquet":
        return f"read_parquet({listed}, union_by_name = true)"
    if files.format == "jsonl":
        return f"read_json({listed}, format = 'newline_delimited', union_by_name = true)"
    return (
        f"read_csv({listed}, delim = {_literal(files.delimiter)}, "
        f"encoding = {_literal(files.encoding)}, header = {str(files.header).lower()}, "
        "all_varchar = true, union_by_name = true)"
    )


def _deduplicated(files: UserFiles, paths: list[Path]) -> str:
    distinct = "distinct " if files.drop_duplicates else ""
    return f"select {distinct}* from {reader(files, paths)}"


def _kept(conditions: list[str]) -> str:
    """Rows that none of the drop conditions hold for (a null condition keeps the row)."""
    return " and ".join(f"({condition}) is not true" for condition in conditions) or "true"


def cleaned(files: UserFiles, paths: list[Path]) -> str:
    """The file entry's rows after its cleaning rules: exact duplicates, then each named drop."""
    return f"select * from ({_deduplicated(files, paths)}) where {_kept(list(files.drop.values()))}"


def source_select(mapping: SourceMapping, paths: list[Path]) -> str:
    """The raw table's rows: every contract column converted, unmapped ones null."""
    converted = ", ".join(
        f'{_converted(mapping, column)} as "{column.name}"'
        for column in mapping.source.file_columns
    )
    distinct = "distinct " if mapping.distinct else ""
    return f"select {distinct}{converted} from ({cleaned(mapping.files, paths)})"


def cleaning_counts(
    conn: duckdb.DuckDBPyConnection, files: UserFiles, paths: list[Path]
) -> Cleaning:
    read = conn.execute(f"select count(*) from {reader(files, paths)}").fetchone()[0]
    rows = _deduplicated(files, paths)
    remaining = conn.execute(f"select count(*) from ({rows})").fetchone()[0]
    removed = {"exact duplicates": read - remaining} if files.drop_duplicates else {}
    conditions: list[str] = []
    for reason, condition in files.drop.items():
        conditions.append(condition)
        left = conn.execute(f"select count(*) from ({rows}) where {_kept(conditions)}").fetchone()[
            0
        ]
        removed[reason] = remaining - left
        remaining = left
    return Cleaning(read, removed)


def check_source_file(conn: duckdb.DuckDBPyConnection, mapping: SourceMapping, path: Path) -> None:
    """Raises LandingFileError naming `path`, the column and sample rows when the file cannot
    give `mapping.source` its rows."""
    files = mapping.files
    source = reader(files, [path])
    try:
        described = conn.execute(f"describe select * from {source}").fetchall()
        rows = conn.execute(f"select count(*) from {source}").fetchone()[0]
    except duckdb.Error as error:
        raise LandingFileError(path, _unreadable(files, error)) from error
    if rows == 0:
        raise LandingFileError(path, "the file has no rows.")
    file_columns = [name for name, *_ in described]
    for column in mapping.source.file_columns:
        if column.name not in mapping.columns:
            continue
        expression = mapping.columns[column.name]
        try:
            conn.execute(f"select {expression} from {source} limit 0")
        except duckdb.Error as error:
            raise LandingFileError(
                path,
                _bad_expression(files, expression, file_columns, error),
                column=column.name,
                sample=conn.execute(f"select * from {source} limit 3").df(),
            ) from error
        _check_values(conn, mapping, column, path)


def _check_values(
    conn: duckdb.DuckDBPyConnection, mapping: SourceMapping, column: RawColumn, path: Path
) -> None:
    expression = f"({mapping.columns[column.name]})"
    failed = f"{expression} is not null and {_converted(mapping, column, strict=False)} is null"
    numbered = f"select row_number() over () as row_number, * from {reader(mapping.files, [path])}"
    bad = conn.execute(f"select count(*) from ({numbered}) where {failed}").fetchone()[0]
    if not bad:
        return
    sample = conn.execute(
        f"select row_number, {expression} as value from ({numbered}) where {failed} "
        f"order by row_number limit {SAMPLE_ROWS}"
    ).df()
    hint = (
        f"; the mapping reads them with date_format {mapping.files.date_format!r}"
        if mapping.files.date_format and column.data_type.lower() in TIMESTAMP_TYPES
        else ""
    )
    raise LandingFileError(
        path,
        f"{bad:,} rows of {column.name} (mapped from {mapping.columns[column.name]!r}) cannot be "
        f"read as {column.data_type}{hint}. Fix those rows, or set the file's date_format / "
        "the column's expression in the mapping.",
        column=column.name,
        sample=sample,
    )


def _converted(mapping: SourceMapping, column: RawColumn, strict: bool = True) -> str:
    """SQL converting the mapped expression to the contract type; `strict=False` gives null
    instead of an error for a value that does not convert."""
    if column.name not in mapping.columns:
        return f"cast(null as {column.data_type})"
    expression = f"({mapping.columns[column.name]})"
    cast = "cast" if strict else "try_cast"
    if column.data_type.lower() not in TIMESTAMP_TYPES:
        return f"{cast}({expression} as {column.data_type})"
    files = mapping.files
    if files.date_format:
        parse = "strptime" if strict else "try_strptime"
        local = f"{parse}(cast({expression} as varchar), {_literal(files.date_format)})"
    else:
        local = f"{cast}({expression} as timestamp)"
    return f"timezone({_literal(files.timezone)}, {local})"


def _unreadable(files: UserFiles, error: duckdb.Error) -> str:
    lines = str(error).splitlines()
    encoding_problem = next((line for line in lines if "unicode" in line.lower()), None)
    if encoding_problem:
        return (
            f"cannot be read as {files.encoding} text ({lines[0]}: {encoding_problem}). Set the "
            "file's encoding in the mapping (latin-1 for most Windows exports)."
        )
    return f"cannot be read as {files.format} ({lines[0]}). Check the file's format in the mapping."


def _bad_expression(
    files: UserFiles, expression: str, file_columns: list[str], error: duckdb.Error
) -> str:
    text = str(error).splitlines()[0]
    problem = f"the mapped expression {expression!r} does not work on this file ({text})."
    if files.format == "csv" and len(file_columns) == 1:
        guess = next((d for d in DELIMITERS if d in file_columns[0]), None)
        if guess is not None and guess != files.delimiter:
            return (
                f"{problem} The whole header was read as one column, {file_columns[0]!r}: the "
                f"delimiter looks like {guess!r}, not {files.delimiter!r}; set delimiter in the "
                "mapping."
            )
    close = difflib.get_close_matches(expression, file_columns, n=1)
    suggestion = f" Did you mean {close[0]!r}?" if close else ""
    return f"{problem} The file's columns are: {', '.join(file_columns)}.{suggestion}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def load_mapped(
    conn: duckdb.DuckDBPyConnection, mapping: Mapping, loaded_at: datetime
) -> tuple[list[LoadedTable], dict[str, Cleaning]]:
    """Replaces the raw tables of every mapped source, all or nothing, after checking every file;
    returns the tables and, per file entry, what its cleaning rules removed."""
    plans = [(source, _matched_paths(source.files)) for source in mapping.sources]
    for source, paths in plans:
        for path in paths:
            check_source_file(conn, source, path)
    cleaning = {
        source.files.name: cleaning_counts(conn, source.files, paths) for source, paths in plans
    }
    conn.execute(f"create schema if not exists {RAW_SCHEMA}")
    conn.execute("begin transaction")
    try:
        loaded = [_replace(conn, source, paths, loaded_at) for source, paths in plans]
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return loaded, cleaning


def _matched_paths(files: UserFiles) -> list[Path]:
    paths = files.paths()
    if not paths:
        raise LandingFileError(
            files.pattern, f"no file matches files.{files.name}.path in the source mapping."
        )
    return paths


def _replace(
    conn: duckdb.DuckDBPyConnection, source: SourceMapping, paths: list[Path], loaded_at: datetime
) -> LoadedTable:
    table = f"{RAW_SCHEMA}.{source.source.table}"
    conn.execute(
        f"create or replace table {table} as select *, ? as _source_file, "
        f"cast(? as timestamp with time zone) as _loaded_at from ({source_select(source, paths)})",
        [str(source.files.pattern), loaded_at],
    )
    rows = conn.execute(f"select count(*) from {table}").fetchone()[0]
    return LoadedTable(source.source.table, rows, tuple(paths))
