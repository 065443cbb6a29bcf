"""The right to erasure end to end: after a refresh recorded in a Dagster instance on disk, one
customer is erased by email through the command line; then their id, their keyed contact hashes
and their email are searched for in every table of the warehouse and the snapshot, every file
under the warehouse folder and every event of the Dagster instance: none is found. A later
delivery of the same customer's rows is dropped at ingest and counted."""

import dataclasses
import hashlib
import hmac
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance

from dagster_project.defs.jobs import daily_refresh_job
from dagster_project.erase import main as erase_main
from dagster_project.lib.settings import Settings
from dagster_project.run import run_job
from tests.conftest import AS_OF, PII_HASH_KEY, refresh_environment, warehouse_columns

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast


def tables_holding(database: Path, needles: list[str]) -> dict[str, list[str]]:
    """needle -> the `schema.table.column`s of `database` whose text holds it."""
    found: dict[str, list[str]] = {needle: [] for needle in needles}
    with duckdb.connect(str(database), read_only=True) as conn:
        for table, column in warehouse_columns(conn):
            for needle in needles:
                hits = conn.execute(
                    f"select count(*) from {table} "
                    f'where contains(lower(cast("{column}" as varchar)), lower(?))',
                    [needle],
                ).fetchone()[0]
                if hits:
                    found[needle].append(f"{table}.{column}".replace('"', ""))
    return {needle: where for needle, where in found.items() if where}


def others_rows(database: Path, customer: str) -> dict[str, int]:
    """Rows of every other customer, per table with a customer key: erasure must not touch them."""
    with duckdb.connect(str(database), read_only=True) as conn:
        return {
            table.replace('"', ""): conn.execute(
                f"select count(*) from {table} "
                "where customer_id is distinct from ? and trim(customer_id) is distinct from ?",
                [customer, customer],
            ).fetchone()[0]
            for table, column in warehouse_columns(conn)
            if column == "customer_id"
        }


def files_holding(folder: Path, needles: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            content = path.read_bytes().lower()
            for needle in needles:
                if needle.lower().encode() in content:
                    found.setdefault(needle, []).append(str(path.relative_to(folder)))
    return found


def events_holding(instance: DagsterInstance, needles: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for run in instance.get_runs():
        for record in instance.all_logs(run.run_id):
            text = f"{record.user_message} {record.dagster_event!r}".lower()
            for needle in needles:
                if needle.lower() in text:
                    found[needle] = found.get(needle, 0) + 1
    return found


def test_an_erased_customer_leaves_no_trace_and_stays_erased(
    copy_of_pipeline: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = copy_of_pipeline
    home = tmp_path / "dagster_home"
    for name, value in refresh_environment(tmp_path, settings, AS_OF.isoformat()).items():
        monkeypatch.setenv(name, value)
    with DagsterInstance.get() as instance:
        assert run_job(settings, instance, daily_refresh_job.name).success

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        customer, email = conn.execute(
            "select s.customer_id, any_value(c.email) from segments.customer_segments as s "
            "join raw.customers as c on trim(c.customer_id) = s.customer_id "
            "where c.email is not null group by 1 order by 1 limit 1"
        ).fetchone()
        email_hash, phone_hash = conn.execute(
            "select email_hash, phone_hash from marts.dim_customers where customer_id = ?",
            [customer],
        ).fetchone()
    assert (
        hmac.new(PII_HASH_KEY.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()
        == email_hash
    )
    needles = [customer, email.strip(), email_hash, phone_hash]
    warehouse_folder = settings.warehouse_path.parent
    before = tables_holding(settings.warehouse_path, needles)
    untouched = others_rows(settings.warehouse_path, customer)
    assert set(before) == set(needles)  # the search finds what is there
    assert customer in tables_holding(settings.snapshot_path, [customer])
    # Validation results list offending keys; so may a run's log (here an operator's note).
    assert customer in files_holding(warehouse_folder / "quality", [customer])
    with DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        instance.report_engine_event(f"Looked into customer {customer}", run)
        assert customer in events_holding(instance, [customer])

    # By email, with another case and spaces, as a data subject would write it.
    assert erase_main(["--email", f"  {email.strip().upper()} "]) == 0

    assert tables_holding(settings.warehouse_path, needles) == {}
    assert tables_holding(settings.snapshot_path, needles) == {}
    # Only theirs: other customers' rows are all still there (anonymous web events aside, which
    # belong to the visitor ids the customer used).
    after = others_rows(settings.warehouse_path, customer)
    web = {"raw.web_events", "staging.stg_web__events"}
    assert {t: n for t, n in after.items() if t not in web} == {
        t: n for t, n in untouched.items() if t not in web and t in after
    }
    assert files_holding(warehouse_folder, needles) == {}
    assert files_holding(home, needles) == {}
    with DagsterInstance.get() as instance:
        assert events_holding(instance, needles) == {}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        (log,) = conn.execute(
            "select request_hash, requested_at <= completed_at, rows_removed "
            "from segments.erasure_log"
        ).fetchall()
        suppressed = conn.execute("select count(*) from raw._erased_customers").fetchone()[0]
    request_hash, completed, rows_removed = log
    assert completed and suppressed == 1 and len(request_hash) == 64
    assert '"raw.customers"' in rows_removed and '"segments.customer_segments": 1' in rows_removed
    assert not list(warehouse_folder.glob("erasure-requests-*"))  # the requests file is gone

    # The CRM delivers the customer again: the rows are dropped at ingest and counted.
    landing = tmp_path / "landing"
    shutil.copytree(settings.landing_dir, landing)
    crm = pd.concat(pd.read_parquet(path) for path in (landing / "customers").glob("*.parquet"))
    crm[crm["customer_id"].str.strip() == customer].to_parquet(
        landing / "customers" / "redelivered.parquet", index=False
    )
    redelivered = dataclasses.replace(settings, landing_dir=landing)
    with DagsterInstance.get() as instance:
        result = run_job(redelivered, instance, daily_refresh_job.name)
    assert result.success
    (dropped,) = [
        event.materialization.metadata["rows_of_erased_customers_dropped"].value
        for event in result.get_asset_materialization_events()
        if event.asset_key.to_user_string() == "raw_customers"
    ]
    assert dropped >= 1
    assert tables_holding(settings.warehouse_path, [customer, email_hash]) == {}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        counted = conn.execute(
            "select sum(rows) from raw._erased_rows_dropped where source_table = 'raw.customers'"
        ).fetchone()[0]
    assert counted == dropped
