"""The optional HTTP destination: each outbox batch's changes (added, then removed) posted as
JSON in parts of `batch_size` customers, oldest batch first.

Every request carries an `Idempotency-Key` made from the audience, the batch, the list and the
part, so a destination that saw a part before (a retry after a lost response) can drop it. A part
is retried with exponential backoff on network errors, 429 and 5xx, up to `max_attempts`; any
other answer stops at once. A batch counts as delivered only when every part was accepted, and
that is recorded beside it (`delivered.json`); a failure leaves the batch and every later one
undelivered in the outbox, and the next run sends them again in order. Messages name the
destination's host and the HTTP status, never a customer or the response body.
"""

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from dagster_project.lib.audiences.audience import HttpDestination
from dagster_project.lib.audiences.outbox import Batch, read_list
from dagster_project.lib.durable_files import fsync

DELIVERED = "delivered.json"
OPERATIONS = {"added": "add", "removed": "remove"}
TIMEOUT_SECONDS = 30
FIRST_BACKOFF_SECONDS = 0.5
RETRIED_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class DeliveryError(RuntimeError):
    """A part was refused or never answered after every attempt."""


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)  # batch names
    requests: int = 0
    failed: str = ""  # why the first undelivered batch failed; empty when none did

    @property
    def summary(self) -> str:
        if self.failed:
            return f"failed: {self.failed}"
        return f"delivered {len(self.delivered)} batch(es) in {self.requests} request(s)"


def undelivered(batches: list[Batch]) -> list[Batch]:
    return [batch for batch in batches if not (batch.folder / DELIVERED).exists()]


def deliver(
    batches: list[Batch],
    destination: HttpDestination,
    token: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Posts every undelivered batch of `batches` (oldest first); stops at the first failure."""
    report = DeliveryReport()
    for batch in undelivered(batches):
        try:
            report.requests += _deliver_batch(batch, destination, token, sleep)
        except DeliveryError as error:
            report.failed = f"batch {batch.name}: {error}"
            return report
        _mark_delivered(batch, report.requests)
        report.delivered.append(batch.name)
    return report


def _deliver_batch(
    batch: Batch, destination: HttpDestination, token: str, sleep: Callable[[float], None]
) -> int:
    requests = 0
    for list_name, operation in OPERATIONS.items():
        members = read_list(batch, list_name)
        records = members.where(members.notna(), None).to_dict(orient="records")
        parts = [
            records[start : start + destination.batch_size]
            for start in range(0, len(records), destination.batch_size)
        ]
        for number, part in enumerate(parts, start=1):
            body = {
                "audience": batch.manifest["audience"],
                "batch": batch.name,
                "operation": operation,
                "part": number,
                "parts": len(parts),
                "members": part,
            }
            key = hashlib.sha256(f"{batch.name}/{list_name}/{number}".encode()).hexdigest()
            _post(destination, body, key, token, sleep)
            requests += 1
    return requests


def _post(
    destination: HttpDestination,
    body: dict,
    idempotency_key: str,
    token: str,
    sleep: Callable[[float], None],
) -> None:
    headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode()
    where = _host(destination.url)
    problem = ""
    for attempt in range(destination.max_attempts):
        if attempt:
            sleep(FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1))
        request = urllib.request.Request(destination.url, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                if 200 <= response.status < 300:
                    return
                problem = f"HTTP {response.status} from {where}"
        except urllib.error.HTTPError as error:
            problem = f"HTTP {error.code} from {where}"
            if error.code not in RETRIED_STATUSES:
                break
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            problem = f"{where} did not answer ({type(reason).__name__})"
    raise DeliveryError(f"{problem} after {attempt + 1} attempt(s)")


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _mark_delivered(batch: Batch, requests: int) -> None:
    partial = batch.folder / f".{DELIVERED}.partial"
    partial.write_text(
        json.dumps({"delivered_at": datetime.now(UTC).isoformat(), "requests": requests}) + "\n"
    )
    fsync(partial)
    partial.replace(batch.folder / DELIVERED)
