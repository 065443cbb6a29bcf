"""Sentiment of social texts, kept in schema enriched where dbt joins it: keyed by the text's
MD5, so the text itself never leaves schema raw."""

from collections.abc import Callable, Iterable

import duckdb
import numpy as np

from dagster_project.lib.names import ENRICHED_SCHEMA, RAW_SCHEMA, TEXT_SENTIMENT

TABLE = f"{ENRICHED_SCHEMA}.{TEXT_SENTIMENT}"


def score_new_texts(
    conn: duckdb.DuckDBPyConnection, scores: Callable[[Iterable[str]], np.ndarray]
) -> int:
    """Scores every distinct comment and mention text not scored before with `scores` (texts ->
    compound scores in [-1, 1]); returns how many it scored."""
    conn.execute(f"create schema if not exists {ENRICHED_SCHEMA}")
    conn.execute(
        f"create table if not exists {TABLE} ("
        "text_md5 varchar primary key, sentiment_compound double, "
        "scored_at timestamp with time zone)"
    )
    new_texts = conn.execute(
        f"select distinct md5(text) as text_md5, text from {RAW_SCHEMA}.social_interactions "
        f"where nullif(trim(text), '') is not null and md5(text) not in "
        f"(select text_md5 from {TABLE})"
    ).df()
    new_texts["sentiment_compound"] = scores(new_texts["text"])
    conn.execute(f"insert into {TABLE} select text_md5, sentiment_compound, now() from new_texts")
    return len(new_texts)
