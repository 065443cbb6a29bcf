"""The hand-written statement: `features.sql` run on the warehouse's raw tables."""

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

STATEMENT = Path(__file__).with_name("features.sql")


def hand_sql_features(warehouse: Path, as_of: date) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        conn.execute("set TimeZone = 'UTC'")
        return conn.execute(STATEMENT.read_text(), {"as_of": as_of}).df()
