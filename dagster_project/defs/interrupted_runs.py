"""Runs whose process died without ending them: killed, out of memory, the machine restarted.

Such a run stays STARTED in Dagster's run storage and keeps its slot of the `duckdb_warehouse`
pool, so every later run would wait for that slot forever. Each run is tagged with the host,
process id and process start time executing it (when the warehouse resource starts); a run whose
process is gone (no such pid, or the pid now belongs to a process started later) is marked
failed (which the run-failure alerts record) and its pool slots are freed. `make run` does
this before it starts, and the `interrupted_runs` sensor every minute for the daemon's runs.
The warehouse itself needs nothing: DuckDB replays or discards the dead writer's log on the next
open, and every publish was one transaction.
"""

import os
import socket

import psutil
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from dagster_project.lib.names import PROCESS_TAG

UNFINISHED = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def process_tag(pid: int | None = None) -> dict[str, str]:
    """<host>:<pid>:<start time>: the start time tells a reused pid from the run's process."""
    pid = pid or os.getpid()
    started = psutil.Process(pid).create_time()
    return {PROCESS_TAG: f"{socket.gethostname()}:{pid}:{started:.2f}"}


def process_is_gone(tag: str) -> bool:
    """Only for processes of this host. Tags without a start time (older runs) compare the pid
    only."""
    host, pid, started = [*tag.split(":"), ""][:3]
    if host != socket.gethostname():
        return False
    try:
        process = psutil.Process(int(pid))
        return bool(started) and f"{process.create_time():.2f}" != started
    except psutil.NoSuchProcess:
        return True


def fail_interrupted_runs(instance: DagsterInstance) -> list[str]:
    """Marks unfinished runs whose process is gone as failed and frees their pool slots;
    returns their run ids."""
    interrupted = []
    for record in instance.get_run_records(RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        tag = run.tags.get(PROCESS_TAG)
        if tag is None or not process_is_gone(tag):
            continue
        instance.report_run_failed(
            run,
            f"Interrupted: the process that ran it ({tag}) is gone (killed, out of memory or "
            "restarted). Its warehouse writes were rolled back; its pool slot is freed.",
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        interrupted.append(run.run_id)
    return interrupted
