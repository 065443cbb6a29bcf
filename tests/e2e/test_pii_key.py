"""The pseudonymisation key: never a public one. Without SEG_PII_HASH_KEY the first run creates a
random key in an owner-only file beside the warehouse and hashes with it; another key is refused
with a message naming both fingerprints and the rotation command; `rotate_key` re-hashes every
email with the new key, after which the new key is the one in use."""

import hashlib
import hmac
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project.lib import pii_key
from dagster_project.lib.settings import REPO_ROOT
from tests.conftest import AS_OF, refresh_environment, settings_for

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast

OTHER_KEY = "a-second-long-random-pseudonymisation-key"


def _run(module: str, environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _hashes_follow(warehouse: Path, key: str) -> bool:
    """Whether every customer's email hash is the HMAC, under `key`, of one of the normalised
    emails their raw records hold (re-exported records may carry another email)."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute(
            "select d.customer_id, d.email_hash, list(distinct r.email) "
            "from marts.dim_customers as d "
            "join raw.customers as r on trim(r.customer_id) = d.customer_id "
            "where d.email_hash is not null group by all"
        ).fetchall()
    assert len(rows) > 100
    return all(
        digest
        in {
            hmac.new(key.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()
            for email in emails
            if email
        }
        for _, digest, emails in rows
    )


def test_a_random_key_beside_the_warehouse_and_a_refused_unrotated_change(
    demo_landing: Path, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, demo_landing)
    environment = refresh_environment(tmp_path, settings, AS_OF.isoformat())
    without_key = {k: v for k, v in environment.items() if k != pii_key.KEY_VARIABLE}

    first = _run("dagster_project.run", without_key)
    assert first.returncode == 0, first.stderr[-3000:]
    key_file = pii_key.key_file(settings.warehouse_path)
    assert key_file.stat().st_mode & 0o777 == 0o600
    created = key_file.read_text().strip()
    assert len(created) >= 40
    assert _hashes_follow(settings.warehouse_path, created)

    # The same key, reused (the key is checked before dbt in every job: the daily one will do).
    again = _run("dagster_project.run", without_key, "--job", "daily_refresh")
    assert again.returncode == 0, again.stderr[-3000:]
    assert key_file.read_text().strip() == created

    refused = _run("dagster_project.run", without_key | {pii_key.KEY_VARIABLE: OTHER_KEY})
    assert refused.returncode == 1
    message = refused.stdout + refused.stderr
    other = pii_key.PiiKey(OTHER_KEY, pii_key.KEY_VARIABLE).fingerprint
    original = pii_key.PiiKey(created, str(key_file)).fingerprint
    assert other in message and original in message and "rotate_key" in message
    assert _hashes_follow(settings.warehouse_path, created)  # nothing was re-hashed

    rotated = _run("dagster_project.rotate_key", without_key | {pii_key.KEY_VARIABLE: OTHER_KEY})
    assert rotated.returncode == 0, rotated.stderr[-3000:]
    assert _hashes_follow(settings.warehouse_path, OTHER_KEY)
    after = _run(
        "dagster_project.run",
        without_key | {pii_key.KEY_VARIABLE: OTHER_KEY},
        "--job",
        "daily_refresh",
    )
    assert after.returncode == 0, after.stderr[-3000:]
