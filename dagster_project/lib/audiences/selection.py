"""Who an audience selects this run, who of them may be activated, and who is held out.

The definition (segments and conditions) is compiled to SQL with quoted, checked column names and
bound numbers: nothing from the audiences file reaches the warehouse as SQL text. Of the
customers it matches, only those the consent policy allows to activate (marketing consent) and who
are not on the erasure suppression list are eligible; the others are counted by reason. The
eligible are split into treated and control by ml/control_groups.py.
"""

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from dagster_project.lib.audiences.audience import COMPARISONS, Audience
from dagster_project.lib.erasure.suppression import request_hash, suppressed_hashes
from dagster_project.lib.names import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_PREDICTIONS,
    CUSTOMER_SEGMENTS,
    DIM_CUSTOMERS_TABLE,
    SEGMENTS_SCHEMA,
)
from dagster_project.lib.segment_store.reads import table_exists
from ml.control_groups import in_control

PREDICTIONS_TABLE = f"{SEGMENTS_SCHEMA}.{CUSTOMER_PREDICTIONS}"
SEGMENTS_TABLE = f"{SEGMENTS_SCHEMA}.{CUSTOMER_SEGMENTS}"
TREATED, CONTROL = "treated", "control"
NO_CONSENT, ERASED = "no_marketing_consent", "erased"


class AudienceDefinitionError(ValueError):
    """The audience names a segment or column the warehouse does not have (named in the
    message with the audience and the key)."""


@dataclass(frozen=True)
class Selection:
    members: pd.DataFrame  # customer_id, arm (TREATED | CONTROL): the eligible customers
    matched: int  # customers the definition selects, eligible or not
    left_out: dict[str, int]  # reason -> matched customers who may not be activated

    def arm(self, arm: str) -> pd.Series:
        return self.members.loc[self.members["arm"] == arm, "customer_id"]


def select(
    conn: duckdb.DuckDBPyConnection, audience: Audience, source: str, erasure_key: bytes
) -> Selection:
    """This run's selection for `audience` (`source`: the audiences file, for messages)."""
    where, parameters = _predicate(conn, audience, source)
    matched = conn.execute(
        f"""
        with profiled as ({_profiled_customers(audience)})
        select profiled.customer_id,
               coalesce(dim.has_marketing_consent, false) as has_marketing_consent
        from profiled
        left join {DIM_CUSTOMERS_TABLE} as dim on dim.customer_id = profiled.customer_id
        where {where}
        order by profiled.customer_id
        """,
        parameters,
    ).df()
    erased = _suppressed(conn, matched["customer_id"], erasure_key)
    eligible = matched[matched["has_marketing_consent"] & ~erased]
    control = in_control(audience.control_salt, eligible["customer_id"], audience.holdout_share)
    members = pd.DataFrame(
        {
            "customer_id": eligible["customer_id"].to_numpy(),
            "arm": pd.Series(control).map({True: CONTROL, False: TREATED}).to_numpy(),
        }
    )
    return Selection(
        members=members,
        matched=len(matched),
        left_out={
            NO_CONSENT: int((~matched["has_marketing_consent"] & ~erased).sum()),
            ERASED: int(erased.sum()),
        },
    )


def _profiled_customers(audience: Audience) -> str:
    """Every profiled customer with the columns the audience's conditions read."""
    joins = f"join {SEGMENTS_TABLE} as segments using (customer_id)"
    if audience.uses_predictions:
        joins += f" left join {PREDICTIONS_TABLE} as predictions using (customer_id)"
    return (
        "select features.*, segments.segment_id, segments.segment_name"
        + (", " + ", ".join(_prediction_columns(audience)) if audience.uses_predictions else "")
        + f" from {CUSTOMER_FEATURES_TABLE} as features {joins}"
    )


def _prediction_columns(audience: Audience) -> list[str]:
    columns = {c.column for c in audience.conditions if c.uses_predictions}
    return [f'predictions."{column}"' for column in sorted(columns)]


def _predicate(
    conn: duckdb.DuckDBPyConnection, audience: Audience, source: str
) -> tuple[str, list[object]]:
    """The SQL condition (with ? parameters) that the audience's segments and conditions make."""
    where = f"{source}: audience '{audience.name}'"
    clauses, parameters = ["true"], []
    if audience.segments:
        ids = _segment_ids(conn, audience, where)
        clauses.append("profiled.segment_id in (select unnest(?))")
        parameters.append(ids)
    numeric = _numeric_columns(conn, audience, where)
    for condition in audience.conditions:
        if condition.column not in numeric:
            raise AudienceDefinitionError(
                f"{where}: key where.{condition.column}: not a numeric column of "
                f"{CUSTOMER_FEATURES_TABLE}"
                + (f" or {PREDICTIONS_TABLE}" if audience.uses_predictions else "")
                + f" (numeric columns: {', '.join(sorted(numeric))})"
            )
        column = f'profiled."{condition.column}"'
        operator = COMPARISONS[condition.comparison]
        if operator in ("top", "bottom"):
            quantile = 1 - condition.value if operator == "top" else condition.value
            bound = f"(select quantile_cont({column}, ?) from profiled)"
            clauses.append(f"{column} {'>=' if operator == 'top' else '<='} {bound}")
            parameters.append(quantile)
        else:
            clauses.append(f"{column} {operator} ?")
            parameters.append(condition.value)
    return " and ".join(clauses), parameters


def _segment_ids(conn: duckdb.DuckDBPyConnection, audience: Audience, where: str) -> list[int]:
    current = conn.execute(
        f"select distinct segment_id, segment_name from {SEGMENTS_TABLE} order by segment_id"
    ).fetchall()
    by_name = {name: segment_id for segment_id, name in current}
    by_id = {str(segment_id): segment_id for segment_id, _ in current}
    ids = []
    for wanted in audience.segments:
        if wanted not in by_name and wanted not in by_id:
            known = "; ".join(f"{segment_id}: {name}" for segment_id, name in current)
            raise AudienceDefinitionError(
                f"{where}: key segments: no current segment is named or numbered '{wanted}' "
                f"(current segments: {known})"
            )
        ids.append(by_name.get(wanted, by_id.get(wanted)))
    return ids


def _numeric_columns(conn: duckdb.DuckDBPyConnection, audience: Audience, where: str) -> set[str]:
    tables = [CUSTOMER_FEATURES_TABLE]
    if audience.uses_predictions:
        if not table_exists(conn, PREDICTIONS_TABLE):
            raise AudienceDefinitionError(
                f"{where}: key where: {PREDICTIONS_TABLE} does not exist yet (the prediction "
                "models are trained by the full refresh)"
            )
        tables.append(PREDICTIONS_TABLE)
    columns: set[str] = set()
    for table in tables:
        schema, name = table.split(".")
        columns |= {
            row[0]
            for row in conn.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? and (data_type in ('DOUBLE', "
                "'FLOAT', 'INTEGER', 'BIGINT', 'HUGEINT', 'SMALLINT', 'TINYINT', 'UBIGINT', "
                "'UINTEGER') or data_type like 'DECIMAL%')",
                [schema, name],
            ).fetchall()
        }
    return columns - {"segment_id"}


def _suppressed(conn: duckdb.DuckDBPyConnection, customer_ids: pd.Series, key: bytes) -> pd.Series:
    """True for customers on the erasure suppression list. Erasure deletes their rows, so this
    is a second lock: a row that came back by any path is still never activated."""
    suppressed = suppressed_hashes(conn)
    if not suppressed:  # nobody was ever erased: no id needs hashing
        return pd.Series(False, index=customer_ids.index)
    return customer_ids.map(lambda customer_id: request_hash(key, customer_id) in suppressed)


def may_not_activate(
    conn: duckdb.DuckDBPyConnection, customer_ids: pd.Series, erasure_key: bytes
) -> np.ndarray:
    """True for each customer of `customer_ids` who may not be activated now: not profiled (left
    out by the consent policy, or unknown), without marketing consent, or erased. Asked of the
    export files themselves, apart from the selection's own query."""
    if customer_ids.empty:
        return np.zeros(0, dtype=bool)
    conn.register("asked", pd.DataFrame({"customer_id": customer_ids.astype(str).to_numpy()}))
    try:
        allowed = {
            row[0]
            for row in conn.execute(
                f"""
                select asked.customer_id from asked
                join {DIM_CUSTOMERS_TABLE} as dim on dim.customer_id = asked.customer_id
                where dim.has_marketing_consent
                """
            ).fetchall()
        }
    finally:
        conn.unregister("asked")
    ids = customer_ids.astype(str)
    return ~ids.isin(allowed).to_numpy() | _suppressed(conn, ids, erasure_key).to_numpy()
