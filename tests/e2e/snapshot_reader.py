"""A SQL user in another process: reads the published snapshot in a loop until told to stop.

    python -m tests.e2e.snapshot_reader SNAPSHOT STOP_FILE REPORT_JSON

Each read opens the snapshot read-only, as a BI tool would, and checks that what it sees is one
publication: every customer_segments row has the published model version, and the segment sizes
in segment_profiles equal the counts in customer_segments. The report lists the versions seen,
how many reads were made, and every error and inconsistency.
"""

import json
import sys
import time
from pathlib import Path

import duckdb

INCONSISTENT_SEGMENTS = """
with counted as (
    select segment_id, count(*) as customers
    from segments.customer_segments group by segment_id
)
select count(*)
from segments.segment_profiles as p
full outer join counted as c using (segment_id)
where p.customers is distinct from c.customers
"""


def read_once(snapshot: Path) -> tuple[str, list[str]]:
    """The model version this read saw, and what was inconsistent about it."""
    with duckdb.connect(str(snapshot), read_only=True) as conn:
        version = conn.execute("select model_version from segments.published").fetchone()[0]
        problems = []
        other_versions = conn.execute(
            "select count(*) from segments.customer_segments where model_version <> ?", [version]
        ).fetchone()[0]
        if other_versions:
            problems.append(f"{other_versions} customer_segments rows of another model")
        profile_versions = conn.execute(
            "select list(distinct model_version) from segments.segment_profiles"
        ).fetchone()[0]
        if profile_versions != [version]:
            problems.append(f"segment_profiles of {profile_versions}, published {version}")
        mismatched = conn.execute(INCONSISTENT_SEGMENTS).fetchone()[0]
        if mismatched:
            problems.append(f"{mismatched} segments whose profile size is not their count")
        return version, problems


def main(snapshot: Path, stop_file: Path, report: Path) -> None:
    reads, versions, errors = 0, [], []
    while not stop_file.exists():
        try:
            version, problems = read_once(snapshot)
        except duckdb.Error as error:
            errors.append(f"{type(error).__name__}: {error}")
        else:
            errors.extend(problems)
            if not versions or versions[-1] != version:
                versions.append(version)
        reads += 1
        time.sleep(0.2)  # a dashboard refreshing often, not a busy loop starving the refresh
    report.write_text(json.dumps({"reads": reads, "versions": versions, "errors": errors}))


if __name__ == "__main__":
    main(*map(Path, sys.argv[1:4]))
