"""SQL that reads a user's files as a source mapping declares them, built as text: no file or
connection is needed to build (or test) it.

A file entry is read by a DuckDB table function (CSV as text, so ids keep their leading zeros),
its exact duplicates and named drop rules applied, and each contract column is the mapped
expression converted to the contract type: timestamps in the entry's date format and time zone.
"""

from pathlib import Path

from dagster_project.lib.ingest.contract import RawColumn
from dagster_project.lib.ingest.mapping import SourceMapping, UserFiles
from dagster_project.lib.sql import sql_file, sql_string

TIMESTAMP_TYPES = ("timestamp with time zone", "timestamptz")
OFFSET_CODES = ("%z", "%Z")
OFFSET_SUFFIX = r"\d:\d\d(:\d\d(\.\d+)?)?\s*([+-]\d\d(:?\d\d)?|Z|UTC)$"
"""A time of day followed by a UTC offset: the value says its own zone."""


def reader(files: UserFiles, paths: list[Path]) -> str:
    """A DuckDB table function call reading `paths` (CSV as text, converted later)."""
    listed = "[" + ", ".join(sql_file(path) for path in paths) + "]"
    if files.format == "parquet":
        return f"read_parquet({listed}, union_by_name = true)"
    if files.format == "jsonl":
        return f"read_json({listed}, format = 'newline_delimited', union_by_name = true)"
    return (
        f"read_csv({listed}, delim = {sql_string(files.delimiter)}, "
        f"encoding = {sql_string(files.encoding)}, header = {str(files.header).lower()}, "
        "all_varchar = true, union_by_name = true)"
    )


def deduplicated(files: UserFiles, paths: list[Path]) -> str:
    distinct = "distinct " if files.drop_duplicates else ""
    return f"select {distinct}* from {reader(files, paths)}"


def kept(conditions: list[str]) -> str:
    """Rows that none of the drop conditions hold for (a null condition keeps the row)."""
    return " and ".join(f"({condition}) is not true" for condition in conditions) or "true"


def cleaned(files: UserFiles, paths: list[Path]) -> str:
    """The file entry's rows after its cleaning rules: exact duplicates, then each named drop."""
    return f"select * from ({deduplicated(files, paths)}) where {kept(list(files.drop.values()))}"


def source_select(mapping: SourceMapping, paths: list[Path]) -> str:
    """The raw table's rows: every contract column converted, unmapped ones null."""
    converted = ", ".join(
        f'{_mapped(mapping, column)} as "{column.name}"' for column in mapping.source.file_columns
    )
    distinct = "distinct " if mapping.distinct else ""
    return f"select {distinct}{converted} from ({cleaned(mapping.files, paths)})"


def _mapped(mapping: SourceMapping, column: RawColumn) -> str:
    """The contract column as SQL over the file: the mapped expression converted, or null."""
    if column.name not in mapping.columns:
        return f"cast(null as {column.data_type})"
    return converted(f"({mapping.columns[column.name]})", column, mapping.files)


def converted(value: str, column: RawColumn, files: UserFiles, strict: bool = True) -> str:
    """SQL converting `value` to the column's contract type. Timestamps are read as text: one
    that carries an offset (`10:00+05:00`, `Z`, or `%z` in the date format) is taken at that
    offset; one without is local time of the file's time zone. `strict=False` gives null for a
    value that does not convert."""
    cast = "cast" if strict else "try_cast"
    if column.data_type.lower() not in TIMESTAMP_TYPES:
        return f"{cast}({value} as {column.data_type})"
    text = f"cast({value} as varchar)"
    zone = sql_string(files.timezone)
    if files.date_format:
        parse = "strptime" if strict else "try_strptime"
        parsed = f"{parse}({text}, {sql_string(files.date_format)})"
        has_offset = any(code in files.date_format for code in OFFSET_CODES)
        return parsed if has_offset else f"timezone({zone}, {parsed})"
    return (
        f"case when regexp_matches({text}, {sql_string(OFFSET_SUFFIX)}) "
        f"then {cast}({text} as timestamp with time zone) "
        f"else timezone({zone}, {cast}({text} as timestamp)) end"
    )
