"""The lift statistics: treated against control with a Welch interval, and the control split."""

import hashlib

import numpy as np
import pytest

from ml.control_groups import control_draws, in_control
from ml.lift import MIN_CUSTOMERS_PER_ARM, difference_in_means


def test_the_interval_covers_the_true_difference_at_its_nominal_rate() -> None:
    rng = np.random.default_rng(3)
    covered = 0
    trials = 600
    for _ in range(trials):
        control = rng.poisson(0.4, 300)
        treated = rng.poisson(0.4, 900) + (rng.random(900) < 0.2)  # true lift 0.2
        lift = difference_in_means(treated, control)
        covered += lift.ci_low <= 0.2 <= lift.ci_high
    assert 0.93 <= covered / trials <= 0.97


def test_no_difference_is_not_significant_and_a_real_one_is() -> None:
    rng = np.random.default_rng(4)
    same = difference_in_means(rng.normal(10, 3, 2000), rng.normal(10, 3, 2000))
    assert same.ci_low < 0 < same.ci_high and same.p_value > 0.05
    shifted = difference_in_means(rng.normal(11, 3, 2000), rng.normal(10, 3, 2000))
    assert shifted.ci_low > 0 and shifted.p_value < 0.001
    assert shifted.relative_lift == pytest.approx(0.1, abs=0.03)


def test_small_arms_get_no_interval() -> None:
    lift = difference_in_means(np.ones(MIN_CUSTOMERS_PER_ARM - 1), np.zeros(100))
    assert lift.lift == 1 and lift.ci_low is None and lift.p_value is None


def test_a_customer_keeps_their_draw_and_the_share_holds() -> None:
    ids = [f"C{number:08d}" for number in range(20_000)]
    draws = control_draws("win_back", ids)
    assert np.array_equal(draws, control_draws("win_back", ids))
    expected = int(hashlib.md5(b"win_back:C00000000").hexdigest()[:12], 16) / 16**12
    assert draws[0] == expected
    control = in_control("win_back", ids, 0.1)
    assert abs(control.mean() - 0.1) < 3 * np.sqrt(0.1 * 0.9 / len(ids))


def test_another_salt_splits_independently() -> None:
    ids = [f"C{number:08d}" for number in range(20_000)]
    first, second = in_control("a", ids, 0.5), in_control("b", ids, 0.5)
    assert abs((first == second).mean() - 0.5) < 3 * np.sqrt(0.25 / len(ids))
