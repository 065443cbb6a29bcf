"""Metadata for the Dagster UI: table row counts and schemas, previews, data-quality results."""

import html
import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
from dagster import AssetCheckResult, AssetKey, MetadataValue, TableColumn, TableSchema

from dagster_project.lib.names import FAILED_EXPECTATIONS_METADATA
from data_checks.validation import ValidationResult

PREVIEW_ROWS = 10
MARKDOWN_ACTIVE = re.compile(r"[\\`*\[\]|]")


def table_metadata(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict:
    """Row count, column schema and fully qualified name of a warehouse table."""
    columns = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    rows = conn.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
    return {
        "dagster/row_count": MetadataValue.int(rows),
        "dagster/column_schema": TableSchema(
            columns=[TableColumn(name, kind) for name, kind in columns]
        ),
        "dagster/table_name": f"{schema}.{table}",
    }


def markdown_table(frame: pd.DataFrame, max_rows: int = PREVIEW_ROWS) -> MetadataValue:
    """A small Markdown table for the Dagster UI (no extra dependency on `tabulate`). Values come
    from data (a customer id may hold HTML or Markdown): each is shown as text."""
    head = frame.head(max_rows)
    shown = head.astype(object).where(head.notna(), "null")
    lines = [
        "| " + " | ".join(as_text(column) for column in frame.columns) + " |",
        "|" + " --- |" * len(frame.columns),
        *(
            "| " + " | ".join(as_text(value) for value in row) + " |"
            for row in shown.itertuples(index=False)
        ),
    ]
    return MetadataValue.md("\n".join(lines))


def as_text(value: object) -> str:
    """`value` for a Markdown cell: HTML escaped, Markdown's active characters backslashed, on
    one line."""
    text = html.escape(str(value)).replace("\n", " ")
    return MARKDOWN_ACTIVE.sub(r"\\\g<0>", text)


def check_result(
    result: ValidationResult,
    page_url: Callable[[Path], str],
    asset_key: AssetKey,
    check_name: str,
) -> AssetCheckResult:
    """A Dagster check result showing every expectation, the offending rows and the Data Docs
    (`page_url` gives a Data Docs page's address)."""
    outcomes = pd.DataFrame(
        [
            {
                "": "✅" if outcome.success else "❌",
                "column": ", ".join(outcome.columns) or "(table)",
                "expectation": outcome.expectation,
                "expected": outcome.expected,
                "unexpected rows": _count(outcome.unexpected_count),
                "unexpected %": _percent(outcome.unexpected_percent),
                "observed": _observed(outcome.observed_value),
            }
            for outcome in result.outcomes
        ]
    )
    offending = "\n\n".join(
        f"**{as_text(failure.describe())}**\n\n{markdown_table(failure.sample).value}"
        for failure in result.failures
        if not failure.sample.empty
    )
    pages = "\n".join(f"- [{page.stem}]({page_url(page)}) (`{page}`)" for page in result.docs_pages)
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=result.success,
        description=result.summary(),
        metadata={
            "expectations": markdown_table(outcomes, max_rows=len(outcomes)),
            "failed expectations": MetadataValue.int(len(result.failures)),
            "rows validated": MetadataValue.int(result.rows_validated),
            "offending rows": MetadataValue.md(offending or "none"),
            "data docs": MetadataValue.url(page_url(result.main_docs_page)),
            "data docs pages": MetadataValue.md(pages),
            FAILED_EXPECTATIONS_METADATA: MetadataValue.json(
                [
                    {
                        "table": failure.table,
                        "column": ", ".join(failure.columns),
                        "expectation": failure.expected,
                        "found": failure.found(),
                        "keys": list(failure.keys),
                        "data_docs": str(failure.docs_page),
                    }
                    for failure in result.failures
                ]
            ),
        },
    )


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def _observed(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else ("" if value is None else str(value))
