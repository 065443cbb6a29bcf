"""Audiences as code: the YAML file named by SEG_AUDIENCES_CONFIG, read as data (yaml.safe_load,
never executed) and validated whole before anything runs. Every error names the file, the audience
and the key. For example (examples/audiences/audiences.yml has more):

    audiences:
      - name: win_back_valuable
        description: Valuable customers who are slipping away.
        segments: [Lapsed big spenders]      # segment names or ids; omit for every segment
        where:                               # every condition must hold
          churn_risk: {at_least: 0.6}
          clv: {top_share: 0.25}             # the top quarter of profiled customers by CLV
        channel: email
        holdout_share: 0.1                   # held out as the control group, never exported
        identifiers: [customer_id, email_sha256]

There is no free SQL: a condition is a column of customer_features or customer_predictions and
one or more of the comparisons in COMPARISONS, against a number.
"""

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from dagster_project.lib.audiences.audience import (
    CHANNELS,
    COMPARISONS,
    IDENTIFIERS,
    Audience,
    AudiencesConfig,
    Condition,
    HttpDestination,
)

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
COLUMN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
AUDIENCE_KEYS = {
    "name",
    "description",
    "segments",
    "where",
    "channel",
    "holdout_share",
    "salt",
    "identifiers",
    "max_size_ratio",
    "lift_window_days",
    "http",
}
HTTP_KEYS = {"url", "batch_size", "token_env", "max_attempts", "allow_local_http"}
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class AudienceConfigError(ValueError):
    """A mistake in the audiences file; the message names the file, the audience and the key."""


def load_audiences(path: Path, predictions_enabled: bool = True) -> AudiencesConfig:
    """Reads and validates the whole file; raises AudienceConfigError on the first mistake."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise AudienceConfigError(
            f"{path}: cannot read the audiences file ({error.strerror})"
        ) from None
    except yaml.YAMLError as error:
        raise AudienceConfigError(f"{path}: not valid YAML ({_yaml_problem(error)})") from None
    if not isinstance(document, dict) or set(document) != {"audiences"}:
        raise AudienceConfigError(
            f"{path}: the file must hold one key, `audiences:`, with a list of audiences"
        )
    entries = document["audiences"]
    if not isinstance(entries, list) or not entries:
        raise AudienceConfigError(f"{path}: `audiences:` must be a non-empty list")
    audiences: list[Audience] = []
    for position, entry in enumerate(entries, start=1):
        audience = _audience(path, position, entry)
        if audience.name in {seen.name for seen in audiences}:
            raise AudienceConfigError(
                f"{path}: audience '{audience.name}': key name: the name is used twice"
            )
        if audience.uses_predictions and not predictions_enabled:
            column = next(c.column for c in audience.conditions if c.uses_predictions)
            raise AudienceConfigError(
                f"{path}: audience '{audience.name}': key where.{column}: predictions are "
                "switched off (SEG_PREDICTIONS=0), so no customer has one"
            )
        audiences.append(audience)
    return AudiencesConfig(path, tuple(audiences))


def _audience(path: Path, position: int, entry: Any) -> Audience:
    if not isinstance(entry, dict):
        raise AudienceConfigError(f"{path}: audience #{position} must be a mapping of keys")
    name = entry.get("name")
    where = (
        f"{path}: audience '{name}'" if isinstance(name, str) else f"{path}: audience #{position}"
    )
    unknown = sorted(set(map(str, entry)) - AUDIENCE_KEYS)
    if unknown:
        raise AudienceConfigError(
            f"{where}: key {unknown[0]}: not an audience key "
            f"(known: {', '.join(sorted(AUDIENCE_KEYS))})"
        )
    if not isinstance(name, str) or not NAME.match(name):
        raise AudienceConfigError(
            f"{where}: key name: must be lower-case letters, digits and _, starting with a "
            "letter, at most 40 characters"
        )
    if entry.get("channel") not in CHANNELS:
        raise AudienceConfigError(f"{where}: key channel: must be one of {', '.join(CHANNELS)}")
    return Audience(
        name=name,
        channel=entry["channel"],
        description=_text(where, "description", entry.get("description", "")),
        segments=_segments(where, entry.get("segments", [])),
        conditions=_conditions(where, entry.get("where", {})),
        holdout_share=_number(where, "holdout_share", entry.get("holdout_share", 0.1), 0, 0.9),
        salt=_text(where, "salt", entry.get("salt", "")),
        identifiers=_identifiers(where, entry.get("identifiers", ["customer_id"])),
        max_size_ratio=_number(where, "max_size_ratio", entry.get("max_size_ratio", 2.0), 1, 1e6),
        lift_window_days=int(
            _number(where, "lift_window_days", entry.get("lift_window_days", 28), 1, 365, True)
        ),
        http=_http(where, entry["http"]) if "http" in entry else None,
    )


def _text(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise AudienceConfigError(f"{where}: key {key}: must be text")
    return value


def _number(
    where: str, key: str, value: Any, low: float, high: float, whole: bool = False
) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
        or (whole and value != int(value))
    ):
        kind = "a whole number" if whole else "a number"
        raise AudienceConfigError(f"{where}: key {key}: must be {kind} from {low:g} to {high:g}")
    return float(value)


def _segments(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(item, str | int) and not isinstance(item, bool) for item in value
    ):
        raise AudienceConfigError(f"{where}: key segments: must be a list of segment names or ids")
    return tuple(str(item) for item in value)


def _conditions(where: str, value: Any) -> tuple[Condition, ...]:
    if not isinstance(value, dict):
        raise AudienceConfigError(
            f"{where}: key where: must map columns to comparisons, "
            "e.g. churn_risk: {at_least: 0.6}"
        )
    conditions = []
    for column, comparisons in value.items():
        key = f"where.{column}"
        if not isinstance(column, str) or not COLUMN.match(column):
            raise AudienceConfigError(f"{where}: key {key}: not a column name")
        if not isinstance(comparisons, dict) or not comparisons:
            raise AudienceConfigError(
                f"{where}: key {key}: must map comparisons ({', '.join(COMPARISONS)}) to numbers"
            )
        for comparison, number in comparisons.items():
            if comparison not in COMPARISONS:
                raise AudienceConfigError(
                    f"{where}: key {key}.{comparison}: not a comparison (known: "
                    f"{', '.join(COMPARISONS)})"
                )
            is_share = comparison.endswith("_share")
            checked = _number(
                where,
                f"{key}.{comparison}",
                number,
                0 if is_share else -1e15,
                1 if is_share else 1e15,
            )
            if is_share and checked == 0:
                raise AudienceConfigError(f"{where}: key {key}.{comparison}: a share above 0")
            conditions.append(Condition(column, comparison, checked))
    return tuple(conditions)


def _identifiers(where: str, value: Any) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or "customer_id" not in value
        or not set(value) <= set(IDENTIFIERS)
        or len(set(value)) != len(value)
    ):
        raise AudienceConfigError(
            f"{where}: key identifiers: must list customer_id and optionally email_sha256"
        )
    return tuple(value)


def _http(where: str, value: Any) -> HttpDestination:
    if not isinstance(value, dict):
        raise AudienceConfigError(f"{where}: key http: must be a mapping with url")
    unknown = sorted(set(map(str, value)) - HTTP_KEYS)
    if unknown:
        raise AudienceConfigError(
            f"{where}: key http.{unknown[0]}: not a key of http "
            f"(known: {', '.join(sorted(HTTP_KEYS))})"
        )
    allow_local_http = value.get("allow_local_http", False)
    if not isinstance(allow_local_http, bool):
        raise AudienceConfigError(f"{where}: key http.allow_local_http: must be true or false")
    url = _text(where, "http.url", value.get("url"))
    parts = urlsplit(url)
    secure = parts.scheme == "https" and parts.hostname
    local = parts.scheme == "http" and parts.hostname in LOCAL_HOSTS and allow_local_http
    if not (secure or local):
        raise AudienceConfigError(
            f"{where}: key http.url: must be an https:// URL (plain http only to localhost, with "
            "allow_local_http: true)"
        )
    token_env = _text(where, "http.token_env", value.get("token_env", ""))
    if token_env and not re.match(r"^[A-Z_][A-Z0-9_]*$", token_env):
        raise AudienceConfigError(
            f"{where}: key http.token_env: the name of an environment variable, e.g. "
            "AUDIENCE_API_TOKEN (never the token itself)"
        )
    return HttpDestination(
        url=url,
        batch_size=int(
            _number(where, "http.batch_size", value.get("batch_size", 1000), 1, 100_000, True)
        ),
        token_env=token_env,
        max_attempts=int(
            _number(where, "http.max_attempts", value.get("max_attempts", 4), 1, 10, True)
        ),
        allow_local_http=allow_local_http,
    )


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or "unreadable"
    return f"{problem} at line {mark.line + 1}" if mark else problem


def describe(audience: Audience) -> Mapping[str, Any]:
    """The audience as plain data, for metadata and the manifest."""
    return {
        "segments": list(audience.segments),
        "where": [
            {"column": c.column, "comparison": c.comparison, "value": c.value}
            for c in audience.conditions
        ],
        "channel": audience.channel,
        "holdout_share": audience.holdout_share,
        "identifiers": list(audience.identifiers),
    }
