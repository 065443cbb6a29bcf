"""Enrichment computed in Python and read by dbt: sentiment of social texts."""

from dagster import MaterializeResult, asset

from dagster_project.defs.ingest import raw_asset_key
from dagster_project.defs.metadata import table_metadata
from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib.names import ENRICHED_SCHEMA, TEXT_SENTIMENT, WAREHOUSE_POOL
from dagster_project.lib.text_sentiment import score_new_texts
from ml.sentiment import SCORER_NAME, compound_scores


@asset(
    name=TEXT_SENTIMENT,
    deps=[raw_asset_key("social_interactions")],
    group_name="enrichment",
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
)
def text_sentiment(warehouse: WarehouseResource) -> MaterializeResult:
    """VADER compound sentiment of every distinct comment and mention text, keyed by the text's MD5
    so dbt can join it without the text leaving the raw schema. Texts scored before are skipped."""
    with warehouse.connect() as conn:
        scored = score_new_texts(conn, compound_scores)
        metadata = table_metadata(conn, ENRICHED_SCHEMA, TEXT_SENTIMENT)
    return MaterializeResult(
        metadata={**metadata, "texts scored in this run": scored, "scorer": SCORER_NAME}
    )
