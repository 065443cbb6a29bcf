"""Names that the Dagster definitions (defs/) and the warehouse code (lib/) share: schemas,
tables, asset keys, run tags, metadata keys and the writer pool. One place, so that renaming one
is one edit. dbt sets its own schemas (dbt_project.yml); the ones here must agree with it.
"""

# Warehouse schemas.
RAW_SCHEMA = "raw"
ENRICHED_SCHEMA = "enriched"
STAGING_SCHEMA = "staging"
INTERMEDIATE_SCHEMA = "intermediate"
MARTS_SCHEMA = "marts"
SEGMENTS_SCHEMA = "segments"
QUALITY_SCHEMA = "quality"
POINT_IN_TIME_PREFIX = "pit_"
"""A past day's rebuild writes intermediate and marts into pit_intermediate and pit_marts."""

# The marts (their dbt model names are also their asset keys).
CUSTOMER_FEATURES = "customer_features"
DIM_CUSTOMERS = "dim_customers"
CUSTOMERS_LEFT_OUT = "customers_left_out"
CUSTOMER_REPEAT_PURCHASES = "customer_repeat_purchases"
"""The lifetime-value models' inputs (marts): repeat purchase days and their timing."""
"""Customers the consent policy does not allow to profile (marts), with the reason."""
CUSTOMER_FEATURES_TABLE = f"{MARTS_SCHEMA}.{CUSTOMER_FEATURES}"
DIM_CUSTOMERS_TABLE = f"{MARTS_SCHEMA}.{DIM_CUSTOMERS}"
CUSTOMERS_LEFT_OUT_TABLE = f"{MARTS_SCHEMA}.{CUSTOMERS_LEFT_OUT}"
CUSTOMER_REPEAT_PURCHASES_TABLE = f"{MARTS_SCHEMA}.{CUSTOMER_REPEAT_PURCHASES}"
ORDERS_VALUED_TABLE = f"{INTERMEDIATE_SCHEMA}.int_orders_valued"
"""Every order with its net value and whether it counts as a purchase (dbt, intermediate)."""
POINT_IN_TIME_FEATURES_TABLE = POINT_IN_TIME_PREFIX + CUSTOMER_FEATURES_TABLE
POINT_IN_TIME_REPEAT_PURCHASES_TABLE = POINT_IN_TIME_PREFIX + CUSTOMER_REPEAT_PURCHASES_TABLE
POINT_IN_TIME_DIM_CUSTOMERS_TABLE = POINT_IN_TIME_PREFIX + DIM_CUSTOMERS_TABLE

# Tables of schema segments: the public interface for SQL users (DESIGN.md section 5). Each is
# also the name of the asset that publishes it.
CUSTOMER_SEGMENTS = "customer_segments"
SEGMENT_PROFILES = "segment_profiles"
SEGMENT_DEMOGRAPHICS = "segment_demographics"
BACKTESTS = "backtests"
FAIRNESS_AUDIT = "fairness_audit"
SEGMENT_HISTORY = "segment_history"
SEGMENT_TRANSITIONS = "segment_transitions"
MODEL_RUNS = "model_runs"
RFM_SEGMENTS = "rfm_segments"
SCORING_RUNS = "scoring_runs"
FEATURE_DRIFT = "feature_drift"
CUSTOMER_PREDICTIONS = "customer_predictions"
PREDICTION_RUNS = "prediction_runs"
PREDICTION_HISTORY = "prediction_history"
ERASURE_LOG = "erasure_log"
ERASURE_LOG_TABLE = f"{SEGMENTS_SCHEMA}.{ERASURE_LOG}"
BACKFILLED_TABLES = (SEGMENT_HISTORY, SEGMENT_TRANSITIONS, SCORING_RUNS, FEATURE_DRIFT)
"""What publishing a past date (a backfill) writes; the other tables hold the current state."""

# Other asset keys.
TEXT_SENTIMENT = "text_sentiment"
FEATURES_BASELINE = "customer_features_baseline"
SEGMENTATION_MODEL = "segmentation_model"
HISTORY_BACKFILL = "segment_history_backfill"
SERVING_SNAPSHOT = "serving_snapshot"
CLV_MODEL = "clv_model"
PROPENSITY_MODEL = "purchase_propensity_model"


def raw_asset_name(table: str) -> str:
    """The asset key of a raw table: raw_<table> (dbt's raw sources map onto these too)."""
    return f"raw_{table}"


# Run tags.
TRAINED_BECAUSE_TAG = "segments/trained_because"
"""Why segmentation_model trains in this run; set by the weekly schedule and the drift sensor."""
LANDING_CHANGE_TAG = "segments/landing_change"
"""Which landing files changed, on runs the landing sensor starts."""
WAREHOUSE_TAG = "segments/warehouse"
"""On every job that writes the warehouse: the run queue runs one such job at a time
(.dagster_home/dagster.yaml)."""
PROCESS_TAG = "segments/process"
"""<host>:<pid> of the process executing the run, so that a dead run can be failed."""

# Metadata read by a sensor or by `make run`.
RETRAIN_METADATA = "retrain_requested_because"
"""On customer_segments: why the refresh asks for a retrain, or "no"."""
FAILED_EXPECTATIONS_METADATA = "failed expectations, as data"
"""On a data-quality check: each failed expectation (table, column, sentence, what was found,
offending keys, Data Docs page) as JSON, which `make run` prints when a gate stops the run."""

MODEL_SECONDS = "model_seconds"
"""On the prediction assets: seconds spent fitting and scoring, apart from rebuilding and
validating the point-in-time features (read by `make bench`)."""

WAREHOUSE_POOL = "duckdb_warehouse"
"""DuckDB allows one writing process per file: every asset that writes the warehouse (the dbt
subprocess included) runs in this Dagster pool, whose limit is 1 (.dagster_home/dagster.yaml)."""

# Activation (docs/audiences.md): tables of schema segments, and the lift asset.
AUDIENCE_MEMBERS = "audience_members"
AUDIENCE_RUNS = "audience_runs"
AUDIENCE_LIFT = "audience_lift"
