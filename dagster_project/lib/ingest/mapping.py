"""The source-mapping file (`SEG_SOURCE_CONFIG`): how a user's exports become the raw sources.

    files:                      # the user's files, by a name of your choice
      lines:
        path: exports/*.csv     # relative to this file; globs allowed
        format: csv             # csv | parquet | jsonl (default: from the extension)
        delimiter: ";"          # csv only (default ",")
        encoding: latin-1       # csv only: utf-8 (default), utf-16 or latin-1
        date_format: "%d/%m/%Y %H:%M"   # how text timestamps are written (strptime codes)
        timezone: Europe/London # zone of timestamps that carry none (default UTC)
        drop_duplicates: true   # drop rows that repeat another row exactly (counted)
        drop:                   # named row filters (SQL conditions), counted per name
          anonymous: CustomerID is null
    sources:                    # raw source -> where its rows come from
      orders:
        from: lines
        distinct: true          # one row per distinct mapped row (order headers from lines)
        columns:                # contract column -> a column of the file or a SQL expression
          order_id: InvoiceNo
          status: "case when InvoiceNo like 'C%' then 'cancelled' else 'completed' end"

Contract columns left out of `columns` are null. CSV values are read as text (so ids keep their
leading zeros): compare numbers in a drop rule as `try_cast(amount as double) <= 0`. Every
mistake is reported with the mapping file and the key that holds it, before any file is read.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dagster_project.lib.ingest.contract import RawSource

FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".json": "jsonl",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
ENCODINGS = ("utf-8", "utf-16", "latin-1")
"""The encodings DuckDB reads without an extension (others would need a download)."""
REQUIRED_SOURCES = ("orders", "order_items")
"""Orders and their lines (which may come from the same file) are the minimum for segments."""
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    # Without a currency no amount can be converted, and without a status no order counts as a
    # sale: both are required, as a SQL literal when the file has no such column.
    "customers": ("customer_id",),
    "products": ("product_id",),
    "orders": ("order_id", "customer_id", "ordered_at", "status", "currency"),
    "order_items": ("order_id", "quantity", "unit_price"),
    "web_events": ("event_id", "event_at", "event_type"),
    "campaign_events": ("event_id", "customer_id", "event_type", "event_at"),
    "social_interactions": ("interaction_id", "customer_id", "interaction_type", "occurred_at"),
}


class SourceMappingError(ValueError):
    """The mapping file itself is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class UserFiles:
    name: str
    pattern: Path  # absolute glob
    format: str
    delimiter: str = ","
    encoding: str = "utf-8"
    header: bool = True
    date_format: str | None = None
    timezone: str = "UTC"
    drop_duplicates: bool = False
    drop: dict[str, str] = field(default_factory=dict)

    def paths(self) -> list[Path]:
        return sorted(Path(self.pattern.anchor).glob(str(self.pattern.relative_to("/"))))


@dataclass(frozen=True)
class SourceMapping:
    source: RawSource
    files: UserFiles
    columns: dict[str, str]  # contract column -> SQL expression over the file's columns
    distinct: bool = False


@dataclass(frozen=True)
class Mapping:
    path: Path
    sources: tuple[SourceMapping, ...]

    def source_names(self) -> set[str]:
        return {mapping.source.table for mapping in self.sources}


def read_mapping(path: Path, known: tuple[RawSource, ...]) -> Mapping:
    """Parses and validates a mapping file against the raw contract `known`."""
    if not path.is_file():
        raise SourceMappingError(f"Source mapping {path} does not exist (SEG_SOURCE_CONFIG).")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise SourceMappingError(f"Source mapping {path} is not valid YAML: {error}") from error
    where = _Where(path)
    where.expect_keys(document, "", {"files", "sources"}, required={"files", "sources"})
    files = {
        name: _user_files(name, spec, path.parent, where.at(f"files.{name}"))
        for name, spec in where.mapping(document["files"], "files").items()
    }
    by_table = {source.table: source for source in known}
    sources = []
    for table, spec in where.mapping(document["sources"], "sources").items():
        if table not in by_table:
            raise where.error(
                f"sources.{table}",
                f"unknown source '{table}'; the raw sources are {', '.join(by_table)}",
            )
        sources.append(_source(by_table[table], spec, files, where.at(f"sources.{table}")))
    mapped = {mapping.source.table for mapping in sources}
    missing = [table for table in REQUIRED_SOURCES if table not in mapped]
    if missing:
        raise where.error(
            "sources",
            f"map at least {' and '.join(REQUIRED_SOURCES)} (they may come from the same file); "
            f"missing: {', '.join(missing)}",
        )
    return Mapping(path, tuple(sources))


@dataclass(frozen=True)
class _Where:
    """Builds errors that point at a key of the mapping file."""

    path: Path
    prefix: str = ""

    def at(self, key: str) -> "_Where":
        return _Where(self.path, key)

    def error(self, key: str, problem: str) -> SourceMappingError:
        return SourceMappingError(f"Source mapping {self.path}, key '{key}': {problem}.")

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict) or not value:
            raise self.error(key, "expected a non-empty mapping of names to settings")
        return value

    def expect_keys(
        self, value: Any, key: str, allowed: set[str], required: set[str] = frozenset()
    ) -> None:
        name = key or "top level"
        if not isinstance(value, dict):
            raise self.error(name, "expected a mapping")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.error(
                name,
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}",
            )
        absent = sorted(required - set(value))
        if absent:
            raise self.error(name, f"missing {', '.join(absent)}")


_FILE_KEYS = {
    "path",
    "format",
    "delimiter",
    "encoding",
    "header",
    "date_format",
    "timezone",
    "drop_duplicates",
    "drop",
}


def _user_files(name: str, spec: Any, base: Path, where: _Where) -> UserFiles:
    key = where.prefix
    where.expect_keys(spec, key, _FILE_KEYS, required={"path"})
    pattern = (base / str(spec["path"])).absolute()
    file_format = spec.get("format") or FORMATS.get(pattern.suffix.lower())
    if file_format not in set(FORMATS.values()):
        raise where.error(
            f"{key}.format",
            f"cannot tell the format of '{spec['path']}'; set format to one of csv, parquet, jsonl",
        )
    encoding = str(spec.get("encoding", "utf-8")).lower().replace("_", "-")
    if encoding not in ENCODINGS:
        raise where.error(
            f"{key}.encoding", f"'{encoding}' is not supported; use one of {', '.join(ENCODINGS)}"
        )
    drop = spec.get("drop", {}) or {}
    if not isinstance(drop, dict) or not all(isinstance(v, str) for v in drop.values()):
        raise where.error(f"{key}.drop", "expected reason: SQL condition pairs")
    return UserFiles(
        name=name,
        pattern=pattern,
        format=file_format,
        delimiter=str(spec.get("delimiter", ",")),
        encoding=encoding,
        header=bool(spec.get("header", True)),
        date_format=spec.get("date_format"),
        timezone=str(spec.get("timezone", "UTC")),
        drop_duplicates=bool(spec.get("drop_duplicates", False)),
        drop=dict(drop),
    )


def _source(
    source: RawSource, spec: Any, files: dict[str, UserFiles], where: _Where
) -> SourceMapping:
    key = where.prefix
    where.expect_keys(spec, key, {"from", "columns", "distinct"}, required={"from", "columns"})
    if spec["from"] not in files:
        raise where.error(
            f"{key}.from", f"no file entry named '{spec['from']}'; defined: {', '.join(files)}"
        )
    columns = where.mapping(spec["columns"], f"{key}.columns")
    contract = [column.name for column in source.file_columns]
    unknown = sorted(set(columns) - set(contract))
    if unknown:
        raise where.error(
            f"{key}.columns",
            f"{', '.join(unknown)} not in the {source.table} contract; its columns are "
            f"{', '.join(contract)}",
        )
    absent = [name for name in REQUIRED_COLUMNS[source.table] if name not in columns]
    if absent:
        raise where.error(
            f"{key}.columns",
            f"map the required column(s) {', '.join(absent)} (a SQL literal such as \"'GBP'\" "
            "or \"'completed'\" when every row shares the value)",
        )
    return SourceMapping(
        source=source,
        files=files[spec["from"]],
        columns={name: str(expression) for name, expression in columns.items()},
        distinct=bool(spec.get("distinct", False)),
    )
