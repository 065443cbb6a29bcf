"""Publishing one as-of date's segments: every table of schema segments in one transaction.

The newest date replaces the current tables (customer_segments, segment_profiles, rfm_segments,
a new model in model_runs); an earlier date (a backfill) is spliced into segment_history and
segment_transitions only, and the dates after it are re-applied so history stays exact. Both
record the date in scoring_runs and feature_drift. Publishing what was published before (same
model, same features) writes nothing. A failed publish rolls back and leaves the previous tables
exactly as they were.
"""

from dataclasses import dataclass
from datetime import date

import duckdb

from dagster_project.lib.names import CUSTOMER_FEATURES_TABLE, CUSTOMERS_LEFT_OUT
from dagster_project.lib.segment_store import history, ledger
from dagster_project.lib.segment_store.current_tables import replace_current
from dagster_project.lib.segment_store.reads import features_as_of, table_exists
from ml.model import SegmentationModel
from ml.scoring import Scored

NEW_ASSIGNMENTS = "new_assignments"


@dataclass(frozen=True)
class Publication:
    as_of_date: date
    current: bool  # the newest date scored: the current tables were replaced
    unchanged: bool  # same model and features as this date's last publish: nothing was written
    replayed: tuple[date, ...]  # later dates whose history was re-applied after this one
    customers_left_out: int  # known customers the consent policy does not allow to profile


def publish(
    conn: duckdb.DuckDBPyConnection,
    model: SegmentationModel,
    scored: Scored,
    retrain_because: str,
    psi_threshold: float,
    features: str = CUSTOMER_FEATURES_TABLE,
) -> Publication:
    """Writes the segments of the features' as-of date in one transaction (see the module
    docstring). `features` other than customer_features (a point-in-time rebuild) may only
    backfill."""
    as_of_date = features_as_of(conn, features)
    fingerprint = features_fingerprint(conn, features)
    history.create_history_tables(conn)
    ledger.create_ledger_tables(conn)
    later = ledger.later_dates(conn, as_of_date)
    left_out = left_out_beside(conn, features)
    customers_left_out = conn.execute(f"select count(*) from {left_out}").fetchall()[0][0]
    if ledger.scored_before(conn, as_of_date) == (model.version, fingerprint):
        return Publication(as_of_date, not later, True, (), customers_left_out)
    conn.register(NEW_ASSIGNMENTS, scored.assignments)
    conn.execute("begin transaction")
    try:
        history.splice_day(conn, as_of_date, later, NEW_ASSIGNMENTS, left_out)
        if not later:
            if features != CUSTOMER_FEATURES_TABLE:
                raise ValueError(f"{features} may only backfill dates before the newest one")
            replace_current(conn, model, as_of_date, NEW_ASSIGNMENTS)
            ledger.record_model_run(conn, model)
        ledger.record_drift(conn, model.version, scored.feature_psi, as_of_date, psi_threshold)
        ledger.record_scoring(
            conn,
            model.version,
            scored,
            as_of_date,
            history.moved_customers(conn, as_of_date),
            fingerprint,
            retrain_because,
            customers_left_out,
        )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister(NEW_ASSIGNMENTS)
    return Publication(as_of_date, not later, False, later, customers_left_out)


def left_out_beside(conn: duckdb.DuckDBPyConnection, features: str) -> str:
    """The customers the consent policy left out of `features` (customer_id, reason), from the
    dbt model beside it; none when the build predates the policy."""
    table = f"{features.rsplit('.', 1)[0]}.{CUSTOMERS_LEFT_OUT}"
    if table_exists(conn, table):
        return f"(select customer_id, reason from {table})"
    return "(select null::varchar as customer_id, null::varchar as reason where false)"


def features_fingerprint(conn: duckdb.DuckDBPyConnection, features: str) -> str:
    """Row count and an order-independent hash of every feature row."""
    rows, digest = conn.execute(
        f"select count(*), bit_xor(hash(f)) from {features} as f"
    ).fetchone()
    return f"{rows}-{digest}"
