"""Which customer_features columns have a source behind them on this run.

The dbt YAML of customer_features names, for every feature that needs an optional source, the
staging model it comes from (`config: {meta: {needs: stg_...}}`). A source the user did not
provide is an empty table, and its features are null for everyone by design: they are left out
of validation and modelling and listed in the run summary. A feature that is null for everyone
while its source has rows is a fault, and the checks still catch it.
"""

from functools import cache
from pathlib import Path

import duckdb
import yaml

from dagster_project.lib.names import STAGING_SCHEMA
from dagster_project.lib.settings import DBT_PROJECT_DIR

FEATURES_YAML = DBT_PROJECT_DIR / "models" / "marts" / "customer_features.yml"


@cache
def feature_needs(path: Path = FEATURES_YAML) -> dict[str, str]:
    """Feature column -> the staging model it needs."""
    (model,) = [
        m for m in yaml.safe_load(path.read_text())["models"] if m["name"] == "customer_features"
    ]
    return {
        column["name"]: column["config"]["meta"]["needs"]
        for column in model["columns"]
        if "needs" in column.get("config", {}).get("meta", {})
    }


def unobserved_features(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Features whose source model has no rows: the source was not provided."""
    empty = {
        needed
        for needed in set(feature_needs().values())
        if not conn.execute(f"select exists (select 1 from {STAGING_SCHEMA}.{needed})").fetchone()[
            0
        ]
    }
    return [name for name, needed in feature_needs().items() if needed in empty]
