"""Reading the source-mapping file's values: errors that point at a key of the file, and the
checks every value passes before it is used (types, time zones, date formats, expressions)."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from dagster_project.lib.ingest.expressions import UnsafeExpressionError, check_expression


class SourceMappingError(ValueError):
    """The mapping file itself is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class Where:
    """Builds errors that point at a key of the mapping file."""

    path: Path
    prefix: str = ""

    def at(self, key: str) -> "Where":
        return Where(self.path, key)

    def error(self, key: str, problem: str) -> SourceMappingError:
        return SourceMappingError(f"Source mapping {self.path}, key '{key}': {problem}.")

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict) or not value:
            raise self.error(key, "expected a non-empty mapping of names to settings")
        return value

    def boolean(self, spec: dict[str, Any], key: str, default: bool) -> bool:
        value = spec.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false (unquoted), got {value!r}")
        return value

    def expression(self, key: str, expression: Any) -> None:
        if not isinstance(expression, str | int | float) or isinstance(expression, bool):
            raise self.error(key, f"expected a column name or SQL expression, got {expression!r}")
        try:
            check_expression(str(expression))
        except UnsafeExpressionError as error:
            raise self.error(key, f"{error}: {str(expression)!r}") from error

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


@cache
def _duckdb_time_zones() -> frozenset[str]:
    with duckdb.connect() as conn:
        rows = conn.execute("select name from pg_timezone_names()").fetchall()
        return frozenset(name for (name,) in rows)


def timezone(zone: str, where: Where, key: str) -> str:
    if zone not in _duckdb_time_zones():
        raise where.error(key, f"unknown time zone '{zone}'; use an IANA name like Europe/Paris")
    return zone


def date_format(value: Any, where: Where, key: str) -> str | None:
    if value is None:
        return None
    try:
        with duckdb.connect() as conn:
            conn.execute("select try_strptime('', ?)", [str(value)])
    except duckdb.Error as error:
        raise where.error(
            key, f"'{value}' is not a valid strptime format ({str(error).splitlines()[0]})"
        ) from error
    return str(value)
