"""`python -m dagster_project.erase`: erase customers (docs/privacy.md#erasure).

    python -m dagster_project.erase --customer-id C00000042 --email someone@example.com
    python -m dagster_project.erase --requests-file requests.csv

Requests given on the command line are written to a requests file beside the warehouse (readable
by its owner only); either way the `erase` job runs on the Dagster instance of DAGSTER_HOME, so
that its storage is redacted too and the run shows in the UI, and deletes the requests file once
done. Identifiers never enter the run's configuration, its log or the terminal.
"""

import argparse
import csv
import os
import sys
import uuid
from pathlib import Path

from dagster import DagsterInstance

from dagster_project.defs.erasure import ERASE_JOB
from dagster_project.lib.settings import REPO_ROOT, Settings
from dagster_project.run import run_job, why_it_stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.erase", description=__doc__)
    parser.add_argument("--customer-id", action="append", default=[], help="repeatable")
    parser.add_argument("--email", action="append", default=[], help="repeatable")
    parser.add_argument("--requests-file", type=Path, help="CSV: customer_id and/or email")
    arguments = parser.parse_args(argv)
    if not (arguments.customer_id or arguments.email or arguments.requests_file):
        parser.error("name at least one --customer-id, --email or --requests-file")
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home"))
    settings = Settings.from_env()
    files = [arguments.requests_file] if arguments.requests_file else []
    if arguments.customer_id or arguments.email:
        files.append(_write_requests(settings.warehouse_path.parent, arguments))
    with DagsterInstance.get() as instance:
        for requests_file in files:
            result = run_job(
                settings,
                instance,
                ERASE_JOB,
                {"erase_customers": {"config": {"requests_file": str(requests_file.resolve())}}},
            )
            if not result.success:
                print(f"\nRun {result.run_id} failed.\n{why_it_stopped(result)}", file=sys.stderr)
                return 1
            print(f"Erasure done (run {result.run_id}); see segments.erasure_log.")
    return 0


def _write_requests(folder: Path, arguments: argparse.Namespace) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"erasure-requests-{uuid.uuid4().hex}.csv"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "email"])
        writer.writerows([customer, ""] for customer in arguments.customer_id)
        writer.writerows(["", email] for email in arguments.email)
    return path


if __name__ == "__main__":
    sys.exit(main())
