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

    pseudonymize_customer_id: true   # customer ids are emails or phones: hash them at ingest

Contract columns left out of `columns` are null. CSV values are read as text (so ids keep their
leading zeros): compare numbers in a drop rule as `try_cast(amount as double) <= 0`. Every
mistake is reported with the mapping file and the key that holds it, before any file is read.

A mapping is data, not code: expressions and drop rules must pass the allow-list of
expressions.py, file paths must stay under the mapping file's folder (or SEG_SOURCE_ROOT), and
settings are type-checked (`header: "false"` in quotes is an error, not true).
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dagster_project.lib.ingest.contract import RawSource
from dagster_project.lib.ingest.mapping_keys import (
    SourceMappingError,
    Where,
    date_format,
    timezone,
)

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


STAGED_PREFIXES = (".", "_")
"""Names of files still being written or staged aside by their writer: skipped until renamed."""


@dataclass(frozen=True)
class UserFiles:
    name: str
    pattern: Path  # absolute glob
    root: Path  # every matched file must resolve inside it
    format: str
    delimiter: str = ","
    encoding: str = "utf-8"
    header: bool = True
    date_format: str | None = None
    timezone: str = "UTC"
    drop_duplicates: bool = False
    drop: dict[str, str] = field(default_factory=dict)

    def paths(self) -> list[Path]:
        """The complete files the pattern matches; one that resolves (through a link) outside
        the root is refused."""
        matched = sorted(
            path
            for path in Path(self.pattern.anchor).glob(str(self.pattern.relative_to("/")))
            if not path.name.startswith(STAGED_PREFIXES)
        )
        for path in matched:
            if not path.resolve().is_relative_to(self.root):
                raise SourceMappingError(
                    f"files.{self.name}.path matches {path}, which resolves outside {self.root}; "
                    "mapped files must stay under the mapping file's folder (or SEG_SOURCE_ROOT)."
                )
        return matched


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
    pseudonymize_customer_id: bool = False  # hash customer ids at ingest (direct_identifiers.py)

    def source_names(self) -> set[str]:
        return {mapping.source.table for mapping in self.sources}


def read_mapping(path: Path, known: tuple[RawSource, ...], root: Path | None = None) -> Mapping:
    """Parses and validates a mapping file against the raw contract `known`; mapped files must
    lie under `root` (default: the mapping file's folder)."""
    if not path.is_file():
        raise SourceMappingError(f"Source mapping {path} does not exist (SEG_SOURCE_CONFIG).")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise SourceMappingError(f"Source mapping {path} is not valid YAML: {error}") from error
    where = Where(path)
    where.expect_keys(
        document,
        "",
        {"files", "sources", "pseudonymize_customer_id"},
        required={"files", "sources"},
    )
    files = {
        name: _user_files(
            name, spec, path.parent, (root or path.parent).resolve(), where.at(f"files.{name}")
        )
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
    return Mapping(path, tuple(sources), where.boolean(document, "pseudonymize_customer_id", False))


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


def _user_files(name: str, spec: Any, base: Path, root: Path, where: Where) -> UserFiles:
    key = where.prefix
    where.expect_keys(spec, key, _FILE_KEYS, required={"path"})
    pattern = Path(os.path.normpath((base / str(spec["path"])).absolute()))
    if not pattern.is_relative_to(root) and not pattern.resolve().is_relative_to(root):
        raise where.error(
            f"{key}.path",
            f"'{spec['path']}' is outside {root}; keep your files under the mapping file's "
            "folder, or set SEG_SOURCE_ROOT to a folder that holds them",
        )
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
    for reason, condition in drop.items():
        where.expression(f"{key}.drop.{reason}", condition)
    return UserFiles(
        name=name,
        pattern=pattern,
        root=root,
        format=file_format,
        delimiter=str(spec.get("delimiter", ",")),
        encoding=encoding,
        header=where.boolean(spec, f"{key}.header", default=True),
        date_format=date_format(spec.get("date_format"), where, f"{key}.date_format"),
        timezone=timezone(str(spec.get("timezone", "UTC")), where, f"{key}.timezone"),
        drop_duplicates=where.boolean(spec, f"{key}.drop_duplicates", default=False),
        drop=dict(drop),
    )


def _source(
    source: RawSource, spec: Any, files: dict[str, UserFiles], where: Where
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
    for name, expression in columns.items():
        where.expression(f"{key}.columns.{name}", expression)
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
        distinct=where.boolean(spec, f"{key}.distinct", default=False),
    )
