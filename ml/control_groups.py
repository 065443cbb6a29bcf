"""Which customers of an audience are held out as its control group.

A customer's draw is a number in [0, 1) made from the MD5 of `<salt>:<customer_id>`: the same
customer gets the same draw in every run while the salt is unchanged, so a control customer stays
in control for as long as they stay in the audience, and another salt gives an independent split.
Customers whose draw falls below the holdout share are the control group. A hash is not a secret
here (it decides who is held out, not who someone is); MD5 is used because it is fast, stable
across versions and platforms, and uniform enough for splitting.
"""

import hashlib
from collections.abc import Iterable

import numpy as np

DRAW_HEX_DIGITS = 12  # 48 bits: draws far finer than any holdout share
DRAW_SCALE = float(16**DRAW_HEX_DIGITS)


def control_draws(salt: str, customer_ids: Iterable[str]) -> np.ndarray:
    """Each customer's draw in [0, 1) under `salt`."""
    prefix = f"{salt}:".encode()
    return (
        np.fromiter(
            (
                int(
                    hashlib.md5(prefix + str(customer_id).encode()).hexdigest()[:DRAW_HEX_DIGITS],
                    16,
                )
                for customer_id in customer_ids
            ),
            dtype=np.float64,
        )
        / DRAW_SCALE
    )


def in_control(salt: str, customer_ids: Iterable[str], holdout_share: float) -> np.ndarray:
    """True for the customers held out: a draw below `holdout_share`."""
    return control_draws(salt, customer_ids) < holdout_share
