"""Serving: the published snapshot SQL users open, docs/querying.md's example queries on it, and
readers in other processes during a refresh."""

import dataclasses
import json
import re
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance

from dagster_project.lib.settings import REPO_ROOT, Settings
from dagster_project.lib.snapshot import SERVED_TABLES, publish_snapshot
from dagster_project.run import run_job
from tests.conftest import AS_OF, QUICK_TRAINING, BuiltPipeline

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast

READERS = 4
# Raw personal data, and the keyed hashes that would still single a person out.
PERSONAL_DATA = re.compile(
    r"^(email|email_hash|phone|phone_hash|full_name|name|address|city|birth_date)$", re.IGNORECASE
)


def documented_queries() -> list[str]:
    """The SQL blocks of docs/querying.md, the guide for SQL users."""
    guide = (REPO_ROOT / "docs" / "querying.md").read_text()
    return re.findall(r"```sql\n(.*?)```", guide, flags=re.DOTALL)


def published(snapshot: Path) -> tuple[str, str]:
    with duckdb.connect(str(snapshot), read_only=True) as conn:
        version, as_of_date = conn.execute(
            "select model_version, as_of_date from segments.published"
        ).fetchone()
    return version, as_of_date.isoformat()


@dataclasses.dataclass(frozen=True)
class RefreshUnderReaders:
    settings: Settings
    before: tuple[str, str]
    succeeded: bool
    reader_exit_codes: list[int]
    reports: list[dict]


@pytest.fixture(scope="module")
def refresh_under_readers(
    built_pipeline: BuiltPipeline, tmp_path_factory: pytest.TempPathFactory
) -> RefreshUnderReaders:
    """The session pipeline's warehouse, models and snapshot, copied and refreshed again as of
    two weeks later (retraining), while four reader processes query the snapshot in a loop. Two
    weeks, so that some customers' recency carries them into another segment: the documented
    query of who moved has rows to return (a day moves none of the 1,000 demo customers)."""
    assert built_pipeline.result.success, "the full pipeline run failed; see its log"
    root = tmp_path_factory.mktemp("serving")
    shutil.copytree(built_pipeline.settings.warehouse_path.parent, root / "warehouse")
    config = root / "segmentation.yml"
    config.write_text(QUICK_TRAINING)
    settings = dataclasses.replace(
        built_pipeline.settings,
        warehouse_path=root / "warehouse" / "warehouse.duckdb",
        as_of_date=(AS_OF + timedelta(days=14)).isoformat(),
        segmentation_config=config,
    )
    before = published(settings.snapshot_path)
    snapshot, stop = settings.snapshot_path, root / "stop"
    reports = [root / f"reader-{number}.json" for number in range(READERS)]
    readers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.snapshot_reader", snapshot, stop, report],
            cwd=REPO_ROOT,
        )
        for report in reports
    ]
    with DagsterInstance.ephemeral() as instance:
        refresh = run_job(settings, instance)
    time.sleep(3)  # every reader reads the new publication a few times
    stop.touch()
    exit_codes = [reader.wait(timeout=60) for reader in readers]
    return RefreshUnderReaders(
        settings,
        before,
        refresh.success,
        exit_codes,
        [json.loads(path.read_text()) for path in reports],
    )


def test_readers_in_other_processes_see_whole_publications_during_a_refresh(
    refresh_under_readers: RefreshUnderReaders,
) -> None:
    refreshed = refresh_under_readers
    assert refreshed.succeeded
    after = published(refreshed.settings.snapshot_path)
    assert after[0] != refreshed.before[0] and after[1] == refreshed.settings.as_of_date
    assert refreshed.reader_exit_codes == [0] * READERS
    for report in refreshed.reports:
        assert report["errors"] == []
        assert report["versions"] == [refreshed.before[0], after[0]]
        assert report["reads"] > 50


def test_every_documented_query_returns_rows(refresh_under_readers: RefreshUnderReaders) -> None:
    queries = documented_queries()
    assert len(queries) >= 6
    snapshot = refresh_under_readers.settings.snapshot_path
    with duckdb.connect(str(snapshot), read_only=True) as conn:
        for query in queries:
            assert conn.execute(query).fetchall(), f"no rows: {query.splitlines()[0]}"


def test_the_snapshot_is_the_warehouse_tables_without_personal_data(
    refresh_under_readers: RefreshUnderReaders,
) -> None:
    settings = refresh_under_readers.settings
    with (
        duckdb.connect(str(settings.warehouse_path), read_only=True) as warehouse,
        duckdb.connect(str(settings.snapshot_path), read_only=True) as snapshot,
    ):
        segment_tables = [
            f"segments.{name}"
            for (name,) in warehouse.execute(
                "select table_name from duckdb_tables() where schema_name = 'segments'"
            ).fetchall()
        ]
        for table in [*segment_tables, *SERVED_TABLES]:
            served = snapshot.execute(f"select * from {table} order by all").df()
            left_out = list(SERVED_TABLES.get(table, ()))
            source = warehouse.execute(f"select * from {table} order by all").df()
            pd.testing.assert_frame_equal(served, source.drop(columns=left_out), obj=table)
        columns = snapshot.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
        ).fetchall()
        assert not [column for column in columns if PERSONAL_DATA.search(column[2])]
        version, as_of_date, customers = snapshot.execute(
            "select model_version, as_of_date, customers from segments.published"
        ).fetchone()
        assert (version, as_of_date, customers) == warehouse.execute(
            "select any_value(model_version), any_value(as_of_date), count(*) "
            "from segments.customer_segments"
        ).fetchone()


def test_segment_tables_are_reached_the_same_way_under_any_file_name(
    refresh_under_readers: RefreshUnderReaders, tmp_path: Path
) -> None:
    """In segments.duckdb the tables sit in the main schema (the catalog is `segments`); under
    another name, in schema segments: `segments.<table>` works in both."""
    with duckdb.connect(str(refresh_under_readers.settings.warehouse_path), read_only=True) as conn:
        snapshot = publish_snapshot(conn, tmp_path / "published.duckdb", run_id="test")
    with duckdb.connect(str(snapshot.path), read_only=True) as conn:
        assert published(snapshot.path)[0] == snapshot.model_version
        assert conn.execute(documented_queries()[0]).fetchall()
        assert conn.execute("select count(*) from marts.customer_features").fetchone()[0] > 0
