"""Materialization metadata read from the warehouse: row counts, column schemas, previews."""

import duckdb
import pandas as pd
from dagster import MetadataValue, TableColumn, TableSchema

PREVIEW_ROWS = 10


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
    """A small Markdown table for the Dagster UI (no extra dependency on `tabulate`)."""
    head = frame.head(max_rows)
    shown = head.astype(object).where(head.notna(), "null")
    lines = [
        "| " + " | ".join(map(str, frame.columns)) + " |",
        "|" + " --- |" * len(frame.columns),
        *(
            "| " + " | ".join(str(value) for value in row) + " |"
            for row in shown.itertuples(index=False)
        ),
    ]
    return MetadataValue.md("\n".join(lines))
