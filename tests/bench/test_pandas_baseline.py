"""The pandas baseline rounds amounts exactly as DuckDB casts them to the models' fixed point."""

import duckdb
import numpy as np
import pandas as pd

from bench.baselines.pandas_features import _fixed_point


def test_amounts_round_half_away_from_zero_like_duckdbs_cast_to_numeric() -> None:
    # Products of prices and rates whose seventh decimal is a 5: numpy's round goes to even.
    rng = np.random.default_rng(7)
    prices = np.round(rng.uniform(0.5, 500, 200_000), 1)
    rates = np.round(rng.uniform(0.5, 1.5, 200_000), 6)
    amounts = pd.Series(np.concatenate([[20.5 * 0.854701, 44.5 * 0.5 * 0.787402], prices * rates]))
    with duckdb.connect() as conn:
        conn.register("amounts", pd.DataFrame({"amount": amounts}))
        cast = (
            conn.sql("select cast(amount as numeric(28, 6))::double from amounts").df().iloc[:, 0]
        )

    assert (_fixed_point(amounts) == cast).all()
    assert (amounts.round(6) != cast).any()  # the case this guards against does occur here
