"""No personal data outside schema raw after a full refresh: the demo's emails, names, phone
numbers, cities and comment texts are searched for in every other table of the warehouse, every
table of the snapshot, every file beside the warehouse (Data Docs, validation results, model
artifacts, alerts) and every event of the run in a Dagster instance on disk (metadata, logs,
compute logs). The failure paths (errors, alerts, webhook payload) are searched by
tests/dagster_project/test_hardening.py."""

import dataclasses
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance

from dagster_project.lib.ingest.contract import RAW_SOURCES
from dagster_project.lib.settings import Settings
from dagster_project.run import run_job
from tests.conftest import QUICK_TRAINING, warehouse_columns

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast

MIN_LENGTH = 6  # shorter values (a first name like "Ava") occur in ordinary words and ids


def personal_values(landing: Path) -> set[str]:
    customers = pd.concat(pd.read_parquet(p) for p in (landing / "customers").glob("*.parquet"))
    social = pd.concat(
        pd.read_parquet(p) for p in (landing / "social_interactions").glob("*.parquet")
    )
    (source,) = [s for s in RAW_SOURCES if s.table == "customers"]
    columns = [c.name for c in source.columns if c.personal and c.data_type == "varchar"]
    values = {str(v).strip() for c in columns for v in customers[c].dropna()}
    values |= {str(v).strip() for v in social["text"].dropna()}
    return {v for v in values if len(v) >= MIN_LENGTH}


def found_in_tables(database: Path, values: set[str], skip_schemas: tuple[str, ...]) -> dict:
    lowered = sorted(v.lower() for v in values)
    found: dict[str, int] = {}
    with duckdb.connect(str(database), read_only=True) as conn:
        conn.execute("create temp table secrets as select unnest(?) as secret", [lowered])
        for table, column in warehouse_columns(conn, None, "VARCHAR", skip_schemas):
            hits = conn.execute(
                f'select count(*) from (select distinct lower("{column}") as v '
                f"from {table}) join secrets on contains(v, secret)"
            ).fetchone()[0]
            if hits:
                found[f"{table}.{column}"] = hits
    return found


def found_in_text(places: dict[str, str], values: set[str]) -> dict[str, list[str]]:
    lowered = [v.lower() for v in values]
    leaks = {}
    for place, text in places.items():
        text = text.lower()  # once per place, not once per value
        leaks[place] = [v for v in lowered if v in text]
    return {place: found[:3] for place, found in leaks.items() if found}


def test_a_full_refresh_keeps_personal_data_in_raw(
    copy_of_pipeline: Settings, tmp_path: Path
) -> None:
    config = tmp_path / "segmentation.yml"
    config.write_text(QUICK_TRAINING)
    settings = dataclasses.replace(copy_of_pipeline, segmentation_config=config)
    secrets = personal_values(settings.landing_dir)
    assert len(secrets) > 2000  # emails, names, phones, cities and comments of 1,000 customers
    home = tmp_path / "dagster_home"
    home.mkdir()
    with DagsterInstance.local_temp(str(home)) as instance:
        result = run_job(settings, instance)
        assert result.success
        events = "\n".join(
            f"{record.user_message} {record.dagster_event!r}"
            for record in instance.all_logs(result.run_id)
        )
    assert "segmentation_model" in events and "customer_features" in events

    # The search finds what is there: raw holds them.
    assert found_in_tables(settings.warehouse_path, secrets, ())
    assert found_in_tables(settings.warehouse_path, secrets, ("raw",)) == {}
    assert found_in_tables(settings.snapshot_path, secrets, ()) == {}
    folder = settings.warehouse_path.parent
    files = {
        str(path.relative_to(folder)): path.read_bytes().decode(errors="replace")
        for path in folder.rglob("*")
        if path.is_file()
        and not path.name.startswith(settings.warehouse_path.name)
        and path != settings.snapshot_path
    }
    assert any(name.endswith(".html") for name in files)  # Data Docs were searched
    assert found_in_text(files, secrets) == {}
    dagster_files = {
        str(path): path.read_bytes().decode(errors="replace")
        for path in home.rglob("*")
        if path.is_file()
    }
    assert found_in_text({"events": events, **dagster_files}, secrets) == {}
