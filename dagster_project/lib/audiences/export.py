"""One audience's run: select, check the size against the last export, write the outbox batch
(full list and changes), then record the members and the run. Nothing is exported, and the
members stay as they were, when a check fails; the run is recorded either way, with why.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.lib.audiences.audience import Audience
from dagster_project.lib.audiences.identifiers import with_identifiers
from dagster_project.lib.audiences.outbox import Batch, ExcludedCustomerError, write_batch
from dagster_project.lib.audiences.selection import (
    CONTROL,
    ERASED,
    NO_CONSENT,
    TREATED,
    Selection,
    may_not_activate,
    select,
)
from dagster_project.lib.segment_store.audiences import (
    AudienceRun,
    last_export,
    open_members,
    record_export,
    record_not_exported,
)


@dataclass(frozen=True)
class Check:
    passed: bool
    description: str


@dataclass(frozen=True)
class ExportResult:
    run: AudienceRun
    size: Check
    no_excluded_customer: Check
    batch: Batch | None  # None when a check stopped the export


def export_audience(
    conn: duckdb.DuckDBPyConnection,
    audience: Audience,
    source: Path,
    outbox: Path,
    erasure_key: bytes,
    as_of: date,
    run_id: str,
) -> ExportResult:
    last = last_export(conn, audience.name)
    if last is not None and as_of < last.as_of_date:
        raise ValueError(
            f"audience '{audience.name}' was last exported as of {last.as_of_date}; a run as of "
            f"{as_of} would date its members before that export. Run as of {last.as_of_date} or "
            "later."
        )
    selection = select(conn, audience, str(source), erasure_key)
    treated = selection.arm(TREATED)
    size = size_check(len(treated), None if last is None else last.treated, audience.max_size_ratio)
    previous = open_members(conn, audience.name)
    was_treated = previous.loc[previous["arm"] == TREATED, "customer_id"]
    added = treated[~treated.isin(was_treated)]
    left = was_treated[~was_treated.isin(treated)]
    unlisted = may_not_activate(conn, left, erasure_key)
    removed = left[~unlisted]
    run = _run_row(
        audience, run_id, as_of, selection, len(added), len(removed), int(unlisted.sum())
    )
    if not size.passed:
        record_not_exported(conn, _not_exported(run, size.description))
        return ExportResult(run, size, Check(True, "nothing exported"), None)
    lists = {
        name: with_identifiers(conn, customers, audience.identifiers)
        for name, customers in (("members", treated), ("added", added), ("removed", removed))
    }
    try:
        batch = write_batch(
            outbox,
            audience.name,
            f"{as_of.isoformat()}_{run_id[:8]}",
            lists,
            _manifest(audience, run),
            _excluded(conn, erasure_key),
        )
    except ExcludedCustomerError as error:
        record_not_exported(conn, _not_exported(run, str(error)))
        return ExportResult(run, size, Check(False, str(error)), None)
    run = replace(run, outbox_batch=batch.name)
    record_export(conn, run, selection.members)
    excluded_check = Check(
        True, "every file of the batch was read back: no customer who may not be activated"
    )
    return ExportResult(run, size, excluded_check, batch)


def size_check(treated: int, last_treated: int | None, max_ratio: float) -> Check:
    """The treated arm may grow or shrink by at most `max_ratio` against the last export: a
    collapse (an upstream table half empty) or an explosion (a condition that stopped filtering)
    would otherwise reach the destination as a mass remove or add."""
    if not last_treated:
        return Check(True, f"{treated} treated; no earlier export with members to compare with")
    ratio = treated / last_treated
    description = (
        f"{treated} treated against {last_treated} in the last export: {ratio:.2f} times "
        f"(allowed 1/{max_ratio:g} to {max_ratio:g})"
    )
    if 1 / max_ratio <= ratio <= max_ratio:
        return Check(True, description)
    return Check(
        False,
        description + "; nothing exported. If the change is real, raise max_size_ratio for "
        "this audience in the audiences file for one run.",
    )


def _excluded(
    conn: duckdb.DuckDBPyConnection, erasure_key: bytes
) -> Callable[[pd.Series], pd.Series]:
    return lambda customer_ids: pd.Series(may_not_activate(conn, customer_ids, erasure_key))


def _run_row(
    audience: Audience,
    run_id: str,
    as_of: date,
    selection: Selection,
    added: int,
    removed: int,
    unlisted: int,
) -> AudienceRun:
    return AudienceRun(
        audience=audience.name,
        run_id=run_id,
        as_of_date=as_of,
        recorded_at=datetime.now(UTC).replace(tzinfo=None),
        matched=selection.matched,
        left_out_no_marketing_consent=selection.left_out[NO_CONSENT],
        left_out_erased=selection.left_out[ERASED],
        treated=len(selection.arm(TREATED)),
        control=len(selection.arm(CONTROL)),
        added=added,
        removed=removed,
        removed_unlisted=unlisted,
        exported=True,
        not_exported_because="",
        outbox_batch="",
    )


def _not_exported(run: AudienceRun, because: str) -> AudienceRun:
    return replace(run, exported=False, not_exported_because=because)


def _manifest(audience: Audience, run: AudienceRun) -> dict:
    return {
        "audience": audience.name,
        "description": audience.description,
        "channel": audience.channel,
        "identifiers": list(audience.identifiers),
        "run_id": run.run_id,
        "as_of_date": run.as_of_date.isoformat(),
        "created_at": run.recorded_at.isoformat() + "Z",
        "counts": {
            "members": run.treated,
            "added": run.added,
            "removed": run.removed,
            "held_out_as_control": run.control,
            "left_without_listing": run.removed_unlisted,
        },
        "left_out": {
            NO_CONSENT: run.left_out_no_marketing_consent,
            ERASED: run.left_out_erased,
        },
    }
