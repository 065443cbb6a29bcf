"""Incremental models: a new day's files rebuild only that day's rows, late rows included; the
per-customer event models (web sessions, campaign funnel) recompute only the customers whose
events changed, as the as-of date moves forward, back, or events are redelivered to another
customer; the features equal a full refresh's exactly; data tests on incremental models check
the rows their last build rebuilt."""

import dataclasses
import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dagster_project.lib.settings import Settings
from demo_data.split import split_day
from tests.conftest import AS_OF, settings_for
from tests.dbt.conftest import dbt_build, dbt_command, load_raw

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast

NEW_DAY = AS_OF - timedelta(days=1)  # the demo's last day of data
# The history is built as of eight days before the new day, so its last week (a campaign's sends
# included) is loaded but enters the as-of window only with the new day's build.
HISTORY_AS_OF = NEW_DAY - timedelta(days=8)
LATE_ORDERS = 5
STAGING_KEYS = {
    "stg_shop__customers": ("customers", "customer_id", "customer_id"),
    "stg_shop__orders": ("orders", "order_id", "order_id"),
    "stg_shop__order_items": ("order_items", "order_id", "order_id"),
    "stg_web__events": ("web_events", "event_id", "event_id"),
    "stg_social__interactions": ("social_interactions", "interaction_id", "interaction_id"),
}
PER_CUSTOMER = ("int_web_sessions", "int_customer_campaigns")


def _features(settings: Settings) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return conn.execute("select * from marts.customer_features order by customer_id").df()


def _per_customer_models(settings: Settings) -> dict[str, pd.DataFrame]:
    """The per-customer event models, without their build stamps, in a stable order."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return {
            model: conn.execute(
                f"select * exclude (_as_of_date, _transformed_at) from intermediate.{model} "
                "order by all"
            ).df()
            for model in PER_CUSTOMER
        }


def _rebuilt_customers(settings: Settings, since: datetime) -> dict[str, set[str]]:
    """Per model: customers whose rows builds started after `since` computed."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return {
            model: {
                customer
                for (customer,) in conn.execute(
                    f"select distinct customer_id from intermediate.{model} "
                    "where _transformed_at >= ?",
                    [since],
                ).fetchall()
            }
            for model in PER_CUSTOMER
        }


def _now() -> datetime:
    """Now as dbt stamps builds (naive UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


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
    settings = settings_for(root, landing, as_of=HISTORY_AS_OF)
    load_raw(settings)
    dbt_build(settings, root)
    history = _per_customer_models(settings)
    settings = dataclasses.replace(settings, as_of_date=AS_OF.isoformat())
    shutil.copytree(root / "day", landing, dirs_exist_ok=True)
    load_raw(settings)
    started = _now()
    dbt_build(settings, root)
    after_new_day = {
        "features": _features(settings),
        "staging": _staging_counts(settings),
        "per_customer": _per_customer_models(settings),
        "rebuilt_customers": _rebuilt_customers(settings, started),
    }
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
        # Customers of the model with an event after the history's as-of date and before the
        # new one's end (a session containing one ends after it). Later events, such as sends
        # stamped after the demo's last day, are not in either window.
        customers_with_new_events = {
            model: {
                customer
                for (customer,) in conn.execute(
                    f"select distinct customer_id from intermediate.{model} "
                    f"where customer_id in "
                    f"(select customer_id from {events} where {at} >= ? and {at} < ?)",
                    [HISTORY_AS_OF + timedelta(days=1), AS_OF + timedelta(days=1)],
                ).fetchall()
            }
            for model, (events, at) in {
                "int_web_sessions": ("intermediate.int_web_sessions", "ended_at"),
                "int_customer_campaigns": ("staging.stg_marketing__campaign_events", "event_at"),
            }.items()
        }
    load_raw(settings)  # no new file
    started = _now()
    dbt_build(settings, root)
    unchanged = {
        "features": _features(settings),
        "staging": _staging_counts(settings),
        "rebuilt_customers": _rebuilt_customers(settings, started),
    }
    dbt_build(settings, root, "--full-refresh")
    return {
        "root": root,
        "settings": settings,
        "history": history,
        "after_new_day": after_new_day,
        "unchanged": unchanged,
        "full_refresh": _features(settings),
        "full_refresh_per_customer": _per_customer_models(settings),
        "late_orders_in_staging": late_orders,
        "customers_with_new_events": customers_with_new_events,
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
    for model in PER_CUSTOMER:
        pd.testing.assert_frame_equal(
            incremental["after_new_day"]["per_customer"][model],
            incremental["full_refresh_per_customer"][model],
            check_exact=True,
        )


def test_a_new_day_recomputes_only_customers_with_new_events(incremental: dict) -> None:
    """The new day's build recomputed exactly the customers with events after the history's
    as-of date (loaded with the history or the day), a minority; the others kept their rows."""
    for model in PER_CUSTOMER:
        rebuilt = incremental["after_new_day"]["rebuilt_customers"][model]
        assert rebuilt == incremental["customers_with_new_events"][model], model
        customers = incremental["after_new_day"]["per_customer"][model]["customer_id"].nunique()
        assert 0 < len(rebuilt) < customers / 2, model
        assert not incremental["history"][model].equals(
            incremental["after_new_day"]["per_customer"][model]
        ), model


def test_a_run_without_new_files_rebuilds_nothing_and_changes_nothing(incremental: dict) -> None:
    pd.testing.assert_frame_equal(
        incremental["unchanged"]["features"], incremental["after_new_day"]["features"]
    )
    # Nothing was loaded, so the newest stamp is still the previous run's for every model.
    assert incremental["unchanged"]["staging"] == incremental["after_new_day"]["staging"]
    assert incremental["unchanged"]["rebuilt_customers"] == {model: set() for model in PER_CUSTOMER}


def _copy_warehouse(settings: Settings, target: Path) -> Settings:
    target.mkdir(parents=True, exist_ok=True)
    copy = dataclasses.replace(settings, warehouse_path=target / "warehouse.duckdb")
    shutil.copy(settings.warehouse_path, copy.warehouse_path)
    return copy


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
    copy = _copy_warehouse(incremental["settings"], tmp_path)
    unique_event_ids = ("--select", "unique_stg_web__events_event_id")

    _duplicate_an_event(copy.warehouse_path, "_transformed_at - interval 1 day")
    earlier = dbt_command("test", copy, tmp_path, *unique_event_ids)
    assert earlier.returncode == 0, earlier.stdout[-3000:]

    _duplicate_an_event(copy.warehouse_path, "_transformed_at")
    latest = dbt_command("test", copy, tmp_path, *unique_event_ids)
    assert latest.returncode == 1 and "FAIL 1 unique_stg_web__events_event_id" in latest.stdout


def test_a_table_built_before_a_model_was_incremental_names_the_command_that_fixes_it(
    incremental: dict, tmp_path: Path
) -> None:
    copy = _copy_warehouse(incremental["settings"], tmp_path)
    with duckdb.connect(str(copy.warehouse_path)) as conn:
        conn.execute(
            "create or replace table staging.stg_shop__customers as "
            "select * exclude (_loaded_at, _transformed_at) from staging.stg_shop__customers"
        )
    customers = ("--select", "stg_shop__customers")

    stale = dbt_command("run", copy, tmp_path, *customers)
    assert stale.returncode == 1
    said = " ".join(stale.stdout.split())  # dbt wraps long lines
    assert '"stg_shop__customers" was built by an earlier version, without `_loaded_at`' in said
    assert "rebuild it once with `dbt build --full-refresh --select stg_shop__customers`" in said
    fixed = dbt_command("build", copy, tmp_path, "--full-refresh", *customers)
    assert fixed.returncode == 0, fixed.stdout[-3000:]


def _incremental_equals_full_refresh(
    settings: Settings, work: Path, *select: str
) -> dict[str, set[str]]:
    """Builds `select` (per-customer models, maybe their staging) incrementally, then the
    per-customer models again with --full-refresh: both builds must give the same rows.
    Returns the customers the incremental build recomputed."""
    started = _now()
    completed = dbt_command("run", settings, work, "--select", *select)
    assert completed.returncode == 0, completed.stdout[-3000:]
    incremental, rebuilt = _per_customer_models(settings), _rebuilt_customers(settings, started)
    completed = dbt_command("run", settings, work, "--full-refresh", "--select", *PER_CUSTOMER)
    assert completed.returncode == 0, completed.stdout[-3000:]
    refreshed = _per_customer_models(settings)
    for model in PER_CUSTOMER:
        pd.testing.assert_frame_equal(incremental[model], refreshed[model], check_exact=True)
    return rebuilt


def test_moving_the_as_of_date_back_recomputes_everyone(incremental: dict, tmp_path: Path) -> None:
    earlier = dataclasses.replace(
        _copy_warehouse(incremental["settings"], tmp_path),
        as_of_date=(NEW_DAY - timedelta(days=10)).isoformat(),
    )
    rebuilt = _incremental_equals_full_refresh(earlier, tmp_path, *PER_CUSTOMER)
    models = _per_customer_models(earlier)
    for model in PER_CUSTOMER:
        assert rebuilt[model] == set(models[model]["customer_id"]), model
    with duckdb.connect(str(earlier.warehouse_path), read_only=True) as conn:
        last_event = conn.execute("select max(ended_at) from intermediate.int_web_sessions")
        assert last_event.fetchone()[0].date() < NEW_DAY - timedelta(days=9)


def _plant_redeliveries(warehouse: Path) -> dict[str, str]:
    """Appends to raw, as a loader would: every web and campaign event of one customer
    redelivered as another's (stamped a second earlier, so the new version is kept), and more
    events than its owner has of a second customer's anonymous id under a third customer, who
    thereby owns its logged-out events."""
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("set TimeZone = 'UTC'")
        moved, receiver, device_owner, new_owner = (
            customer
            for (customer,) in conn.execute(
                """
                select customer_id from staging.stg_web__events
                where
                    customer_id in (select customer_id from staging.stg_marketing__campaign_events)
                    and anonymous_id in (
                        select anonymous_id from staging.stg_web__events where customer_id is null
                    )
                group by customer_id order by customer_id limit 4
                """
            ).fetchall()
        )
        for table in ("web_events", "campaign_events"):
            conn.execute(
                f"""
                insert into raw.{table}
                select * replace (
                    ? as customer_id,
                    event_at - interval 1 second as event_at,
                    'redelivered.parquet' as _source_file,
                    now() as _loaded_at
                )
                from raw.{table} where trim(customer_id) = ?
                """,
                [receiver, moved],
            )
        conn.execute(
            """
            insert into raw.web_events
            select
                'planted-' || i, ?, anonymous_id, ? + i * interval 1 minute,
                'page_view', '/', 'desktop', 'planted.parquet', now()
            from (
                select any_value(anonymous_id) as anonymous_id, count(*) as events
                from staging.stg_web__events where customer_id = ?
            ), range(events + 1) as steps(i)
            """,
            [new_owner, datetime.combine(NEW_DAY, time(12), UTC), device_owner],
        )
    return {
        "moved": moved,
        "receiver": receiver,
        "device_owner": device_owner,
        "new_owner": new_owner,
    }


def test_redelivered_events_recompute_their_old_and_new_customers(
    incremental: dict, tmp_path: Path
) -> None:
    settings = _copy_warehouse(incremental["settings"], tmp_path)
    planted = _plant_redeliveries(settings.warehouse_path)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        device_owner_anonymous_events = conn.execute(
            """
            select count(*) from staging.stg_web__events
            where customer_id is null and anonymous_id in (
                select anonymous_id from staging.stg_web__events where customer_id = ?
            )
            """,
            [planted["device_owner"]],
        ).fetchone()[0]
    before = _per_customer_models(settings)["int_web_sessions"]
    rebuilt = _incremental_equals_full_refresh(
        settings, tmp_path, "stg_web__events", "stg_marketing__campaign_events", *PER_CUSTOMER
    )
    # Only the customers concerned were recomputed; the one who lost every event has no row.
    assert rebuilt == {
        "int_web_sessions": {planted[name] for name in ("receiver", "device_owner", "new_owner")},
        "int_customer_campaigns": {planted["receiver"]},
    }
    after = _per_customer_models(settings)
    for model in PER_CUSTOMER:
        assert planted["moved"] not in set(after[model]["customer_id"]), model
    events = after["int_web_sessions"].groupby("customer_id")["events_count"].sum()
    earlier_events = before.groupby("customer_id")["events_count"].sum()
    assert events[planted["new_owner"]] >= (
        earlier_events[planted["new_owner"]] + device_owner_anonymous_events
    )
    assert events[planted["device_owner"]] < earlier_events[planted["device_owner"]]
