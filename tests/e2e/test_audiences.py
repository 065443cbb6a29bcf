"""Audiences end to end on the demo: three refreshes of a warehouse (a full refresh, a daily one
four weeks later with an erasure in between, and a third whose audience collapses), checked
against what the warehouse says independently: full lists and diffs, consent and erasure in every
file, control groups stable and of their share, delivery with retries, and the lift of a campaign
effect the generator planted (and of none)."""

import dataclasses
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance, ExecuteInProcessResult

from dagster_project.defs.jobs import daily_refresh_job
from dagster_project.lib.audiences.outbox import batches
from dagster_project.lib.settings import Settings
from dagster_project.run import run_job
from demo_data.campaign_effect import PlantedCampaignEffect
from demo_data.generate import DemoSpec, generate
from ml.control_groups import in_control
from tests.conftest import DEMO_SEED, QUICK_TRAINING, settings_for

END = date(2026, 11, 20)
ACTIVATED = date(2026, 10, 22)
WINDOW_DAYS = 28
PLANTED_EXTRA_ORDERS = 0.3
CUSTOMERS = 2500
AS_OF_DATES = (ACTIVATED.isoformat(), END.isoformat())  # the batch folders start with them
NULL_SALTS = tuple(f"null_{number}" for number in range(1, 9))
"""Audiences whose split is independent of the planted one: their true lift is zero."""
SELECTED = "{frequency: {at_least: 1}, recency_days: {at_most: 180}}"


def audiences_file(url: str, selected: str = SELECTED) -> str:
    """planted (the generator's salt), unplanted (another salt, with the HTTP destination) and
    the null audiences, all selecting the same customers with half held out."""
    nulls = "".join(
        f"  - {{name: {salt}, where: {selected}, channel: other, holdout_share: 0.5}}\n"
        for salt in NULL_SALTS
    )
    return (
        "audiences:\n"
        f"  - name: planted\n    where: {selected}\n    channel: email\n"
        "    holdout_share: 0.5\n    identifiers: [customer_id, email_sha256]\n"
        f"  - name: unplanted\n    salt: another\n    where: {selected}\n    channel: ads\n"
        "    holdout_share: 0.5\n"
        f'    http: {{url: "{url}", allow_local_http: true, max_attempts: 2, batch_size: 500}}\n'
        + nulls
    )


class Destination(BaseHTTPRequestHandler):
    """Refuses every post while `down`, accepts and records them otherwise."""

    down = True
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not Destination.down:
            Destination.received.append(body)
        self.send_response(503 if Destination.down else 200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@dataclass(frozen=True)
class Refreshes:
    settings: Settings
    results: list[ExecuteInProcessResult]
    expected_members: list[pd.DataFrame]  # per run: customer_id, arm, from the warehouse itself
    erased: str
    not_consenting: list[set[str]]  # per run: profiled customers without marketing consent
    withdrawn: str

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.settings.warehouse_path), read_only=True)


def withdraw_consent(landing: Path, customer_id: str, on: date) -> None:
    """A CRM delivery in which `customer_id` withdraws marketing consent on `on`."""
    crm = pd.concat(pd.read_parquet(path) for path in (landing / "customers").glob("*.parquet"))
    record = crm[crm["customer_id"].str.strip() == customer_id].head(1)
    record.assign(
        marketing_consent=False, consent_updated_at=pd.Timestamp(f"{on} 09:00", tz="UTC")
    ).to_parquet(landing / "customers" / "consent_withdrawal.parquet", index=False)


def without_consent(settings: Settings) -> set[str]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return {
            customer_id
            for (customer_id,) in conn.execute(
                "select customer_id from marts.dim_customers where not has_marketing_consent"
            ).fetchall()
        }


def expected_members(settings: Settings, erased: set[str]) -> pd.DataFrame:
    """The audiences' arms computed from the marts, apart from the pipeline's own query."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        eligible = conn.execute(
            "select customer_id from marts.customer_features join marts.dim_customers "
            "using (customer_id) where frequency >= 1 and recency_days <= 180 "
            "and has_marketing_consent order by 1"
        ).df()["customer_id"]
    eligible = eligible[~eligible.isin(erased)]
    frames = []
    salts = {"planted": "planted", "unplanted": "another"} | {s: s for s in NULL_SALTS}
    for audience, salt in salts.items():
        control = in_control(salt, eligible, 0.5)
        frames.append(
            pd.DataFrame(
                {
                    "audience": audience,
                    "customer_id": eligible.to_numpy(),
                    "arm": np.where(control, "control", "treated"),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def refreshes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Refreshes]:
    root = tmp_path_factory.mktemp("audiences")
    effect = PlantedCampaignEffect("planted", 0.5, ACTIVATED, WINDOW_DAYS, PLANTED_EXTRA_ORDERS)
    generate(
        DemoSpec(customers=CUSTOMERS, seed=DEMO_SEED, end_date=END, campaign_effect=effect),
        root / "landing",
    )
    server = HTTPServer(("127.0.0.1", 0), Destination)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/sync"
    config = root / "audiences.yml"
    config.write_text(audiences_file(url))
    (root / "segmentation.yml").write_text(QUICK_TRAINING)
    settings = dataclasses.replace(
        settings_for(root, root / "landing", as_of=ACTIVATED),
        audiences_config=config,
        segmentation_config=root / "segmentation.yml",
        consent_policy="profile_all_activate_consented",
    )
    results, expected = [], []
    with DagsterInstance.ephemeral() as instance:
        results.append(run_job(settings, instance))
        assert results[0].success
        expected.append(expected_members(settings, set()))
        not_consenting = [without_consent(settings)]
        erased = (
            expected[0].query("arm == 'treated' and audience == 'planted'")["customer_id"].iloc[7]
        )
        requests = root / "requests.csv"
        requests.write_text(f"customer_id\n{erased}\n")
        assert run_job(
            settings,
            instance,
            "erase",
            {"erase_customers": {"config": {"requests_file": str(requests)}}},
        ).success

        withdrawn = (
            expected[0].query("arm == 'treated' and audience == 'planted'")["customer_id"].iloc[3]
        )
        withdraw_consent(settings.landing_dir, withdrawn, ACTIVATED + timedelta(days=1))
        Destination.down = False
        later = dataclasses.replace(settings, as_of_date=END.isoformat())
        results.append(run_job(later, instance, daily_refresh_job.name))
        assert results[1].success
        expected.append(expected_members(later, {erased}))
        not_consenting.append(without_consent(later))

        config.write_text(audiences_file(url, "{frequency: {at_least: 12}}"))
        results.append(run_job(later, instance, daily_refresh_job.name))
    server.shutdown()
    yield Refreshes(later, results, expected, erased, not_consenting, withdrawn)


def export_files(outbox: Path) -> list[Path]:
    return sorted(p for p in outbox.rglob("*") if p.suffix in (".csv", ".parquet"))


def read_export(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    return pd.read_parquet(path)


def test_full_lists_and_diffs_match_the_warehouse(refreshes: Refreshes) -> None:
    outbox = refreshes.settings.outbox_path
    for audience in ("planted", "unplanted"):
        first, second = batches(outbox, audience)
        lists = []
        for batch, expected in zip((first, second), refreshes.expected_members, strict=True):
            treated = expected.query(f"audience == '{audience}' and arm == 'treated'")
            want = set(treated["customer_id"]) - {refreshes.erased}
            members = read_export(batch.folder / "members.parquet")
            assert set(members["customer_id"]) == want
            assert read_export(batch.folder / "members.csv").equals(members)
            lists.append(want)
        added = set(read_export(second.folder / "added.csv")["customer_id"])
        removed = set(read_export(second.folder / "removed.parquet")["customer_id"])
        assert added == lists[1] - lists[0]
        assert removed == lists[0] - lists[1] - refreshes.not_consenting[1]
        assert set(read_export(first.folder / "added.csv")["customer_id"]) == lists[0]
        assert second.manifest["counts"]["members"] == len(lists[1])
        assert second.manifest["counts"]["added"] == len(added) > 0
        assert second.manifest["counts"]["removed"] == len(removed) > 0
    # The customer who withdrew left the planted audience without being named in any list.
    (_, second) = batches(outbox, "planted")
    assert second.manifest["counts"]["left_without_listing"] == 1


def test_no_file_names_a_customer_without_consent_or_erased(refreshes: Refreshes) -> None:
    outbox = refreshes.settings.outbox_path
    audiences = 2 + len(NULL_SALTS)
    assert len(export_files(outbox)) == audiences * 2 * 6  # two exports, three lists, two formats
    assert refreshes.withdrawn in refreshes.not_consenting[1] - refreshes.not_consenting[0]
    for run, not_consenting in enumerate(refreshes.not_consenting):
        files = [p for p in export_files(outbox) if p.parent.name.startswith(AS_OF_DATES[run])]
        named = set().union(*(set(read_export(path)["customer_id"]) for path in files))
        assert len(files) == audiences * 6 and len(named) > 500 and len(not_consenting) > 100
        assert not named & not_consenting
        assert refreshes.erased not in named
    with refreshes.connect() as conn:
        runs = conn.execute(
            "select left_out_no_marketing_consent from segments.audience_runs where exported"
        ).fetchall()
        arms = conn.execute(
            "select count(*) from segments.audience_members where customer_id = ?",
            [refreshes.erased],
        ).fetchall()
    assert all(count > 0 for (count,) in runs) and arms == [(0,)]


def test_email_hashes_are_sha256_of_the_normalised_raw_email(refreshes: Refreshes) -> None:
    (batch, _) = batches(refreshes.settings.outbox_path, "planted")
    exported = read_export(batch.folder / "members.parquet")
    assert exported["email_sha256"].notna().mean() > 0.9
    with refreshes.connect() as conn:
        stored = conn.execute(
            "select count(*) from duckdb_columns() where column_name ilike '%sha256%'"
        ).fetchall()
        conn.register("exported", exported)
        mismatched = conn.execute(
            "select count(*) from exported join raw.customers using (customer_id) "
            "where exported.email_sha256 <> sha256(lower(trim(raw.customers.email)))"
        ).fetchall()
    assert mismatched == [(0,)] and stored == [(0,)]


def test_control_groups_are_stable_and_of_their_share(refreshes: Refreshes) -> None:
    with refreshes.connect() as conn:
        spells = conn.execute(
            "select audience, customer_id, arm, joined_at, left_at from segments.audience_members"
        ).df()
    both = spells.groupby(["audience", "customer_id"])["arm"].nunique()
    assert (both == 1).all()  # nobody ever changed arm
    # The split as drawn: everyone assigned on a day, half in control. (Who is in an audience
    # after the planted campaign is not: treated customers bought, so more of them stay recent.)
    for (audience, joined_at), assigned in spells.groupby(["audience", "joined_at"]):
        if audience == "planted" and joined_at != pd.Timestamp(ACTIVATED):
            continue
        control_share = (assigned["arm"] == "control").mean()
        assert abs(control_share - 0.5) < 3 * np.sqrt(0.25 / len(assigned)), audience
    current = spells[spells["left_at"].isna()]
    exported = set(
        read_export(
            batches(refreshes.settings.outbox_path, "planted")[1].folder / "members.parquet"
        )["customer_id"]
    )
    assert not exported & set(
        current.query("audience == 'planted' and arm == 'control'")["customer_id"]
    )


def test_the_planted_lift_is_recovered_and_none_is_found_where_none_was_planted(
    refreshes: Refreshes,
) -> None:
    with refreshes.connect() as conn:
        lift = (
            conn.execute(
                "select * from segments.audience_lift where activation_date = ?", [ACTIVATED]
            )
            .df()
            .set_index(["audience", "measure"])
        )
    planted = lift.loc[("planted", "orders_per_customer")]
    assert planted["ci_low"] <= PLANTED_EXTRA_ORDERS <= planted["ci_high"]
    assert planted["ci_low"] > 0
    assert lift.loc[("planted", "conversion"), "ci_low"] > 0
    # Nine splits independent of the planted one: at the 95 % level each excludes zero with
    # probability 0.05, so three or more of nine on one measure would happen 0.8 % of the time.
    nulls = lift.loc[["unplanted", *NULL_SALTS]]
    excludes_zero = (nulls["ci_low"] > 0) | (nulls["ci_high"] < 0)
    assert excludes_zero.groupby(level="measure").sum().max() <= 2, nulls
    assert (lift["treated_customers"] > 300).all() and (lift["control_customers"] > 300).all()


def test_a_collapsed_audience_is_not_exported_and_the_refresh_goes_on(refreshes: Refreshes) -> None:
    third = refreshes.results[2]
    assert third.success
    checks = [
        event.event_specific_data
        for event in third.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
        and event.event_specific_data.check_name == "size_within_bounds"
    ]
    assert len(checks) == 2 + len(NULL_SALTS)
    assert not any(check.passed for check in checks)
    assert all("nothing exported" in check.description for check in checks)
    assert len(batches(refreshes.settings.outbox_path, "planted")) == 2
    with refreshes.connect() as conn:
        last = conn.execute(
            "select exported, not_exported_because, treated from segments.audience_runs "
            "where audience = 'planted' order by recorded_at desc limit 1"
        ).fetchall()
        members = conn.execute(
            "select count(*) from segments.audience_members "
            "where audience = 'planted' and left_at is null and arm = 'treated'"
        ).fetchall()[0][0]
    exported, because, treated = last[0]
    assert not exported and "max_size_ratio" in because and treated < members / 2
    with duckdb.connect(str(refreshes.settings.snapshot_path), read_only=True) as snapshot:
        published = snapshot.execute("select run_id from published").fetchall()[0][0]
    assert published == third.run_id


def test_delivery_retries_in_order_after_a_failure_and_alerts(refreshes: Refreshes) -> None:
    first, second = batches(refreshes.settings.outbox_path, "unplanted")
    check = [
        e.event_specific_data
        for e in refreshes.results[0].all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.event_specific_data.check_name == "delivered"
    ]
    assert len(check) == 1 and not check[0].passed
    assert next(body["batch"] for body in Destination.received) == first.name
    sent = {
        m["customer_id"]
        for body in Destination.received
        for m in body["members"]
        if body["operation"] == "add" and body["batch"] == first.name
    }
    assert sent == set(read_export(first.folder / "added.csv")["customer_id"])
    assert (first.folder / "delivered.json").exists() and (
        second.folder / "delivered.json"
    ).exists()
    with duckdb.connect(str(refreshes.settings.alerts_path), read_only=True) as alerts:
        errors = [row[0] for row in alerts.execute("select error from run_failures").fetchall()]
    assert any(
        "audience delivery failed: batch unplanted/" in error and "HTTP 503" in error
        for error in errors
    )


def test_a_bad_audiences_file_stops_before_anything_runs(tmp_path: Path) -> None:
    config = tmp_path / "audiences.yml"
    config.write_text(
        "audiences:\n  - name: churners\n"
        "    where: {churn_risk: {at_leest: 0.6}}\n    channel: email\n"
    )
    landing = tmp_path / "landing"
    landing.mkdir()
    outbox = tmp_path / "outbox"
    process = subprocess.run(
        [sys.executable, "-m", "dagster_project.run"],
        env={
            "PATH": "/usr/bin:/bin",
            "SEG_AUDIENCES_CONFIG": str(config),
            "SEG_WAREHOUSE_PATH": str(tmp_path / "warehouse" / "warehouse.duckdb"),
            "SEG_LANDING_DIR": str(landing),
            "SEG_OUTBOX_DIR": str(outbox),
            "DAGSTER_HOME": str(tmp_path),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode != 0
    assert (
        f"{config}: audience 'churners': key where.churn_risk.at_leest: not a comparison"
        in process.stderr
    )
    assert not outbox.exists() and not (tmp_path / "warehouse").exists()
