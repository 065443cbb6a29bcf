"""SQL that reads a user's files as a source mapping declares them, built as text: no file or
connection is needed to build (or test) it.

A file entry is read by a DuckDB table function (CSV as text, so ids keep their leading zeros),
its exact duplicates and named drop rules applied, and each contract column is the mapped
expression converted to the contract type: timestamps in the entry's date format and time zone.
"""

from pathlib import Path

from dagster_project.lib.ingest.contract import RawColumn
from dagster_project.lib.ingest.mapping import SourceMapping, UserFiles
from dagster_project.lib.sql import sql_string

TIMESTAMP_TYPES = ("timestamp with time zone", "timestamptz")


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
