"""A planted bias, for testing the fairness audit: one persona made more likely for one age band.

Off by default: the demo's demographics are drawn independently of the personas (ages as of the
data's end date, so that tenure does not make the newest customers the youngest either), and an
audit of its segments should flag nothing. With a bias planted, customers of the age band are
`odds` times as likely as everyone else to have the persona; the audit must flag exactly the
segment that persona becomes, for that band.
"""

from dataclasses import dataclass

import numpy as np

from demo_data.personas import PERSONAS


@dataclass(frozen=True)
class PlantedBias:
    persona: str
    youngest: int  # age band's first year of age, inclusive
    oldest: int  # age band's last year of age, inclusive (the band "18-24" is 18 and 24)
    odds: float = 3.0

    @classmethod
    def parse(cls, text: str) -> "PlantedBias":
        """`persona:youngest-oldest`, e.g. `discount_hunter:18-24`."""
        persona, _, band = text.partition(":")
        youngest, _, oldest = band.partition("-")
        names = [p.name for p in PERSONAS]
        if persona not in names or not youngest.isdigit() or not oldest.isdigit():
            raise ValueError(
                f"--plant-bias must be PERSONA:YOUNGEST-OLDEST with a persona of {names}, "
                f"got {text!r}"
            )
        return cls(persona, int(youngest), int(oldest))

    @property
    def target(self) -> int:
        """The persona's index in PERSONAS."""
        return [p.name for p in PERSONAS].index(self.persona)

    def switched(
        self, rng: np.random.Generator, persona_index: np.ndarray, age_years: np.ndarray
    ) -> np.ndarray:
        """Which customers of the band to move into the persona: with base share s, a band
        member not already in it moves with probability (odds - 1) s / (1 - s), so that the band
        has the persona at `odds` times the rate of everyone else."""
        target = self.target
        in_band = (age_years >= self.youngest) & (age_years < self.oldest + 1)
        share = float(np.mean(persona_index[~in_band] == target)) if (~in_band).any() else 0.0
        move = min((self.odds - 1) * share / (1 - share), 1.0) if share < 1 else 0.0
        return in_band & (persona_index != target) & (rng.random(len(persona_index)) < move)
