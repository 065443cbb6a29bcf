"""The fairness audit end to end: demo data with a planted bias (discount hunters three times as
likely among 18-24 year olds) through a full run: the audit flags the discount hunters' segment
for 18-24 and nothing about gender or country; the check warns and the run succeeds."""

import dataclasses
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance

from dagster_project.defs.fairness import SEGMENTS_ARE_FAIR
from dagster_project.run import run_job
from demo_data.bias import PlantedBias
from demo_data.generate import GROUND_TRUTH_DIR, DemoSpec, generate
from tests.conftest import AS_OF, DEMO_SEED, QUICK_TRAINING, check_evaluation, settings_for

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast

CUSTOMERS = 2_000
BIAS = PlantedBias("discount_hunter", 18, 24)


def test_a_planted_bias_is_flagged_and_nothing_else(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate(DemoSpec(customers=CUSTOMERS, seed=DEMO_SEED, end_date=AS_OF, bias=BIAS), landing)
    config = tmp_path / "segmentation.yml"
    config.write_text(QUICK_TRAINING)
    settings = dataclasses.replace(settings_for(tmp_path, landing), segmentation_config=config)
    with DagsterInstance.ephemeral() as instance:
        result = run_job(settings, instance)
    assert result.success  # the check warns by default
    check = check_evaluation(result, SEGMENTS_ARE_FAIR)
    assert not check.passed

    truth = pd.read_parquet(next((landing / GROUND_TRUTH_DIR).glob("*.parquet")))
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        audit = conn.execute("select * from segments.fairness_audit").df()
        segments = conn.execute(
            "select customer_id, segment_id from segments.customer_segments"
        ).df()
    personas = segments.merge(truth[["customer_id", "persona"]], on="customer_id")
    hunters = personas.groupby("segment_id")["persona"].apply(lambda p: (p == BIAS.persona).mean())
    hunter_segments = set(hunters[hunters > 0.5].index)
    flagged = audit[audit["flagged"]]
    assert set(flagged["attribute"]) == {"age_band"}, flagged
    planted = flagged[(flagged["group"] == "18-24") & flagged["segment_id"].isin(hunter_segments)]
    assert len(planted) >= 1, audit[audit["group"] == "18-24"]
    assert (planted["selection_rate_ratio"] > 2).all()
