"""What an audience is: who it selects, how many are held out, where it goes (read from the
audiences file by config.py)."""

from dataclasses import dataclass, field
from pathlib import Path

from ml.predictions import COLUMNS as PREDICTED

COMPARISONS: dict[str, str] = {
    "at_least": ">=",
    "above": ">",
    "at_most": "<=",
    "below": "<",
    "top_share": "top",  # in the highest `value` share of profiled customers
    "bottom_share": "bottom",  # in the lowest `value` share
}
CHANNELS = ("email", "ads", "sms", "push", "direct_mail", "other")
IDENTIFIERS = ("customer_id", "email_sha256")
PREDICTION_COLUMNS = tuple(column for column in PREDICTED if column != "customer_id")
"""The columns of segments.customer_predictions a condition may compare."""


@dataclass(frozen=True)
class Condition:
    column: str
    comparison: str  # a key of COMPARISONS
    value: float

    @property
    def uses_predictions(self) -> bool:
        return self.column in PREDICTION_COLUMNS


@dataclass(frozen=True)
class HttpDestination:
    url: str
    batch_size: int = 1000
    token_env: str = ""  # the environment variable holding a bearer token; never the token
    max_attempts: int = 4
    allow_local_http: bool = False


@dataclass(frozen=True)
class Audience:
    name: str
    channel: str
    description: str = ""
    segments: tuple[str, ...] = ()  # names or ids; empty: every segment
    conditions: tuple[Condition, ...] = ()
    holdout_share: float = 0.1
    salt: str = ""  # empty: the audience's name
    identifiers: tuple[str, ...] = ("customer_id",)
    max_size_ratio: float = 2.0
    lift_window_days: int = 28
    http: HttpDestination | None = None

    @property
    def control_salt(self) -> str:
        return self.salt or self.name

    @property
    def asset_name(self) -> str:
        return f"audience_{self.name}"

    @property
    def uses_predictions(self) -> bool:
        return any(condition.uses_predictions for condition in self.conditions)


@dataclass(frozen=True)
class AudiencesConfig:
    path: Path
    audiences: tuple[Audience, ...] = field(default=())
