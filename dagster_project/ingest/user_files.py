"""Reading a user's files through a source mapping: checks first, then one SQL select per source.

Every file is checked on its own (so an error names it): readable with the declared format,
delimiter and encoding, not empty, every mapped column present, every value convertible to the
contract type. Only then are the raw tables built, all in one transaction, from selects that
drop the declared rows, convert dates in the declared format and time zone, and cast to the
contract types.
"""

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project.ingest.contract import RAW_SCHEMA, RawColumn, RawSource
from dagster_project.ingest.load_log import ensure_tables, record_files, request_rebuild
from dagster_project.ingest.loader import SAMPLE_ROWS, LandingFileError, LoadedTable, sql_string
from dagster_project.ingest.mapping import Mapping, SourceMapping, UserFiles

TIMESTAMP_TYPES = ("timestamp with time zone", "timestamptz")
DELIMITERS = (";", "\t", "|", ",")
REPLACED = "loaded from the source mapping, which replaces the table whole"


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
    listed = "[" + ", ".join(sql_string(path) for path in paths) + "]"
    if files.format == "parquet":
        return f"read_parquet({listed}, union_by_name = true)"
    if files.format == "jsonl":
        return f"read_json({listed}, format = 'newline_delimited', union_by_name = true)"
    return (
        f"read_csv({listed}, delim = {sql_string(files.delimiter)}, "
        f"encoding = {sql_string(files.encoding)}, header = {str(files.header).lower()}, "
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
        f'{_mapped(mapping, column)} as "{column.name}"' for column in mapping.source.file_columns
    )
    distinct = "distinct " if mapping.distinct else ""
    return f"select {distinct}{converted} from ({cleaned(mapping.files, paths)})"


def cleaning_counts(
    conn: duckdb.DuckDBPyConnection, files: UserFiles, paths: list[Path]
) -> Cleaning:
    read = _count(conn, reader(files, paths))
    rows = _deduplicated(files, paths)
    remaining = _count(conn, f"({rows})")
    removed = {"exact duplicates": read - remaining} if files.drop_duplicates else {}
    conditions: list[str] = []
    for reason, condition in files.drop.items():
        conditions.append(condition)
        left = _count(conn, f"({rows}) where {_kept(conditions)}")
        removed[reason] = remaining - left
        remaining = left
    return Cleaning(read, removed)


def _count(conn: duckdb.DuckDBPyConnection, relation: str) -> int:
    return conn.execute(f"select count(*) from {relation}").fetchone()[0]


def check_file(conn: duckdb.DuckDBPyConnection, files: UserFiles, path: Path) -> None:
    """Raises LandingFileError naming `path` when it cannot be read as declared, is empty, was
    split on the wrong delimiter, or a drop rule does not fit it."""
    source = reader(files, [path])
    try:
        rows = _count(conn, source)
    except duckdb.Error as error:
        raise LandingFileError(path, _unreadable(files, error)) from error
    if rows == 0:
        raise LandingFileError(path, "the file has no rows.")
    _check_delimiter(files, path, _file_columns(conn, source))
    for reason, condition in files.drop.items():
        try:
            _count(conn, f"{source} where {condition}")
        except duckdb.Error as error:
            raise LandingFileError(
                path,
                f"the drop rule '{reason}' ({condition!r}) does not work on this file "
                f"({str(error).splitlines()[0]}). CSV values are read as text: compare numbers "
                "as try_cast(column as double) <= 0.",
            ) from error


def check_mapped_columns(
    conn: duckdb.DuckDBPyConnection, mapping: SourceMapping, path: Path
) -> None:
    """Raises LandingFileError naming `path`, the column and sample rows when a mapped
    expression does not work on the file or gives values that do not convert."""
    source = reader(mapping.files, [path])
    for column in mapping.source.file_columns:
        if column.name not in mapping.columns:
            continue
        expression = mapping.columns[column.name]
        try:
            conn.execute(f"select {expression} from {source} limit 0")
        except duckdb.Error as error:
            raise LandingFileError(
                path,
                _bad_expression(expression, _file_columns(conn, source), error),
                column=column.name,
                sample=conn.execute(f"select * from {source} limit 3").df(),
            ) from error
        _check_values(conn, mapping, column, path)


def _file_columns(conn: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    return [name for name, *_ in conn.execute(f"describe select * from {source}").fetchall()]


def _check_values(
    conn: duckdb.DuckDBPyConnection, mapping: SourceMapping, column: RawColumn, path: Path
) -> None:
    expression = mapping.columns[column.name]
    values = (
        f"select row_number() over () as row_number, ({expression}) as value "
        f"from {reader(mapping.files, [path])}"
    )
    failed = (
        f"value is not null and {_converted('value', column, mapping.files, strict=False)} is null"
    )
    bad = conn.execute(f"select count(*) from ({values}) where {failed}").fetchone()[0]
    if not bad:
        return
    sample = conn.execute(
        f"select row_number, value from ({values}) where {failed} "
        f"order by row_number limit {SAMPLE_ROWS}"
    ).df()
    hint = (
        f"; the mapping reads them with date_format {mapping.files.date_format!r}"
        if mapping.files.date_format and column.data_type.lower() in TIMESTAMP_TYPES
        else ""
    )
    raise LandingFileError(
        path,
        f"{bad:,} rows of {column.name} (mapped from {expression!r}) cannot be read as "
        f"{column.data_type}{hint}. Fix those rows, or set the file's date_format / the "
        "column's expression in the mapping.",
        column=column.name,
        sample=sample,
    )


def _mapped(mapping: SourceMapping, column: RawColumn) -> str:
    """The contract column as SQL over the file: the mapped expression converted, or null."""
    if column.name not in mapping.columns:
        return f"cast(null as {column.data_type})"
    return _converted(f"({mapping.columns[column.name]})", column, mapping.files)


def _converted(value: str, column: RawColumn, files: UserFiles, strict: bool = True) -> str:
    """SQL converting `value` to the column's contract type: timestamps in the file's date
    format and time zone. `strict=False` gives null for a value that does not convert."""
    cast = "cast" if strict else "try_cast"
    if column.data_type.lower() not in TIMESTAMP_TYPES:
        return f"{cast}({value} as {column.data_type})"
    if files.date_format:
        parse = "strptime" if strict else "try_strptime"
        local = f"{parse}(cast({value} as varchar), {sql_string(files.date_format)})"
    else:
        local = f"{cast}({value} as timestamp)"
    return f"timezone({sql_string(files.timezone)}, {local})"


def _unreadable(files: UserFiles, error: duckdb.Error) -> str:
    lines = str(error).splitlines()
    encoding_problem = next((line for line in lines if "unicode" in line.lower()), None)
    if encoding_problem:
        return (
            f"cannot be read as {files.encoding} text ({lines[0]}: {encoding_problem}). Set the "
            "file's encoding in the mapping (latin-1 for most Windows exports)."
        )
    return f"cannot be read as {files.format} ({lines[0]}). Check the file's format in the mapping."


def _check_delimiter(files: UserFiles, path: Path, file_columns: list[str]) -> None:
    """A CSV whose whole header came out as one column was split on the wrong character."""
    if files.format != "csv" or len(file_columns) != 1:
        return
    guess = next((d for d in DELIMITERS if d in file_columns[0] and d != files.delimiter), None)
    if guess is not None:
        raise LandingFileError(
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
        f"({str(error).splitlines()[0]}). The file's columns are: {', '.join(file_columns)}."
        f"{suggestion}"
    )


def load_mapped(
    conn: duckdb.DuckDBPyConnection,
    mapping: Mapping,
    sources: Sequence[RawSource],
    loaded_at: datetime,
) -> tuple[list[LoadedTable], dict[str, Cleaning]]:
    """Replaces the raw tables of `sources`, all or nothing, after checking every file: mapped
    ones from the user's files, the others with empty tables (the source was not provided, so
    its features are null downstream). Returns the tables and, per file entry, what its cleaning
    rules removed."""
    mapped = {m.source.table: m for m in mapping.sources}
    plans = [
        (mapped[source.table], _matched_paths(mapped[source.table].files))
        for source in sources
        if source.table in mapped
    ]
    entries = {m.files.name: (m.files, paths) for m, paths in plans}  # a file may feed several
    for files, paths in entries.values():
        for path in paths:
            check_file(conn, files, path)
    for source_mapping, paths in plans:
        for path in paths:
            check_mapped_columns(conn, source_mapping, path)
    cleaning = {
        name: cleaning_counts(conn, files, paths) for name, (files, paths) in entries.items()
    }
    absent = [source for source in sources if source.table not in mapped]
    ensure_tables(conn)
    conn.execute("begin transaction")
    try:
        loaded = [_replace(conn, m, paths, loaded_at) for m, paths in plans]
        loaded += [_replace_unmapped(conn, source) for source in absent]
        for table in loaded:
            # Replaced whole: the landing-file log no longer applies, and dbt must rebuild.
            record_files(conn, table.table, {}, set(), loaded_at)
            request_rebuild(conn, table.table, REPLACED, loaded_at)
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
    rows = _count(conn, table)
    return LoadedTable(source.source.table, rows, tuple(paths), tuple(paths), rows, REPLACED)


def _replace_unmapped(conn: duckdb.DuckDBPyConnection, source: RawSource) -> LoadedTable:
    """An empty table; except customers, who are the distinct customer ids of the orders (with
    nothing else known about them), since every customer feature hangs off a customer row."""
    table = f"{RAW_SCHEMA}.{source.table}"
    columns = ", ".join(f'"{c.name}" {c.data_type}' for c in source.columns)
    conn.execute(f"create or replace table {table} ({columns})")
    if source.table == "customers":
        conn.execute(
            f"insert into {table} (customer_id, _source_file, _loaded_at) "
            f"select customer_id, 'derived from {RAW_SCHEMA}.orders', any_value(_loaded_at) "
            f"from {RAW_SCHEMA}.orders where customer_id is not null group by customer_id"
        )
    rows = _count(conn, table)
    return LoadedTable(source.table, rows, (), (), rows, REPLACED)
