"""Array helpers shared by the source generators."""

import numpy as np


def pick_per_group(
    rng: np.random.Generator, keys: np.ndarray, options: dict[str, tuple[str, ...]]
) -> np.ndarray:
    """For each key, one of its options drawn uniformly (None where the key has no options)."""
    picked = np.empty(len(keys), dtype=object)
    for key, choices in options.items():
        mask = keys == key
        picked[mask] = rng.choice(choices, int(mask.sum()))
    return picked


def positions_within_groups(sizes: np.ndarray) -> np.ndarray:
    """0, 1, ... within each consecutive group of the given sizes: [2, 3] -> [0, 1, 0, 1, 2]."""
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.arange(int(np.sum(sizes))) - starts
