"""Enrichment computed in Python and read by dbt: sentiment of social texts."""

from dagster import MaterializeResult, asset

from dagster_project.assets.ingest import raw_asset_key
from dagster_project.metadata import table_metadata
from dagster_project.resources import WAREHOUSE_POOL, WarehouseResource
from ml.sentiment import SCORER_NAME, compound_scores

SCHEMA = "enriched"


@asset(
    deps=[raw_asset_key("social_interactions")],
    group_name="enrichment",
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
)
def text_sentiment(warehouse: WarehouseResource) -> MaterializeResult:
    """VADER compound sentiment of every distinct comment and mention text, keyed by the text's MD5
    so dbt can join it without the text leaving the raw schema. Texts scored before are skipped."""
    with warehouse.connect() as conn:
        conn.execute(f"create schema if not exists {SCHEMA}")
        conn.execute(
            f"create table if not exists {SCHEMA}.text_sentiment ("
            "text_md5 varchar primary key, sentiment_compound double, "
            "scored_at timestamp with time zone)"
        )
        new_texts = conn.execute(
            "select distinct md5(text) as text_md5, text from raw.social_interactions "
            "where nullif(trim(text), '') is not null and md5(text) not in "
            f"(select text_md5 from {SCHEMA}.text_sentiment)"
        ).df()
        new_texts["sentiment_compound"] = compound_scores(new_texts["text"])
        conn.execute(
            f"insert into {SCHEMA}.text_sentiment "
            "select text_md5, sentiment_compound, now() from new_texts"
        )
        metadata = table_metadata(conn, SCHEMA, "text_sentiment")
    return MaterializeResult(
        metadata={**metadata, "texts scored in this run": len(new_texts), "scorer": SCORER_NAME}
    )
