"""Outbox batches are published whole or not at all, and the HTTP destination gets every batch
once, in order, with retries and stable idempotency keys."""

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest

from dagster_project.lib.audiences.audience import HttpDestination
from dagster_project.lib.audiences.delivery import DELIVERED, deliver
from dagster_project.lib.audiences.outbox import (
    ExcludedCustomerError,
    batches,
    read_list,
    remove_customers,
    write_batch,
)

MEMBERS = pd.DataFrame({"customer_id": [f"C{n:04d}" for n in range(25)]})


def lists(members: pd.DataFrame = MEMBERS) -> dict[str, pd.DataFrame]:
    return {"members": members, "added": members.iloc[:20], "removed": members.iloc[20:]}


def nobody(customer_ids: pd.Series) -> pd.Series:
    return pd.Series(False, index=customer_ids.index)


def test_a_batch_has_every_file_and_a_manifest_with_checksums(tmp_path: Path) -> None:
    batch = write_batch(tmp_path, "churners", "2026-11-20_abc", lists(), {"audience": "x"}, nobody)
    names = sorted(path.name for path in batch.folder.iterdir())
    assert names == sorted(
        [f"{n}.{f}" for n in ("members", "added", "removed") for f in ("csv", "parquet")]
        + ["manifest.json"]
    )
    files = batch.manifest["files"]
    assert files["members.csv"]["rows"] == 25 and files["removed.parquet"]["rows"] == 5
    assert pd.read_csv(batch.folder / "added.csv", dtype=str).equals(MEMBERS.iloc[:20])
    assert batches(tmp_path, "churners")[0].folder == batch.folder
    assert {path.stat().st_mode & 0o777 for path in batch.folder.iterdir()} == {0o600}
    assert (tmp_path / "churners").stat().st_mode & 0o777 == 0o700


def test_erasure_rewrites_every_file_that_names_the_customer(tmp_path: Path) -> None:
    write_batch(tmp_path, "churners", "b1", lists(), {"audience": "x"}, nobody)
    write_batch(tmp_path, "churners", "b2", lists(MEMBERS.iloc[:3]), {"audience": "x"}, nobody)
    # b1: members, added and removed name them; b2: members and added; each list twice.
    assert remove_customers(tmp_path, ["C0001", "C0022"]) == 2 * 3 + 2 * 2
    for batch in batches(tmp_path, "churners"):
        for name, entry in batch.manifest["files"].items():
            frame = (
                pd.read_csv(batch.folder / name, dtype=str)
                if name.endswith(".csv")
                else pd.read_parquet(batch.folder / name)
            )
            assert not frame["customer_id"].isin(["C0001", "C0022"]).any()
            assert entry["rows"] == len(frame)
            assert entry["sha256"] == hashlib.sha256((batch.folder / name).read_bytes()).hexdigest()
    first, second = batches(tmp_path, "churners")
    assert first.manifest["rows_removed_by_erasure"] == 2 + 1 + 1
    assert second.manifest["rows_removed_by_erasure"] == 1 + 1


def test_a_file_naming_an_excluded_customer_publishes_nothing(tmp_path: Path) -> None:
    def withdrawn(customer_ids: pd.Series) -> pd.Series:
        return customer_ids == "C0021"  # only in members and removed

    with pytest.raises(ExcludedCustomerError, match="1 customer") as error:
        write_batch(tmp_path, "churners", "b1", lists(), {"audience": "x"}, withdrawn)
    assert "C0021" not in str(error.value)
    assert list((tmp_path / "churners" / "b1").iterdir()) == []
    assert batches(tmp_path, "churners") == []


class Destination(BaseHTTPRequestHandler):
    """Answers 503 to the first `failures` requests, then 200; records what it accepted."""

    failures = 0
    status = 503
    received: ClassVar[list[tuple[str, dict, str]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if Destination.failures > 0:
            Destination.failures -= 1
            self.send_response(Destination.status)
        else:
            key = self.headers["Idempotency-Key"]
            Destination.received.append((key, body, self.headers.get("Authorization", "")))
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def destination() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Destination)
    Destination.received, Destination.failures, Destination.status = [], 0, 503
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/sync"
    server.shutdown()


def test_batches_are_delivered_in_parts_with_retries(tmp_path: Path, destination: str) -> None:
    write_batch(tmp_path, "churners", "b1", lists(), {"audience": "churners"}, nobody)
    target = HttpDestination(destination, batch_size=8, allow_local_http=True)
    Destination.failures = 2
    waits: list[float] = []
    report = deliver(batches(tmp_path, "churners"), target, token="t0ken", sleep=waits.append)
    assert report.failed == "" and report.delivered == ["churners/b1"]
    assert waits == [0.5, 1.0]
    operations = [
        (body["operation"], body["part"], body["parts"]) for _, body, _ in Destination.received
    ]
    assert operations == [("add", 1, 3), ("add", 2, 3), ("add", 3, 3), ("remove", 1, 1)]
    sent = [m["customer_id"] for _, body, _ in Destination.received for m in body["members"]]
    assert sent == [f"C{n:04d}" for n in range(25)]
    assert {auth for _, _, auth in Destination.received} == {"Bearer t0ken"}
    assert len({key for key, _, _ in Destination.received}) == 4
    assert (batches(tmp_path, "churners")[0].folder / DELIVERED).exists()
    assert deliver(batches(tmp_path, "churners"), target).requests == 0


def test_a_refused_batch_stays_in_the_outbox_and_goes_first_next_time(
    tmp_path: Path, destination: str
) -> None:
    write_batch(tmp_path, "churners", "b1", lists(), {"audience": "churners"}, nobody)
    target = HttpDestination(destination, batch_size=100, max_attempts=3, allow_local_http=True)
    Destination.failures, Destination.status = 1, 400
    report = deliver(batches(tmp_path, "churners"), target, sleep=lambda _: None)
    assert report.failed.startswith("batch churners/b1: HTTP 400 from http://127.0.0.1")
    assert "after 1 attempt" in report.failed and "C00" not in report.failed
    assert not (batches(tmp_path, "churners")[0].folder / DELIVERED).exists()

    write_batch(
        tmp_path, "churners", "b2", lists(MEMBERS.iloc[:3]), {"audience": "churners"}, nobody
    )
    report = deliver(batches(tmp_path, "churners"), target, sleep=lambda _: None)
    assert report.delivered == ["churners/b1", "churners/b2"]
    assert [body["batch"] for _, body, _ in Destination.received] == ["churners/b1"] * 2 + [
        "churners/b2"
    ]
    assert read_list(batches(tmp_path, "churners")[1], "members")["customer_id"].tolist() == [
        "C0000",
        "C0001",
        "C0002",
    ]


def test_an_unreachable_destination_is_retried_then_reported(tmp_path: Path) -> None:
    write_batch(tmp_path, "churners", "b1", lists(), {"audience": "churners"}, nobody)
    target = HttpDestination("http://127.0.0.1:9/sync", max_attempts=3, allow_local_http=True)
    waits: list[float] = []
    report = deliver(batches(tmp_path, "churners"), target, sleep=waits.append)
    assert "did not answer" in report.failed and "after 3 attempt" in report.failed
    assert waits == [0.5, 1.0]
