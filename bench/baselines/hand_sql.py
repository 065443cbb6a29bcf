"""The hand-written statement: `features.sql` run on the warehouse's raw tables, under the memory
limit the pipeline's DuckDB connections have (DuckDB's own default, 80 % of RAM, let it take
14.5 GiB at 1M customers, beside a refresh that must stay under 6)."""

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.lib.settings import DEFAULT_DUCKDB_MEMORY_LIMIT

STATEMENT = Path(__file__).with_name("features.sql")


def hand_sql_features(warehouse: Path, as_of: date) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        conn.execute("set TimeZone = 'UTC'")
        conn.execute("set memory_limit = ?", [DEFAULT_DUCKDB_MEMORY_LIMIT])
        return conn.execute(STATEMENT.read_text(), {"as_of": as_of}).df()
