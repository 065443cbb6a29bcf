"""The warehouse side of segmentation: read training rows and the previous run, and publish every
table of schema `segments` (DESIGN.md section 5) in one transaction.

A failed publish rolls back and leaves the previous tables exactly as they were.
"""

import json
from collections.abc import Callable, Iterator
from datetime import date

import duckdb
import pandas as pd

from ml.model import SegmentationModel
from ml.rfm import rfm_scores
from ml.train import PreviousRun

FEATURES = "marts.customer_features"
SCHEMA = "segments"
SCORING_CHUNK_ROWS = 100_000


def training_sample(conn: duckdb.DuckDBPyConnection, rows: int, seed: int) -> pd.DataFrame:
    """Up to `rows` customers, chosen by a seeded hash of their id: the same customers on every
    run, and mostly the same ones as customers are added, so refreshes stay comparable."""
    return (
        conn.execute(
            f"select * from {FEATURES} order by hash(customer_id || ?), customer_id limit ?",
            [str(seed), rows],
        )
        .df()
        .sort_values("customer_id", ignore_index=True)
    )


def _table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [SCHEMA, table],
        ).fetchone()[0]
    )


def previous_run(
    conn: duckdb.DuckDBPyConnection, load_model: Callable[[str], SegmentationModel]
) -> PreviousRun | None:
    """The published assignments and names, and the model version that produced them (loaded
    with `load_model`), or None before the first publish."""
    if not _table_exists(conn, "customer_segments"):
        return None
    current = conn.execute(
        f"select customer_id, segment_id, segment_name, model_version "
        f"from {SCHEMA}.customer_segments"
    ).df()
    used = conn.execute(f"select max(segment_id) from {SCHEMA}.segment_history").fetchone()[0]
    return PreviousRun(
        assignments=current.set_index("customer_id")["segment_id"],
        names=dict(zip(current["segment_id"], current["segment_name"], strict=True)),
        next_id=int(used or 0) + 1,
        model=load_model(current["model_version"].iat[0]),
    )


def _feature_chunks(conn: duckdb.DuckDBPyConnection, columns: list[str]) -> Iterator[pd.DataFrame]:
    """Every customer's features, a chunk at a time, so scoring memory stays bounded."""
    reader = conn.sql(
        f"select customer_id, {', '.join(columns)} from {FEATURES} order by customer_id"
    ).to_arrow_reader(SCORING_CHUNK_ROWS)
    for batch in reader:
        yield batch.to_pandas()


def score_everyone(conn: duckdb.DuckDBPyConnection, model: SegmentationModel) -> pd.DataFrame:
    return pd.concat(
        [model.assign(chunk) for chunk in _feature_chunks(conn, model.explain_features)],
        ignore_index=True,
    )


def publish(
    conn: duckdb.DuckDBPyConnection, model: SegmentationModel, assignments: pd.DataFrame
) -> date:
    """Writes every segments table for the features' as-of date in one transaction."""
    as_of_date = conn.execute(f"select max(as_of_date) from {FEATURES}").fetchone()[0]
    rfm = rfm_scores(
        conn.execute(f"select customer_id, recency_days, frequency, monetary from {FEATURES}").df()
    )
    conn.register("new_assignments", assignments)
    conn.register("new_rfm", rfm)
    conn.execute("begin transaction")
    try:
        conn.execute(f"create schema if not exists {SCHEMA}")
        _update_history(conn, as_of_date)
        _replace_assignments(conn, model, as_of_date)
        _replace_profiles(conn, model)
        _record_model_run(conn, model)
        conn.execute(
            f"create or replace table {SCHEMA}.rfm_segments as "
            "select *, cast(? as date) as as_of_date from new_rfm order by customer_id",
            [as_of_date],
        )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("new_assignments")
        conn.unregister("new_rfm")
    return as_of_date


def _update_history(conn: duckdb.DuckDBPyConnection, as_of_date: date) -> None:
    """Type-2 history and the day's transitions. Re-publishing a date first undoes what that date
    (or a later one) wrote, so the result is the same however often a date is published."""
    conn.execute(
        f"""
        create table if not exists {SCHEMA}.segment_history (
            customer_id varchar not null, segment_id integer not null,
            valid_from date not null, valid_to date
        );
        create table if not exists {SCHEMA}.segment_transitions (
            as_of_date date not null, from_segment_id integer, to_segment_id integer,
            customers bigint not null
        );
        """
    )
    statements = (
        f"delete from {SCHEMA}.segment_history where valid_from >= $as_of",
        f"update {SCHEMA}.segment_history set valid_to = null where valid_to >= $as_of",
        f"delete from {SCHEMA}.segment_transitions where as_of_date >= $as_of",
        f"""
        insert into {SCHEMA}.segment_transitions
        select $as_of, before.segment_id, after.segment_id, count(*)
        from (select * from {SCHEMA}.segment_history where valid_to is null) as before
        full outer join new_assignments as after using (customer_id)
        group by all
        """,
        f"""
        update {SCHEMA}.segment_history as history set valid_to = $as_of
        where valid_to is null and not exists (
            select 1 from new_assignments as after
            where after.customer_id = history.customer_id and after.segment_id = history.segment_id
        )
        """,
        f"""
        insert into {SCHEMA}.segment_history
        select customer_id, segment_id, $as_of, null from new_assignments as after
        where not exists (
            select 1 from {SCHEMA}.segment_history as history
            where history.customer_id = after.customer_id and history.valid_to is null
        )
        """,
    )
    for statement in statements:
        conn.execute(statement, {"as_of": as_of_date})


def _replace_assignments(
    conn: duckdb.DuckDBPyConnection, model: SegmentationModel, as_of_date: date
) -> None:
    conn.execute(
        f"""
        create or replace table {SCHEMA}.customer_segments as
        select customer_id, cast(segment_id as integer) as segment_id, segment_name, confidence,
               $version as model_version, $as_of as as_of_date, now() as assigned_at
        from new_assignments order by customer_id
        """,
        {"version": model.version, "as_of": as_of_date},
    )


def _replace_profiles(conn: duckdb.DuckDBPyConnection, model: SegmentationModel) -> None:
    """Per segment: size, share, and each model feature's mean and lift over all customers."""
    means = ", ".join(f"avg(f.{name}) as mean_{name}" for name in model.explain_features)
    lifts = ", ".join(
        f"s.mean_{name} / nullif(o.mean_{name}, 0) as lift_{name}"
        for name in model.explain_features
    )
    overall = ", ".join(f"avg({name}) as mean_{name}" for name in model.explain_features)
    described = pd.DataFrame(
        [
            {"segment_id": s.segment_id, "description": s.description, "rule": s.rule}
            for s in model.segments.values()
        ]
    )
    conn.register("segment_texts", described)
    try:
        conn.execute(
            f"""
            create or replace table {SCHEMA}.segment_profiles as
            with per_segment as (
                select a.segment_id, any_value(a.segment_name) as segment_name,
                       count(*) as customers, {means}
                from new_assignments as a join {FEATURES} as f using (customer_id)
                group by a.segment_id
            ),
            overall as (select {overall} from {FEATURES})
            select $version as model_version, s.segment_id, s.segment_name, t.description,
                   t.rule, s.customers, s.customers / sum(s.customers) over () as share,
                   s.* exclude (segment_id, segment_name, customers), {lifts}
            from per_segment as s cross join overall as o
            left join segment_texts as t using (segment_id)
            order by s.segment_id
            """,
            {"version": model.version},
        )
    finally:
        conn.unregister("segment_texts")


def _record_model_run(conn: duckdb.DuckDBPyConnection, model: SegmentationModel) -> None:
    metrics = model.metrics
    conn.execute(
        f"""
        create table if not exists {SCHEMA}.model_runs (
            model_version varchar primary key, trained_at timestamp with time zone,
            algorithm varchar, params json, n_customers bigint, features json,
            silhouette double, calinski_harabasz double, davies_bouldin double,
            bootstrap_stability double, stability_ari double, explainer_f1 double,
            assigner_f1 double, data_fingerprint varchar, chosen_because varchar
        )
        """
    )
    conn.execute(
        f"insert or ignore into {SCHEMA}.model_runs values ({', '.join(['?'] * 15)})",
        [
            model.version,
            metrics["trained_at"],
            metrics["algorithm"],
            json.dumps(metrics["params"]),
            metrics["n_customers"],
            json.dumps(metrics["features"]),
            metrics["silhouette"],
            metrics["calinski_harabasz"],
            metrics["davies_bouldin"],
            metrics["stability"],
            metrics["stability_ari"],
            metrics["explainer_macro_f1"],
            metrics["assigner_macro_f1"],
            metrics["data_fingerprint"],
            metrics["chosen_because"],
        ],
    )
