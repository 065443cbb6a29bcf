"""`python -m dagster_project.rotate_key [--new-random-key]`: re-hash every email and phone with
another pseudonymisation key.

The new key is SEG_PII_HASH_KEY when set; otherwise the key file beside the warehouse, which
`--new-random-key` first replaces with a fresh random key (the old one is not needed: the raw
values are hashed again). The rotation is marked in the warehouse, then a full refresh rebuilds
every hash from the raw values and records the new key's fingerprint; until it has succeeded the
warehouse refuses any other key (dagster_project/lib/pii_key.py). Run it while no other refresh
runs; it takes the warehouse lock like any run.
"""

import argparse
import os
import secrets
import sys

from dagster import DagsterInstance

from dagster_project.lib import pii_key, warehouse_lock
from dagster_project.lib.duckdb_files import connect
from dagster_project.lib.settings import REPO_ROOT, Settings
from dagster_project.run import run_job, why_it_stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dagster_project.rotate_key", description=__doc__
    )
    parser.add_argument(
        "--new-random-key",
        action="store_true",
        help="replace the key file beside the warehouse with a new random key first",
    )
    new_random_key = parser.parse_args(argv).new_random_key
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home"))
    settings = Settings.from_env()
    if new_random_key:
        if os.environ.get(pii_key.KEY_VARIABLE):
            print(
                f"Refused: {pii_key.KEY_VARIABLE} is set; unset it to use a key file.",
                file=sys.stderr,
            )
            return 2
        path = pii_key.key_file(settings.warehouse_path)
        staged = path.with_suffix(".new")
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
        staged.replace(path)
    key = pii_key.resolve_key(settings.warehouse_path)
    holder = "rotate_key marking the rotation"
    with (
        warehouse_lock.held(settings.warehouse_path, holder, print),
        connect(settings.warehouse_path, settings.duckdb_memory_limit) as conn,
    ):
        pii_key.mark_rotation(conn, key)
    print(f"Rotating to the key of fingerprint {key.fingerprint} ({key.source}): full refresh.")
    with DagsterInstance.get() as instance:
        result = run_job(settings, instance)
    if not result.success:
        print(f"\nRun {result.run_id} failed.\n{why_it_stopped(result)}", file=sys.stderr)
        return 1
    print(f"Every hash now uses the key of fingerprint {key.fingerprint}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
