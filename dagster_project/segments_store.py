"""The warehouse side of segmentation: read training rows and the previous run, and publish every
table of schema `segments` (DESIGN.md section 5) in one transaction.

A failed publish rolls back and leaves the previous tables exactly as they were.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from ml.drift import DriftTally
from ml.model import SegmentationModel
from ml.rfm import rfm_scores
from ml.train import PreviousRun

FEATURES = "marts.customer_features"
SCHEMA = "segments"
SCORING_CHUNK_ROWS = 100_000
UNKNOWN = "unknown"  # model of a date scored before scoring_runs existed


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


def _feature_chunks(
    conn: duckdb.DuckDBPyConnection, columns: list[str], features: str
) -> Iterator[pd.DataFrame]:
    """Every customer's features, a chunk at a time, so scoring memory stays bounded."""
    reader = conn.sql(
        f"select customer_id, {', '.join(columns)} from {features} order by customer_id"
    ).to_arrow_reader(SCORING_CHUNK_ROWS)
    for batch in reader:
        yield batch.to_pandas()


@dataclass(frozen=True)
class Scored:
    """Every customer's assignment, and how far today's customers drifted from the training
    snapshot (empty frames when the model has no snapshot)."""

    assignments: pd.DataFrame
    feature_psi: pd.DataFrame  # feature, psi
    segment_share_changes: pd.DataFrame  # segment_id, training_share, share, change


def score_everyone(
    conn: duckdb.DuckDBPyConnection, model: SegmentationModel, features: str = FEATURES
) -> Scored:
    snapshot = model.drift_reference
    tally = DriftTally(snapshot) if snapshot is not None else None
    parts = []
    for chunk in _feature_chunks(conn, model.features, features):
        assigned = model.assign(chunk)
        if tally is not None:
            tally.add(chunk, assigned["segment_id"])
        parts.append(assigned)
    return Scored(
        assignments=pd.concat(parts, ignore_index=True),
        feature_psi=tally.feature_psi() if tally else pd.DataFrame(columns=["feature", "psi"]),
        segment_share_changes=tally.segment_share_changes()
        if tally
        else pd.DataFrame(columns=["segment_id", "training_share", "share", "change"]),
    )


@dataclass(frozen=True)
class Publication:
    as_of_date: date
    current: bool  # the newest date scored: the current tables were replaced
    unchanged: bool  # same model and features as this date's last publish: nothing was written
    replayed: tuple[date, ...]  # later dates whose history was re-applied after this one


def features_as_of(conn: duckdb.DuckDBPyConnection, features: str = FEATURES) -> date:
    return conn.execute(f"select max(as_of_date) from {features}").fetchone()[0]


def is_backfill(conn: duckdb.DuckDBPyConnection, as_of_date: date) -> bool:
    """Whether a later date has been scored already: `as_of_date` then goes into the history
    only, and the current tables stay as they are."""
    if not _table_exists(conn, "scoring_runs"):
        return False
    newest = conn.execute(f"select max(as_of_date) from {SCHEMA}.scoring_runs").fetchone()[0]
    return newest is not None and as_of_date < newest


def backfill_model_version(conn: duckdb.DuckDBPyConnection, as_of_date: date) -> str | None:
    """For a past date scored before, the model that scored it, so that re-scoring it reproduces
    the assignment exactly; None otherwise (the current model scores it)."""
    if not is_backfill(conn, as_of_date):
        return None
    row = conn.execute(
        f"select model_version from {SCHEMA}.scoring_runs where as_of_date = ?", [as_of_date]
    ).fetchone()
    return row[0] if row and row[0] != UNKNOWN else None


def publish(
    conn: duckdb.DuckDBPyConnection,
    model: SegmentationModel,
    scored: Scored,
    retrain_because: str,
    psi_threshold: float,
    features: str = FEATURES,
) -> Publication:
    """Writes the segments of the features' as-of date in one transaction. The newest date
    replaces the current tables; an earlier one (a backfill) is spliced into segment_history and
    segment_transitions only, and the dates after it are re-applied so history stays exact.
    Publishing what was published before (same model, same features) writes nothing.
    `features` other than marts.customer_features (a point-in-time rebuild) may only backfill."""
    as_of_date = features_as_of(conn, features)
    fingerprint = _features_fingerprint(conn, features)
    conn.execute(f"create schema if not exists {SCHEMA}")
    _create_tables(conn)
    previous = conn.execute(
        f"select model_version, features_fingerprint from {SCHEMA}.scoring_runs "
        "where as_of_date = ?",
        [as_of_date],
    ).fetchone()
    later = tuple(
        row[0]
        for row in conn.execute(
            f"select as_of_date from {SCHEMA}.scoring_runs where as_of_date > ? order by 1",
            [as_of_date],
        ).fetchall()
    )
    if previous == (model.version, fingerprint):
        return Publication(as_of_date, not later, unchanged=True, replayed=())
    conn.register("new_assignments", scored.assignments)
    conn.execute("begin transaction")
    try:
        _splice_history(conn, as_of_date, later)
        if not later:
            if features != FEATURES:
                raise ValueError(f"{features} may only backfill dates before the newest one")
            _replace_current(conn, model, as_of_date)
        _record_drift(conn, model.version, scored.feature_psi, as_of_date, psi_threshold)
        _record_scoring(conn, model.version, scored, as_of_date, fingerprint, retrain_because)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("new_assignments")
    return Publication(as_of_date, not later, unchanged=False, replayed=later)


def _features_fingerprint(conn: duckdb.DuckDBPyConnection, features: str) -> str:
    """Row count and an order-independent hash of every feature row."""
    rows, digest = conn.execute(
        f"select count(*), bit_xor(hash(f)) from {features} as f"
    ).fetchone()
    return f"{rows}-{digest}"


def _replace_current(
    conn: duckdb.DuckDBPyConnection, model: SegmentationModel, as_of_date: date
) -> None:
    rfm = rfm_scores(
        conn.execute(f"select customer_id, recency_days, frequency, monetary from {FEATURES}").df()
    )
    conn.register("new_rfm", rfm)
    try:
        _replace_assignments(conn, model, as_of_date)
        _replace_profiles(conn, model)
        _record_model_run(conn, model)
        conn.execute(
            f"create or replace table {SCHEMA}.rfm_segments as "
            "select *, cast(? as date) as as_of_date from new_rfm order by customer_id",
            [as_of_date],
        )
    finally:
        conn.unregister("new_rfm")


def _create_tables(conn: duckdb.DuckDBPyConnection) -> None:
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
        create table if not exists {SCHEMA}.scoring_runs (
            as_of_date date primary key, model_version varchar not null,
            scored_at timestamp with time zone not null, customers bigint not null,
            customers_moved bigint not null, max_feature_psi double,
            max_segment_share_change double, retrain_requested_because varchar,
            features_fingerprint varchar not null
        );
        create table if not exists {SCHEMA}.feature_drift (
            as_of_date date not null, model_version varchar not null, feature varchar not null,
            psi double not null, threshold double not null, drifted boolean not null
        );
        """
    )
    # Warehouses from before scoring_runs: the dates already in the history count as scored.
    conn.execute(
        f"""
        insert into {SCHEMA}.scoring_runs
        select distinct as_of_date, '{UNKNOWN}', now(), 0, 0, null, null, null, '{UNKNOWN}'
        from {SCHEMA}.segment_transitions
        where as_of_date not in (select as_of_date from {SCHEMA}.scoring_runs)
        """
    )


def _record_drift(
    conn: duckdb.DuckDBPyConnection,
    model_version: str,
    feature_psi: pd.DataFrame,
    as_of_date: date,
    threshold: float,
) -> None:
    conn.register("new_drift", feature_psi)
    try:
        conn.execute(f"delete from {SCHEMA}.feature_drift where as_of_date = ?", [as_of_date])
        conn.execute(
            f"insert into {SCHEMA}.feature_drift "
            "select $as_of, $version, feature, psi, $threshold, psi > $threshold from new_drift",
            {"as_of": as_of_date, "version": model_version, "threshold": threshold},
        )
    finally:
        conn.unregister("new_drift")


def _record_scoring(
    conn: duckdb.DuckDBPyConnection,
    model_version: str,
    scored: Scored,
    as_of_date: date,
    fingerprint: str,
    retrain_because: str,
) -> None:
    moved = conn.execute(
        f"select coalesce(sum(customers), 0) from {SCHEMA}.segment_transitions "
        "where as_of_date = ? and from_segment_id <> to_segment_id",
        [as_of_date],
    ).fetchone()[0]
    psi = scored.feature_psi["psi"]
    changes = scored.segment_share_changes["change"].abs()
    conn.execute(
        f"insert or replace into {SCHEMA}.scoring_runs values (?, ?, now(), ?, ?, ?, ?, ?, ?)",
        [
            as_of_date,
            model_version,
            len(scored.assignments),
            moved,
            float(psi.max()) if len(psi) else None,
            float(changes.max()) if len(changes) else None,
            retrain_because or None,
            fingerprint,
        ],
    )


def _splice_history(conn: duckdb.DuckDBPyConnection, as_of_date: date, later: tuple) -> None:
    """Type-2 history and transitions with `as_of_date` in place. The states of the later dates
    are read from the history first, then everything from `as_of_date` on is undone and
    re-applied in date order: the result is the same whatever order dates are published in."""
    conn.execute(
        f"""
        create or replace temp table later_states as
        select dates.as_of_date, history.customer_id, history.segment_id
        from {SCHEMA}.segment_history as history
        join (select unnest(?::date[]) as as_of_date) as dates
          on history.valid_from <= dates.as_of_date
         and (history.valid_to is null or history.valid_to > dates.as_of_date)
        """,
        [list(later)],
    )
    _undo_from(conn, as_of_date)
    _apply_day(conn, as_of_date, "new_assignments")
    for day in later:
        conn.execute(
            "create or replace temp view replayed_states as select customer_id, segment_id "
            f"from later_states where as_of_date = date '{day.isoformat()}'"
        )
        _apply_day(conn, day, "replayed_states")
    conn.execute("drop view if exists replayed_states")
    conn.execute("drop table later_states")


def _undo_from(conn: duckdb.DuckDBPyConnection, as_of_date: date) -> None:
    """History and transitions as they were before `as_of_date` or any later date was added."""
    for statement in (
        f"delete from {SCHEMA}.segment_history where valid_from >= $as_of",
        f"update {SCHEMA}.segment_history set valid_to = null where valid_to >= $as_of",
        f"delete from {SCHEMA}.segment_transitions where as_of_date >= $as_of",
    ):
        conn.execute(statement, {"as_of": as_of_date})


def _apply_day(conn: duckdb.DuckDBPyConnection, as_of_date: date, assignments: str) -> None:
    """Adds one day's assignments (relation `assignments`) on top of the history so far: the
    day's transitions, closed intervals for customers who moved or left, new ones for the rest."""
    statements = (
        f"""
        insert into {SCHEMA}.segment_transitions
        select $as_of, before.segment_id, after.segment_id, count(*)
        from (select * from {SCHEMA}.segment_history where valid_to is null) as before
        full outer join {assignments} as after using (customer_id)
        group by all
        """,
        f"""
        update {SCHEMA}.segment_history as history set valid_to = $as_of
        where valid_to is null and not exists (
            select 1 from {assignments} as after
            where after.customer_id = history.customer_id and after.segment_id = history.segment_id
        )
        """,
        f"""
        insert into {SCHEMA}.segment_history
        select customer_id, segment_id, $as_of, null from {assignments} as after
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


MODEL_RUN_COLUMNS = {
    "model_version": ("varchar primary key", "version"),
    "trained_at": ("timestamp with time zone", "trained_at"),
    "algorithm": ("varchar", "algorithm"),
    "params": ("json", "params"),
    "n_customers": ("bigint", "n_customers"),
    "features": ("json", "features"),
    "silhouette": ("double", "silhouette"),
    "calinski_harabasz": ("double", "calinski_harabasz"),
    "davies_bouldin": ("double", "davies_bouldin"),
    "bootstrap_stability": ("double", "stability"),
    "stability_ari": ("double", "stability_ari"),
    "explainer_f1": ("double", "explainer_macro_f1"),
    "assigner_f1": ("double", "assigner_macro_f1"),
    "data_fingerprint": ("varchar", "data_fingerprint"),
    "chosen_because": ("varchar", "chosen_because"),
    "trained_because": ("varchar", "trained_because"),
}
"""model_runs columns: their type, and the model metric each comes from."""


def _record_model_run(conn: duckdb.DuckDBPyConnection, model: SegmentationModel) -> None:
    columns = ", ".join(f"{name} {kind}" for name, (kind, _) in MODEL_RUN_COLUMNS.items())
    conn.execute(f"create table if not exists {SCHEMA}.model_runs ({columns})")
    # Added after the first release: older warehouses gain the column (null for old models).
    conn.execute(
        f"alter table {SCHEMA}.model_runs add column if not exists trained_because varchar"
    )
    values = {"version": model.version, **model.metrics}
    conn.execute(
        f"insert or ignore into {SCHEMA}.model_runs ({', '.join(MODEL_RUN_COLUMNS)}) "
        f"values ({', '.join(['?'] * len(MODEL_RUN_COLUMNS))})",
        [
            json.dumps(values.get(metric)) if kind == "json" else values.get(metric)
            for kind, metric in MODEL_RUN_COLUMNS.values()
        ],
    )
