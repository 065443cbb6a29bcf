"""What training and scoring read from the warehouse: a training sample of customer_features,
the previous publication, every customer scored a chunk at a time, and which model scored a past
date."""

from collections.abc import Callable, Iterator
from datetime import date

import duckdb
import pandas as pd

from dagster_project.lib.names import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_SEGMENTS,
    SCORING_RUNS,
    SEGMENT_HISTORY,
    SEGMENTS_SCHEMA,
)
from ml.model import SegmentationModel
from ml.scoring import Scored, score_in_chunks
from ml.train import PreviousRun

SCORING_CHUNK_ROWS = 100_000
UNKNOWN_MODEL = "unknown"
"""scoring_runs' model of a date scored before scoring_runs existed."""


def training_sample(
    conn: duckdb.DuckDBPyConnection,
    rows: int,
    seed: int,
    features: str = CUSTOMER_FEATURES_TABLE,
) -> pd.DataFrame:
    """Up to `rows` customers of `features`, chosen by a seeded hash of their id: the same
    customers on every run, and mostly the same ones as customers are added, so refreshes stay
    comparable."""
    return (
        conn.execute(
            f"select * from {features} order by hash(customer_id || ?), customer_id limit ?",
            [str(seed), rows],
        )
        .df()
        .sort_values("customer_id", ignore_index=True)
    )


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `table` (schema segments unless qualified) exists: a warehouse before its first
    publish has none."""
    schema, _, name = table.rpartition(".")
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema or SEGMENTS_SCHEMA, name],
        ).fetchall()[0][0]
    )


def previous_run(
    conn: duckdb.DuckDBPyConnection, load_model: Callable[[str], SegmentationModel]
) -> PreviousRun | None:
    """The published assignments and names, and the model version that produced them (loaded
    with `load_model`), or None before the first publish."""
    if not table_exists(conn, CUSTOMER_SEGMENTS):
        return None
    current = conn.execute(
        f"select customer_id, segment_id, segment_name, model_version "
        f"from {SEGMENTS_SCHEMA}.{CUSTOMER_SEGMENTS}"
    ).df()
    used = conn.execute(
        f"select max(segment_id) from {SEGMENTS_SCHEMA}.{SEGMENT_HISTORY}"
    ).fetchone()[0]
    return PreviousRun(
        assignments=current.set_index("customer_id")["segment_id"],
        names=dict(zip(current["segment_id"], current["segment_name"], strict=True)),
        next_id=int(used or 0) + 1,
        model=load_model(current["model_version"].iat[0]),
    )


def feature_chunks(
    conn: duckdb.DuckDBPyConnection, columns: list[str], features: str
) -> Iterator[pd.DataFrame]:
    """Every customer's `columns` of `features`, in customer order, a chunk at a time."""
    reader = conn.sql(
        f"select customer_id, {', '.join(columns)} from {features} order by customer_id"
    ).to_arrow_reader(SCORING_CHUNK_ROWS)
    for batch in reader:
        yield batch.to_pandas()


def score_everyone(
    conn: duckdb.DuckDBPyConnection,
    model: SegmentationModel,
    features: str = CUSTOMER_FEATURES_TABLE,
) -> Scored:
    """Every customer of `features` assigned by `model`, with drift against its training
    snapshot; memory stays bounded by the chunk size."""
    return score_in_chunks(model, feature_chunks(conn, model.features, features))


def features_as_of(
    conn: duckdb.DuckDBPyConnection, features: str = CUSTOMER_FEATURES_TABLE
) -> date:
    return conn.execute(f"select max(as_of_date) from {features}").fetchone()[0]


def is_backfill(conn: duckdb.DuckDBPyConnection, as_of_date: date) -> bool:
    """Whether a later date has been scored already: `as_of_date` then goes into the history
    only, and the current tables stay as they are."""
    if not table_exists(conn, SCORING_RUNS):
        return False
    newest = conn.execute(
        f"select max(as_of_date) from {SEGMENTS_SCHEMA}.{SCORING_RUNS}"
    ).fetchone()[0]
    return newest is not None and as_of_date < newest


def backfill_model_version(conn: duckdb.DuckDBPyConnection, as_of_date: date) -> str | None:
    """For a past date scored before, the model that scored it, so that re-scoring it reproduces
    the assignment exactly; None otherwise (the current model scores it)."""
    if not is_backfill(conn, as_of_date):
        return None
    row = conn.execute(
        f"select model_version from {SEGMENTS_SCHEMA}.{SCORING_RUNS} where as_of_date = ?",
        [as_of_date],
    ).fetchone()
    return row[0] if row and row[0] != UNKNOWN_MODEL else None
