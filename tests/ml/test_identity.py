"""Segment ids persist when the same people form a segment again; new groups get new ids."""

import pandas as pd

from ml.identity import match_segments, relabel, stability_ari

CUSTOMERS = [f"c{i}" for i in range(300)]


def test_ids_survive_a_permutation_of_cluster_labels() -> None:
    previous = pd.Series([10, 20, 30] * 100, index=CUSTOMERS)
    permuted = previous.map({10: 2, 20: 0, 30: 1})  # same groups, different cluster numbers
    matching = match_segments(previous, permuted, min_overlap=0.5, next_id=31)
    assert matching.segment_ids == {2: 10, 0: 20, 1: 30}
    assert matching.new_segments == ()
    assert list(relabel(permuted.to_numpy(), matching.segment_ids)) == list(previous)
    assert stability_ari(previous, permuted) == 1.0


def test_a_genuinely_new_cluster_gets_a_never_used_id() -> None:
    previous = pd.Series([1, 2] * 150, index=CUSTOMERS)
    current = previous.map({1: 0, 2: 1}).copy()
    current.iloc[::10] = 2  # a tenth of everyone forms a new group
    matching = match_segments(previous, current, min_overlap=0.5, next_id=5)
    assert matching.segment_ids[0] == 1 and matching.segment_ids[1] == 2
    assert matching.segment_ids[2] == 5
    assert matching.new_segments == (5,)


def test_first_run_numbers_segments_from_next_id() -> None:
    current = pd.Series([0, 1, 2] * 100, index=CUSTOMERS)
    matching = match_segments(None, current, min_overlap=0.5, next_id=1)
    assert matching.segment_ids == {0: 1, 1: 2, 2: 3}
    assert stability_ari(None, current) is None


def test_new_customers_do_not_break_matching() -> None:
    previous = pd.Series([1, 2, 3] * 100, index=CUSTOMERS)
    newcomers = pd.Series([0] * 15, index=[f"n{i}" for i in range(15)])
    current = pd.concat([previous.map({1: 0, 2: 1, 3: 2}), newcomers])
    matching = match_segments(previous, current, min_overlap=0.5, next_id=4)
    assert matching.segment_ids == {0: 1, 1: 2, 2: 3}
