"""The demo generator: deterministic, contract-shaped, persona-rich and dirty on purpose."""

import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dagster_project.lib.ingest.contract import RAW_SOURCES
from demo_data.bias import PlantedBias
from demo_data.campaign_effect import PlantedCampaignEffect
from demo_data.generate import GROUND_TRUTH_DIR, SOURCES, DemoSpec, generate
from demo_data.personas import PERSONAS
from ml.control_groups import in_control

END_DATE = date(2026, 11, 20)
END = pd.Timestamp(END_DATE, tz="UTC")


def read(folder: Path, source: str) -> pd.DataFrame:
    return pd.read_parquet(folder / source)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(DemoSpec(customers=4000, seed=11, end_date=END_DATE), out)
    return out


def test_same_seed_gives_identical_data_and_another_seed_does_not(tmp_path: Path) -> None:
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate(DemoSpec(customers=300, seed=seed, end_date=END_DATE), tmp_path / name)
    for source in (*SOURCES, GROUND_TRUTH_DIR):
        pd.testing.assert_frame_equal(read(tmp_path / "a", source), read(tmp_path / "b", source))
    assert not read(tmp_path / "a", "orders").equals(read(tmp_path / "c", "orders"))


def test_ids_stay_unique_across_chunks(tmp_path: Path) -> None:
    spec = DemoSpec(customers=350, seed=5, end_date=END_DATE, chunk_customers=100)
    rows = generate(spec, tmp_path)
    truth = read(tmp_path, GROUND_TRUTH_DIR)
    assert truth["customer_id"].tolist() == [f"C{n:08d}" for n in range(1, 351)]
    orders = read(tmp_path, "orders").drop_duplicates()
    assert orders["order_id"].is_unique
    assert rows["orders"] == len(read(tmp_path, "orders"))


def test_every_source_has_the_raw_contract_columns(demo: Path) -> None:
    for source in RAW_SOURCES:
        columns = set(read(demo, source.table).columns)
        assert {c.name for c in source.file_columns} <= columns, source.table


def test_persona_mix_follows_the_configured_shares(demo: Path) -> None:
    shares = read(demo, GROUND_TRUTH_DIR)["persona"].value_counts(normalize=True)
    total = sum(p.share for p in PERSONAS)
    assert len(PERSONAS) >= 6
    for persona in PERSONAS:
        assert shares[persona.name] == pytest.approx(persona.share / total, abs=0.03)


def test_personas_differ_across_every_source(demo: Path) -> None:
    truth = read(demo, GROUND_TRUTH_DIR).set_index("customer_id")["persona"]
    per_customer = pd.DataFrame(index=truth.index)
    orders = read(demo, "orders").drop_duplicates("order_id")
    for source, key in (
        ("orders", "customer_id"),
        ("web_events", "customer_id"),
        ("social_interactions", "customer_id"),
    ):
        per_customer[source] = read(demo, source)[key].value_counts()
    q4 = orders[orders["ordered_at"].dt.month >= 10]["customer_id"].value_counts()
    per_customer["q4_share"] = q4 / per_customer["orders"]
    last_order = orders.groupby("customer_id")["ordered_at"].max()
    per_customer["days_since_order"] = (END - last_order).dt.days
    signup = read(demo, "customers").drop_duplicates("customer_id").set_index("customer_id")
    per_customer["tenure_days"] = (END - signup["signup_at"]).dt.days
    by_persona = per_customer.fillna({"orders": 0, "social_interactions": 0}).groupby(truth).mean()

    assert by_persona.loc["loyal_high_spender", "orders"] > 3 * by_persona["orders"].median()
    assert by_persona.loc["window_shopper", "orders"] < 1.5
    web_per_order = by_persona["web_events"] / by_persona["orders"]
    assert web_per_order.idxmax() == "window_shopper"
    assert by_persona["social_interactions"].idxmax() == "social_advocate"
    assert by_persona.loc["seasonal_gift_buyer", "q4_share"] > 0.6
    assert by_persona.loc["lapsed", "days_since_order"] > 300
    assert by_persona["tenure_days"].idxmin() == "new_customer"
    assert by_persona.loc["new_customer", "tenure_days"] < 61


def test_every_kind_of_planted_dirt_is_present(demo: Path) -> None:
    customers = read(demo, "customers")
    products = read(demo, "products")
    orders = read(demo, "orders")
    items = read(demo, "order_items")
    web = read(demo, "web_events")

    for source in ("customers", "orders", "order_items", "web_events", "campaign_events"):
        assert read(demo, source).duplicated().sum() > 0, f"no exact duplicate rows in {source}"
    assert customers["customer_id"].isna().any()
    assert orders["customer_id"].isna().any()
    assert items["order_id"].isna().any()
    assert web["event_id"].isna().any()
    emails = customers["email"].dropna()
    assert (emails != emails.str.strip()).any(), "no padded emails"
    assert (emails.str.strip() != emails.str.strip().str.lower()).any(), "no mixed-case emails"
    repeated = customers.dropna(subset=["customer_id"]).drop_duplicates()
    assert repeated["customer_id"].duplicated().any(), "no repeated CRM records"
    assert {"completed", "cancelled", "returned"} <= set(orders["status"])
    assert (orders["status"] == orders["status"].str.upper()).any(), "no shouted statuses"
    assert (items["quantity"] < 0).any()
    assert not set(items["product_id"]) <= set(products["product_id"]), "no unknown products"
    for source, column in (
        ("orders", "ordered_at"),
        ("web_events", "event_at"),
        ("campaign_events", "event_at"),
        ("social_interactions", "occurred_at"),
    ):
        assert (read(demo, source)[column] > END + pd.Timedelta(days=1)).any(), source
    signup = customers.drop_duplicates("customer_id").set_index("customer_id")["signup_at"]
    assert (orders["ordered_at"] < orders["customer_id"].map(signup)).any(), (
        "no order before signup"
    )
    anonymous = web[web["customer_id"].isna()]
    assert len(anonymous) > 0 and anonymous["anonymous_id"].notna().all()


def test_refuses_to_overwrite_existing_files(tmp_path: Path) -> None:
    spec = DemoSpec(customers=20, seed=1, end_date=END_DATE)
    generate(spec, tmp_path)
    with pytest.raises(FileExistsError, match="already exist"):
        generate(spec, tmp_path)
    assert not list(tmp_path.glob(".generating-*")), "work folder left behind"


def test_command_line(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "demo_data", "--customers", "50", "--out", str(tmp_path)),
            *("--seed", "3", "--end-date", "2026-01-01", "--clean"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "50 customers" in completed.stdout
    orders = read(tmp_path, "orders")
    assert not orders.duplicated().any(), "--clean must plant no duplicates"
    assert np.all(orders["ordered_at"] < pd.Timestamp("2026-01-01", tz="UTC"))


def test_a_planted_bias_makes_one_persona_three_times_as_likely_in_one_age_band(
    tmp_path: Path,
) -> None:
    bias = PlantedBias.parse("discount_hunter:18-24")
    for planted in (None, bias):
        out = tmp_path / str(planted is not None)
        generate(DemoSpec(customers=6_000, seed=3, end_date=date(2026, 11, 20), bias=planted), out)
        truth = read(out, GROUND_TRUTH_DIR).set_index("customer_id")["persona"]
        customers = read(out, "customers").drop_duplicates("customer_id").set_index("customer_id")
        age = (pd.Timestamp("2026-11-20") - pd.to_datetime(customers["birth_date"])).dt.days
        band = ((age / 365.25 >= 18) & (age / 365.25 < 25)).reindex(truth.index, fill_value=False)
        hunters = truth == "discount_hunter"
        ratio = hunters[band].mean() / hunters[~band].mean()
        assert ratio == pytest.approx(3 if planted else 1, abs=0.5), ratio
    with pytest.raises(ValueError, match="PERSONA:YOUNGEST-OLDEST"):
        PlantedBias.parse("bargain_hunter:18-24")


def test_a_planted_campaign_effect_adds_orders_to_the_treated_arm_only(tmp_path: Path) -> None:
    effect = PlantedCampaignEffect("win_back", 0.5, date(2026, 10, 1), 28, 0.4)
    generate(
        DemoSpec(customers=1000, seed=5, end_date=END_DATE, chunk_customers=400), tmp_path / "plain"
    )
    generate(
        DemoSpec(1000, 5, END_DATE, chunk_customers=400, campaign_effect=effect),
        tmp_path / "planted",
    )
    plain, planted = read(tmp_path / "plain", "orders"), read(tmp_path / "planted", "orders")
    for source in ("customers", "web_events", "campaign_events", "social_interactions"):
        pd.testing.assert_frame_equal(
            read(tmp_path / "plain", source), read(tmp_path / "planted", source)
        )
    extra = planted[~planted["order_id"].isin(plain["order_id"])]
    pd.testing.assert_frame_equal(planted.drop(extra.index).reset_index(drop=True), plain)
    assert not in_control("win_back", extra["customer_id"], 0.5).any()
    assert extra["customer_id"].is_unique and (extra["status"] == "completed").all()
    days = extra["ordered_at"].dt.date
    assert days.min() > date(2026, 10, 1) and days.max() <= date(2026, 10, 29)
    treated = (
        ~in_control("win_back", read(tmp_path / "plain", "customers")["customer_id"], 0.5)
    ).sum()
    assert abs(len(extra) / treated - 0.4) < 0.08  # most customers signed up before the window
    lines = read(tmp_path / "planted", "order_items")
    assert set(extra["order_id"]) <= set(lines["order_id"])
    with pytest.raises(ValueError, match="must end by the data's end date"):
        generate(
            DemoSpec(
                1, 5, END_DATE, campaign_effect=PlantedCampaignEffect("s", 0.5, END_DATE, 28, 0.1)
            ),
            tmp_path / "late",
        )
