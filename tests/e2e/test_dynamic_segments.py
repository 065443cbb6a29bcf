"""Segments that follow behaviour: daily refreshes on new files, history backfills and
drift-triggered retraining, all through real Dagster runs on one persistent instance.

The scenario (one module-scoped run of the jobs, in order):
1. full refresh on the demo history up to the day before NEW_DAY, as of NEW_DAY;
2. daily refresh with no new file (nothing may change);
3. NEW_DAY's files dropped into the landing folder, daily refresh as of NEW_DAY;
4. daily refresh as of the next day (stable data: no retrain);
5. backfills: NEW_DAY again (reproduced exactly) and three earlier days, out of order;
6. one persona's spend halved in the landing files, daily refresh: drift requests a retrain,
   the drift sensor starts it, and model_runs records why.
"""

import dataclasses
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance, RunRequest, build_sensor_context, materialize

from dagster_project.definitions import build_definitions
from dagster_project.defs.backfill import build_history_backfill
from dagster_project.defs.jobs import daily_refresh_job, full_refresh_job, retrain_job
from dagster_project.defs.resources import build_resources
from dagster_project.defs.sensors import drift_retrain_sensor
from dagster_project.lib.names import TRAINED_BECAUSE_TAG
from dagster_project.lib.settings import Settings
from dagster_project.run import run_job
from demo_data.split import split_day
from ml.model import SegmentationModel
from tests.conftest import AS_OF, QUICK_TRAINING, settings_for

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast

NEW_DAY = AS_OF - timedelta(days=1)  # the demo's last day of data
BACKFILLED = [NEW_DAY - timedelta(days=3), NEW_DAY - timedelta(days=5), NEW_DAY - timedelta(days=4)]
SHIFTED_PERSONA = "loyal_high_spender"


def _snapshot(settings: Settings) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return {
            table: conn.execute(f"select * from segments.{table} order by all").df()
            for table in ("customer_segments", "segment_history", "segment_transitions")
        } | {
            "scoring_runs": conn.execute(
                "select * from segments.scoring_runs order by as_of_date"
            ).df(),
            "features": conn.execute("select * from marts.customer_features order by all").df(),
        }


def _state_on(history: pd.DataFrame, day: date) -> pd.Series:
    """Who was in which segment on `day`, read from the type-2 history."""
    moment = pd.Timestamp(day)
    valid_from, valid_to = (
        pd.to_datetime(history["valid_from"]),
        pd.to_datetime(history["valid_to"]),
    )
    current = history[(valid_from <= moment) & (valid_to.isna() | (valid_to > moment))]
    return current.set_index("customer_id")["segment_id"].sort_index()


def _customers_in(folder: Path, landing: Path) -> set[str]:
    """Customers whose features a day's files can change: those with a row in them, and those
    seen with an anonymous id that browsed that day (logged-out events are attributed to them)."""
    customers: set[str] = set()
    for source in ("customers", "orders", "web_events", "campaign_events", "social_interactions"):
        if (folder / source).exists():
            ids = pd.read_parquet(folder / source)["customer_id"].dropna().str.strip()
            customers |= set(ids)
    with duckdb.connect() as conn:
        linked = conn.execute(
            f"""
            select distinct trim(customer_id) from read_parquet('{landing}/web_events/*.parquet')
            where customer_id is not null and anonymous_id in (
                select anonymous_id from read_parquet('{folder}/web_events/*.parquet')
            )
            """
        ).fetchall()
    return customers | {customer for (customer,) in linked}


def _halve_spend(landing: Path, ground_truth: Path, persona: str) -> None:
    """Rewrites the order lines of one persona's orders at half the unit price."""
    with duckdb.connect() as conn:
        conn.execute(
            f"""
            create table shifted as
            select items.* replace (
                case when orders.customer_id in (
                    select customer_id from read_parquet('{ground_truth}/*.parquet')
                    where persona = '{persona}'
                ) then items.unit_price / 2 else items.unit_price end as unit_price
            )
            from read_parquet('{landing}/order_items/history.parquet') as items
            left join (select distinct order_id, trim(customer_id) as customer_id
                       from read_parquet('{landing}/orders/*.parquet')) as orders
              using (order_id)
            """
        )
        conn.execute(f"copy shifted to '{landing}/order_items/history.parquet' (format parquet)")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, demo_landing: Path) -> dict:
    root = tmp_path_factory.mktemp("dynamic")
    split_day(demo_landing, root / "history", root / "day", NEW_DAY)
    landing = root / "landing"
    shutil.copytree(root / "history", landing)
    config = root / "segmentation.yml"
    config.write_text(QUICK_TRAINING)
    settings = dataclasses.replace(settings_for(root, landing, NEW_DAY), segmentation_config=config)
    next_day = dataclasses.replace(settings, as_of_date=AS_OF.isoformat())
    out: dict = {"root": root, "settings": next_day}
    (root / "dagster_home").mkdir()
    with DagsterInstance.local_temp(str(root / "dagster_home")) as instance:
        out["full"] = run_job(settings, instance, full_refresh_job.name)
        out["initial"] = _snapshot(settings)
        out["no_new_data_run"] = run_job(settings, instance, daily_refresh_job.name)
        out["no_new_data"] = _snapshot(settings)
        shutil.copytree(root / "day", landing, dirs_exist_ok=True)
        out["new_day_run"] = run_job(settings, instance, daily_refresh_job.name)
        out["new_day"] = _snapshot(settings)
        out["next_day_run"] = run_job(next_day, instance, daily_refresh_job.name)
        out["next_day"] = _snapshot(next_day)

        backfill = build_history_backfill(next_day)
        out["backfills"] = {
            day: materialize(
                [backfill],
                partition_key=day.isoformat(),
                resources=build_resources(next_day),
                instance=instance,
                raise_on_error=False,
            )
            for day in [NEW_DAY, *BACKFILLED]
        }
        out["backfilled"] = _snapshot(next_day)
        with duckdb.connect(str(next_day.warehouse_path), read_only=True) as conn:
            out["last_backfill_features"] = conn.execute(
                "select * from pit_marts.customer_features order by customer_id"
            ).df()

        _halve_spend(landing, demo_landing / "_ground_truth", SHIFTED_PERSONA)
        out["shift_run"] = run_job(next_day, instance, daily_refresh_job.name)
        out["shifted"] = _snapshot(next_day)
        defs = build_definitions(next_day)
        evaluated = drift_retrain_sensor(build_sensor_context(instance=instance, definitions=defs))
        out["sensor"] = request = next(iter(evaluated), None)
        if isinstance(request, RunRequest):
            job = defs.resolve_job_def(retrain_job.name)
            out["retrain_run"] = job.execute_in_process(
                instance=instance, tags=request.tags, raise_on_error=False
            )
    return out


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_every_run_succeeds(scenario: dict) -> None:
    for name in ("full", "no_new_data_run", "new_day_run", "next_day_run", "shift_run"):
        assert scenario[name].success, name
    assert all(result.success for result in scenario["backfills"].values())


def test_a_run_with_no_new_data_changes_nothing(scenario: dict) -> None:
    assert "segmentation_model" not in _materialized(scenario["no_new_data_run"])
    for table, frame in scenario["initial"].items():
        pd.testing.assert_frame_equal(frame, scenario["no_new_data"][table], obj=table)


def test_a_new_day_moves_only_customers_with_new_rows(scenario: dict) -> None:
    before = scenario["no_new_data"]["customer_segments"].set_index("customer_id")
    after = scenario["new_day"]["customer_segments"].set_index("customer_id")
    assert (before["model_version"] == after["model_version"].reindex(before.index)).all()
    common = before.index.intersection(after.index)
    moved = set(common[before.loc[common, "segment_id"] != after.loc[common, "segment_id"]])
    features_changed = scenario["no_new_data"]["features"].merge(
        scenario["new_day"]["features"], how="outer", indicator=True
    )
    changed = set(features_changed.loc[features_changed["_merge"] != "both", "customer_id"])
    with_new_rows = _customers_in(scenario["root"] / "day", scenario["root"] / "landing")
    assert changed <= with_new_rows
    assert moved <= changed
    assert len(changed) > 0


def test_stable_data_requests_no_retrain(scenario: dict) -> None:
    runs = scenario["next_day"]["scoring_runs"]
    latest = runs.iloc[-1]
    assert pd.Timestamp(latest["as_of_date"]).date() == AS_OF
    assert pd.isna(latest["retrain_requested_because"])
    assert latest["max_feature_psi"] < 0.1


def test_backfilling_reproduces_a_past_day_exactly(scenario: dict) -> None:
    """NEW_DAY was scored by a daily run; rebuilt as of that day from the data, with the model
    that scored it, the features hash the same and nothing is rewritten."""
    reproduced = scenario["backfills"][NEW_DAY]
    metadata = reproduced.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["unchanged"].value is True
    before = _state_on(scenario["next_day"]["segment_history"], NEW_DAY)
    after = _state_on(scenario["backfilled"]["segment_history"], NEW_DAY)
    pd.testing.assert_series_equal(before, after)


def test_backfilling_three_past_days_fills_the_history(scenario: dict) -> None:
    history = scenario["backfilled"]["segment_history"]
    transitions = scenario["backfilled"]["segment_transitions"]
    # The days scored before keep exactly the state they had.
    for day in (NEW_DAY, AS_OF):
        pd.testing.assert_series_equal(
            _state_on(scenario["next_day"]["segment_history"], day), _state_on(history, day)
        )
    earliest = min(BACKFILLED)
    for day in BACKFILLED:
        state = _state_on(history, day)
        assert len(state) > 0
        counts = transitions[pd.to_datetime(transitions["as_of_date"]) == pd.Timestamp(day)]
        arrived = counts.dropna(subset=["to_segment_id"])["customers"].sum()
        assert arrived == len(state), day
        if day == earliest:
            assert counts["from_segment_id"].isna().all()
    # The last backfilled day's rebuilt features, scored, are the history's state on that day.
    last = BACKFILLED[-1]
    runs = scenario["backfilled"]["scoring_runs"]
    version = runs.loc[pd.to_datetime(runs["as_of_date"]) == pd.Timestamp(last), "model_version"]
    model = SegmentationModel.load(scenario["settings"].models_dir / version.item())
    scored = model.assign(scenario["last_backfill_features"]).set_index("customer_id")
    pd.testing.assert_series_equal(
        scored["segment_id"].sort_index(),
        _state_on(history, last),
        check_names=False,
        check_dtype=False,
    )
    # No customer is in two segments at once.
    open_rows = history[history["valid_to"].isna()]
    assert open_rows["customer_id"].is_unique
    # The current tables did not move.
    pd.testing.assert_frame_equal(
        scenario["next_day"]["customer_segments"], scenario["backfilled"]["customer_segments"]
    )


def test_a_planted_shift_triggers_a_recorded_retrain(scenario: dict) -> None:
    latest = scenario["shifted"]["scoring_runs"].iloc[-1]
    assert isinstance(latest["retrain_requested_because"], str)
    assert isinstance(scenario["sensor"], RunRequest)
    assert scenario["sensor"].tags[TRAINED_BECAUSE_TAG].startswith("drift sensor:")
    retrain = scenario["retrain_run"]
    assert retrain.success
    assert "segmentation_model" in _materialized(retrain)
    settings = scenario["settings"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        reasons = [
            row[0]
            for row in conn.execute(
                "select trained_because from segments.model_runs order by trained_at"
            ).fetchall()
        ]
    assert reasons[0] == "run started by hand (no schedule or sensor)"
    assert reasons[-1].startswith("drift sensor:")
