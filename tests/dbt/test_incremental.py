"""Incremental staging: a new day's files rebuild only that day's rows, late rows included, and
the features equal a full refresh's exactly; data tests on incremental models check the rows
their last build rebuilt."""

import dataclasses
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dagster_project.settings import Settings
from demo_data.split import split_day
from tests.conftest import AS_OF, settings_for
from tests.dbt.conftest import dbt_build, dbt_command, load_raw

NEW_DAY = AS_OF - timedelta(days=1)  # the demo's last day of data
LATE_ORDERS = 5
STAGING_KEYS = {
    "stg_shop__orders": ("orders", "order_id", "order_id"),
    "stg_shop__order_items": ("order_items", "order_id", "order_id"),
    "stg_web__events": ("web_events", "event_id", "event_id"),
    "stg_social__interactions": ("social_interactions", "interaction_id", "interaction_id"),
}


def _features(settings: Settings) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return conn.execute("select * from marts.customer_features order by customer_id").df()


def _staging_counts(settings: Settings) -> dict[str, tuple[int, int]]:
    """Per model: rows the last run rebuilt, and staging rows whose key the last load brought."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return {
            model: conn.execute(
                f"""
                select
                    count(*) filter (where _transformed_at =
                        (select max(_transformed_at) from staging.{model})),
                    count(*) filter (where {key} in (
                        select trim({raw_key}) from raw.{raw} where _loaded_at =
                            (select max(loaded_at) from raw._landing_files)))
                from staging.{model}
                """
            ).fetchone()
            for model, (raw, raw_key, key) in STAGING_KEYS.items()
        }


@pytest.fixture(scope="module")
def incremental(tmp_path_factory: pytest.TempPathFactory, demo_landing: Path) -> dict:
    root = tmp_path_factory.mktemp("incremental")
    split_day(demo_landing, root / "history", root / "day", NEW_DAY, late_orders=LATE_ORDERS)
    landing = root / "landing"
    shutil.copytree(root / "history", landing)
    settings = settings_for(root, landing)
    load_raw(settings)
    dbt_build(settings, root)
    shutil.copytree(root / "day", landing, dirs_exist_ok=True)
    load_raw(settings)
    dbt_build(settings, root)
    after_new_day = {"features": _features(settings), "staging": _staging_counts(settings)}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        late_orders = (
            conn.execute(
                "select count(*) from staging.stg_shop__orders where ordered_at < ?",
                [NEW_DAY - timedelta(days=30)],
            ).fetchone()[0]
            - conn.execute(
                "select count(*) from staging.stg_shop__orders where ordered_at < ? "
                "and _loaded_at < (select max(_loaded_at) from staging.stg_shop__orders)",
                [NEW_DAY - timedelta(days=30)],
            ).fetchone()[0]
        )
    load_raw(settings)  # no new file
    dbt_build(settings, root)
    unchanged = {"features": _features(settings), "staging": _staging_counts(settings)}
    dbt_build(settings, root, "--full-refresh")
    return {
        "root": root,
        "settings": settings,
        "after_new_day": after_new_day,
        "unchanged": unchanged,
        "full_refresh": _features(settings),
        "late_orders_in_staging": late_orders,
    }


def test_a_new_day_rebuilds_only_its_own_rows(incremental: dict) -> None:
    for model, (rebuilt, of_new_load) in incremental["after_new_day"]["staging"].items():
        has_day_file = (incremental["root"] / "day" / STAGING_KEYS[model][0]).exists()
        assert rebuilt == of_new_load, model
        assert (rebuilt > 0) == has_day_file, model


def test_late_orders_are_processed(incremental: dict) -> None:
    """Orders placed over 30 days before the new day, arriving with it, reach staging."""
    assert incremental["late_orders_in_staging"] == LATE_ORDERS


def test_incremental_features_equal_a_full_refresh(incremental: dict) -> None:
    pd.testing.assert_frame_equal(
        incremental["after_new_day"]["features"], incremental["full_refresh"], check_exact=True
    )


def test_a_run_without_new_files_rebuilds_nothing_and_changes_nothing(incremental: dict) -> None:
    pd.testing.assert_frame_equal(
        incremental["unchanged"]["features"], incremental["after_new_day"]["features"]
    )
    # Nothing was loaded, so the newest stamp is still the previous run's for every model.
    assert incremental["unchanged"]["staging"] == incremental["after_new_day"]["staging"]


def _duplicate_an_event(warehouse: Path, stamp: str) -> None:
    """Plants a second row with the id of an existing event, stamped as if built then."""
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute(
            f"""
            insert into staging.stg_web__events
            select * replace ({stamp} as _transformed_at)
            from staging.stg_web__events order by event_id limit 1
            """
        )


def test_data_tests_of_incremental_models_check_the_last_build(
    incremental: dict, tmp_path: Path
) -> None:
    """A duplicate among rows an earlier build made is left alone (they were tested then); one
    among the last build's rows fails `unique`."""
    settings = incremental["settings"]
    copy = dataclasses.replace(settings, warehouse_path=tmp_path / "warehouse.duckdb")
    shutil.copy(settings.warehouse_path, copy.warehouse_path)
    unique_event_ids = ("--select", "unique_stg_web__events_event_id")

    _duplicate_an_event(copy.warehouse_path, "_transformed_at - interval 1 day")
    earlier = dbt_command("test", copy, tmp_path, *unique_event_ids)
    assert earlier.returncode == 0, earlier.stdout[-3000:]

    _duplicate_an_event(copy.warehouse_path, "_transformed_at")
    latest = dbt_command("test", copy, tmp_path, *unique_event_ids)
    assert latest.returncode == 1 and "FAIL 1 unique_stg_web__events_event_id" in latest.stdout
