"""The raw-source contract: the columns and types each landing file must have.

It is declared once, in the dbt sources YAML (`dbt_project/models/staging/*/_*__sources.yml`), where
dbt documents the raw tables; this module reads it so that the loader checks files against exactly
what the staging models expect.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from dagster_project.lib.names import RAW_SCHEMA
from dagster_project.lib.settings import DBT_PROJECT_DIR

LOADER_COLUMN_PREFIX = "_"  # columns the loader adds itself (_source_file, _loaded_at)


@dataclass(frozen=True)
class RawColumn:
    name: str
    data_type: str
    personal: bool = False
    """Personal data (`config.meta.personal` in the sources YAML): never shown in an error, a
    log line, metadata or an alert."""


@dataclass(frozen=True)
class RawSource:
    """One raw table, loaded from the landing subfolder of the same name."""

    table: str
    description: str
    columns: tuple[RawColumn, ...]

    @property
    def file_columns(self) -> tuple[RawColumn, ...]:
        """The columns every landing file must provide."""
        return tuple(c for c in self.columns if not c.name.startswith(LOADER_COLUMN_PREFIX))

    @property
    def key(self) -> RawColumn:
        """The row's pseudonymous key (the first column): what errors identify rows by."""
        return self.columns[0]


@cache
def raw_sources(staging_dir: Path) -> tuple[RawSource, ...]:
    """Every dbt source table that lives in the raw schema, in declaration order."""
    sources = []
    for path in sorted(staging_dir.glob("*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text())["sources"]:
            if source.get("schema") != RAW_SCHEMA:
                continue
            for table in source["tables"]:
                columns = tuple(
                    RawColumn(
                        column["name"],
                        column["data_type"],
                        bool(column.get("config", {}).get("meta", {}).get("personal", False)),
                    )
                    for column in table["columns"]
                )
                sources.append(RawSource(table["name"], table.get("description", ""), columns))
    return tuple(sources)


RAW_SOURCES: tuple[RawSource, ...] = raw_sources(DBT_PROJECT_DIR / "models" / "staging")
