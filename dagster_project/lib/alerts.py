"""Failed runs, recorded where an operator looks: table `run_failures` in a DuckDB file of its own
(the warehouse may be locked by the run that is failing), and a webhook when one is configured."""

import datetime
import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from dagster_project.lib.duckdb_files import create_if_missing
from dagster_project.lib.settings import check_webhook

WEBHOOK_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class RunFailure:
    run_id: str
    job_name: str
    failed_at: datetime.datetime
    step_key: str  # the failing step, or "run" when the run failed outside any step
    error: str


def record_failure(
    alerts_path: Path, failure: RunFailure, webhook_url: str = "", allow_local_http: bool = False
) -> str:
    """Stores the failure in `alerts_path` and posts it to `webhook_url` when one is given (https,
    or http to this machine when `allow_local_http`); returns what happened to the post (also
    stored)."""
    check_webhook(webhook_url, allow_local_http)
    posted = post_failure(webhook_url, failure) if webhook_url else "no webhook configured"
    create_if_missing(alerts_path, owner_only=True)
    with duckdb.connect(str(alerts_path)) as conn:
        conn.execute(
            """
            create table if not exists run_failures (
                run_id varchar, job_name varchar, failed_at timestamp with time zone,
                step_key varchar, error varchar, webhook varchar
            )
            """
        )
        conn.execute(
            "insert into run_failures values (?, ?, ?, ?, ?, ?)",
            [*asdict(failure).values(), posted],
        )
    return posted


def post_failure(webhook_url: str, failure: RunFailure) -> str:
    """POSTs the failure as JSON; a webhook that is down is reported, not raised."""
    body = json.dumps({**asdict(failure), "failed_at": failure.failed_at.isoformat()})
    request = urllib.request.Request(
        webhook_url,
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            return f"posted: HTTP {response.status}"
    except (urllib.error.URLError, TimeoutError) as error:
        return f"post failed: {error}"
