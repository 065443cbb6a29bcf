"""The tables of schema segments that hold the current state: every customer's segment
(`customer_segments`), each segment's profile (`segment_profiles`) and the RFM baseline
(`rfm_segments`). Replaced whole by each publish of the newest date."""

import json
from datetime import date

import duckdb
import pandas as pd

from dagster_project.lib.names import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_SEGMENTS,
    RFM_SEGMENTS,
    SEGMENT_DEMOGRAPHICS,
    SEGMENT_PROFILES,
    SEGMENTS_SCHEMA,
)
from data_checks.baseline import feature_columns
from ml.model import SegmentationModel
from ml.rfm import rfm_scores

DEMOGRAPHICS = ("age_band", "gender", "country")
"""The profile-only columns of customer_features profiled per segment."""


def replace_current(
    conn: duckdb.DuckDBPyConnection,
    model: SegmentationModel,
    as_of_date: date,
    assignments: str,
) -> None:
    """customer_segments, segment_profiles, segment_demographics and rfm_segments of
    `as_of_date`, from the relation `assignments` (customer_id, segment_id, segment_name,
    membership_probability) and customer_features."""
    rfm = rfm_scores(
        conn.execute(
            f"select customer_id, recency_days, frequency, monetary from {CUSTOMER_FEATURES_TABLE}"
        ).df()
    )
    conn.register("new_rfm", rfm)
    try:
        _replace_assignments(conn, model, as_of_date, assignments)
        _replace_profiles(conn, model, assignments)
        _replace_demographics(conn, model, assignments)
        conn.execute(
            f"create or replace table {SEGMENTS_SCHEMA}.{RFM_SEGMENTS} as "
            "select *, cast(? as date) as as_of_date from new_rfm order by customer_id",
            [as_of_date],
        )
    finally:
        conn.unregister("new_rfm")


def _replace_assignments(
    conn: duckdb.DuckDBPyConnection, model: SegmentationModel, as_of_date: date, assignments: str
) -> None:
    conn.execute(
        f"""
        create or replace table {SEGMENTS_SCHEMA}.{CUSTOMER_SEGMENTS} as
        select customer_id, cast(segment_id as integer) as segment_id, segment_name,
               membership_probability, $version as model_version, $as_of as as_of_date,
               now() as assigned_at
        from {assignments} order by customer_id
        """,
        {"version": model.version, "as_of": as_of_date},
    )


def _replace_profiles(
    conn: duckdb.DuckDBPyConnection, model: SegmentationModel, assignments: str
) -> None:
    """Per segment: size, share, and each model feature's mean and lift over all customers."""
    means = ", ".join(f"avg(f.{name}) as mean_{name}" for name in model.explain_features)
    lifts = ", ".join(
        f"s.mean_{name} / nullif(o.mean_{name}, 0) as lift_{name}"
        for name in model.explain_features
    )
    overall = ", ".join(f"avg({name}) as mean_{name}" for name in model.explain_features)
    described = pd.DataFrame(
        [
            {
                "segment_id": s.segment_id,
                "description": s.description,
                "rule": s.rule,
                "name_evidence": json.dumps(s.name_evidence),
            }
            for s in model.segments.values()
        ]
    )
    conn.register("segment_texts", described)
    try:
        conn.execute(
            f"""
            create or replace table {SEGMENTS_SCHEMA}.{SEGMENT_PROFILES} as
            with per_segment as (
                select a.segment_id, any_value(a.segment_name) as segment_name,
                       count(*) as customers, {means}
                from {assignments} as a join {CUSTOMER_FEATURES_TABLE} as f using (customer_id)
                group by a.segment_id
            ),
            overall as (select {overall} from {CUSTOMER_FEATURES_TABLE})
            select $version as model_version, s.segment_id, s.segment_name, t.description,
                   t.rule, cast(t.name_evidence as json) as name_evidence, s.customers,
                   s.customers / sum(s.customers) over () as share,
                   s.* exclude (segment_id, segment_name, customers), {lifts}
            from per_segment as s cross join overall as o
            left join segment_texts as t using (segment_id)
            order by s.segment_id
            """,
            {"version": model.version},
        )
    finally:
        conn.unregister("segment_texts")


def _replace_demographics(
    conn: duckdb.DuckDBPyConnection, model: SegmentationModel, assignments: str
) -> None:
    """Per segment, demographic attribute and value: customers, their share of the segment, the
    value's share of all customers, and the ratio of the two. Demographics never form segments
    (they are profile-only); this shows who ends up in each."""
    attributes = [name for name in DEMOGRAPHICS if name in feature_columns(conn)]
    if not attributes:
        return
    unpivoted = " union all ".join(
        f"select a.segment_id, '{name}' as attribute, "
        f"coalesce(cast(f.{name} as varchar), 'unknown') as value "
        f"from {assignments} as a join {CUSTOMER_FEATURES_TABLE} as f using (customer_id)"
        for name in attributes
    )
    conn.execute(
        f"""
        create or replace table {SEGMENTS_SCHEMA}.{SEGMENT_DEMOGRAPHICS} as
        with rows as ({unpivoted}),
        counted as (
            select segment_id, attribute, value, count(*) as customers from rows
            group by all
        ),
        shares as (
            select *,
                   customers / sum(customers) over (partition by segment_id, attribute)
                       as share_in_segment,
                   sum(customers) over (partition by attribute, value)
                       / sum(customers) over (partition by attribute) as share_overall
            from counted
        )
        select $version as model_version, cast(segment_id as integer) as segment_id, attribute,
               value, customers, share_in_segment, share_overall,
               share_in_segment / share_overall as representation_ratio
        from shares order by segment_id, attribute, customers desc, value
        """,
        {"version": model.version},
    )
