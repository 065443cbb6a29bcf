"""The audiences file is data, validated whole before anything runs: every mistake names the
file, the audience and the key."""

from pathlib import Path

import pytest

from dagster_project.lib.audiences.config import AudienceConfigError, load_audiences
from dagster_project.lib.settings import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "audiences" / "audiences.yml"
GOOD = """
  - name: churners
    where: {churn_risk: {at_least: 0.6}, clv: {top_share: 0.25}}
    channel: email
"""


def test_the_example_file_is_valid() -> None:
    config = load_audiences(EXAMPLE)
    names = [audience.name for audience in config.audiences]
    assert names == ["win_back_valuable", "likely_buyers", "recent_regulars"]
    win_back = config.audiences[0]
    assert [(c.column, c.comparison, c.value) for c in win_back.conditions] == [
        ("churn_risk", "at_least", 0.6),
        ("clv", "top_share", 0.25),
    ]
    assert win_back.control_salt == "win_back_valuable" and win_back.holdout_share == 0.1


@pytest.mark.parametrize(
    ("entry", "audience", "key"),
    [
        ("    chanel: email\n", "churners", "chanel"),
        ("    holdout_share: 1.5\n", "churners", "holdout_share"),
        ("    holdout_share: yes\n", "churners", "holdout_share"),
        ("    identifiers: [email_sha256]\n", "churners", "identifiers"),
        ("    segments: {a: 1}\n", "churners", "segments"),
        ("    max_size_ratio: 0.5\n", "churners", "max_size_ratio"),
        ("    lift_window_days: 2.5\n", "churners", "lift_window_days"),
        ("    http: {url: 'http://example.com/sync'}\n", "churners", "http.url"),
        (
            "    http: {url: 'https://x.example', token_env: 's3cr3t-token'}\n",
            "churners",
            "http.token_env",
        ),
        ("    http: {url: 'https://x.example', retries: 3}\n", "churners", "http.retries"),
    ],
)
def test_a_bad_key_is_named_with_its_audience(
    tmp_path: Path, entry: str, audience: str, key: str
) -> None:
    path = tmp_path / "audiences.yml"
    path.write_text("audiences:" + GOOD + entry)
    with pytest.raises(AudienceConfigError) as error:
        load_audiences(path)
    assert str(path) in str(error.value)
    assert f"audience '{audience}'" in str(error.value)
    assert f"key {key}" in str(error.value)


@pytest.mark.parametrize(
    ("where", "key"),
    [
        ("{churn_risk: {at_leest: 0.6}}", "where.churn_risk.at_leest"),
        ("{churn_risk: {at_least: high}}", "where.churn_risk.at_least"),
        ("{clv: {top_share: 0}}", "where.clv.top_share"),
        ("{clv: {top_share: 2}}", "where.clv.top_share"),
        ("{'clv; drop table raw.customers': {at_least: 1}}", "where.clv; drop table"),
        ("{clv: 5}", "where.clv"),
    ],
)
def test_a_bad_condition_is_named(tmp_path: Path, where: str, key: str) -> None:
    path = tmp_path / "audiences.yml"
    path.write_text(f"audiences:\n  - name: big\n    where: {where}\n    channel: ads\n")
    with pytest.raises(AudienceConfigError, match="audience 'big'") as error:
        load_audiences(path)
    assert f"key {key}" in str(error.value)


def test_names_are_unique_and_plain(tmp_path: Path) -> None:
    path = tmp_path / "audiences.yml"
    path.write_text("audiences:" + GOOD + GOOD)
    with pytest.raises(AudienceConfigError, match=r"audience 'churners': key name: .* twice"):
        load_audiences(path)
    path.write_text("audiences:\n  - name: ../../etc\n    channel: ads\n")
    with pytest.raises(AudienceConfigError, match=r"audience '\.\./\.\./etc': key name"):
        load_audiences(path)


def test_predictions_switched_off_are_named(tmp_path: Path) -> None:
    path = tmp_path / "audiences.yml"
    path.write_text("audiences:" + GOOD)
    with pytest.raises(
        AudienceConfigError, match=r"key where\.churn_risk: predictions are switched"
    ):
        load_audiences(path, predictions_enabled=False)


def test_the_file_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    path = tmp_path / "audiences.yml"
    path.write_text(f"audiences: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(AudienceConfigError, match="not valid YAML"):
        load_audiences(path)
    assert not marker.exists()
