"""Two real refreshes a month apart, the second with 5 % more customers: segments whose customers
stay together keep their ids and names, and any segment that appears gets a never-used id.

The acceptance bound (stability ARI >= 0.90 at 20,000 customers) is measured by
`python -m bench.segment_stability`; at the 1,000 customers used here a month moves more of them
across segment borders, so this test asserts identity, not the 20k bound. Here the 3 % minimum
share is 30 customers: a segment of last month's newcomers may fall under it a month later, and
then the previous model fails its gate and is replaced (the segment's customers go to a new id),
as on any refresh where the structure no longer holds. A segment that keeps its id keeps at least
half of its customers: one defined by the calendar (lapsing, email dormancy among the consenting
customers who receive email) moves with the month; 59 % of "Email-dormant, lapsed" stayed.
"""

from pathlib import Path

import pandas as pd
import pytest

from bench.segment_stability import run_scenario
from tests.conftest import AS_OF, DEMO_CUSTOMERS, DEMO_SEED

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast


def test_segments_keep_their_ids_through_a_month_and_new_customers(tmp_path: Path) -> None:
    result = run_scenario(DEMO_CUSTOMERS, DEMO_SEED, AS_OF, tmp_path)

    assert result.new_customers() >= 0.05 * DEMO_CUSTOMERS
    assert pd.isna(result.first.model_run["stability_ari"])  # nothing to compare with yet
    assert result.second.model_run["stability_ari"] > 0.6
    carried = result.carried_over()
    old_ids = set(result.first.assignments["segment_id"])
    kept = carried[carried["now_segment_id"] == carried["segment_id"]]
    assert (kept["now_segment_name"] == kept["segment_name"]).all(), carried.to_string()
    assert kept["stayed"].min() > 0.5, carried.to_string()
    assert kept["customers"].sum() >= 0.8 * carried["customers"].sum(), carried.to_string()
    # A group that did not hold together never takes another group's id.
    moved = carried[carried["now_segment_id"] != carried["segment_id"]]
    assert (moved["now_segment_id"] > max(old_ids)).all(), carried.to_string()
    appeared = set(result.second.assignments["segment_id"]) - old_ids
    assert all(segment_id > max(old_ids) for segment_id in appeared)
