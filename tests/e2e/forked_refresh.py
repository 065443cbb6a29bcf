"""`python -m dagster_project.run --job JOB` as a process forked from a server that imported the
project once, so that each of the crash test's attempts does not spend ~10 s importing Dagster,
dbt and GX again. The child is a refresh like any other: its own process group (with its dbt
subprocess), its own environment, `main` from the top, output to a log file.
"""

import multiprocessing
import os
import sys
from pathlib import Path

from dagster_project import run

_FORKSERVER = multiprocessing.get_context("forkserver")
_FORKSERVER.set_forkserver_preload([run.__name__])


def _refresh(job: str, environment: dict[str, str], log: str) -> None:
    os.setsid()
    os.environ.clear()
    os.environ.update(environment)
    output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(output, sys.stdout.fileno())
    os.dup2(output, sys.stderr.fileno())
    sys.exit(run.main(["--job", job]))


def start_refresh(job: str, environment: dict[str, str], log: Path) -> multiprocessing.Process:
    """The refresh, started; kill it with os.killpg(process.pid, ...)."""
    process = _FORKSERVER.Process(target=_refresh, args=(job, environment, str(log)))
    process.start()
    return process
