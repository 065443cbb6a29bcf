"""What the landing sensor watches: the files a refresh would read, which of them are complete,
and how the set changed since the last look."""

from pathlib import Path

from dagster_project.lib.ingest.contract import RAW_SOURCES
from dagster_project.lib.ingest.landing_files import landing_files
from dagster_project.lib.ingest.mapping import Mapping

PARQUET_MAGIC = b"PAR1"


def watched_files(landing_dir: Path, mapping: Mapping | None) -> list[Path]:
    """The files a refresh would read: the landing folder's, or those the source mapping names."""
    if mapping is None:
        return [path for source in RAW_SOURCES for path in landing_files(landing_dir, source)]
    return sorted({path for source in mapping.sources for path in source.files.paths()})


def is_complete(path: Path, settle_seconds: float, now: float) -> bool:
    """Written to the end: untouched for `settle_seconds`, and, for Parquet, with the format's
    magic bytes at both ends (a writer adds the footer last)."""
    stat = path.stat()
    if now - stat.st_mtime < settle_seconds:
        return False
    if path.suffix.lower() != ".parquet":
        return True
    if stat.st_size < 2 * len(PARQUET_MAGIC):
        return False
    with path.open("rb") as file:
        head = file.read(len(PARQUET_MAGIC))
        file.seek(-len(PARQUET_MAGIC), 2)
        return head == PARQUET_MAGIC and file.read() == PARQUET_MAGIC


def landing_state(files: list[Path], settle_seconds: float, now: float) -> dict[str, str]:
    """path -> size and modification time, of the complete files only."""
    state = {}
    for path in files:
        if is_complete(path, settle_seconds, now):
            stat = path.stat()
            state[str(path)] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return state


def describe_change(before: dict[str, str], after: dict[str, str]) -> str:
    """New, changed and removed files by name; empty when nothing changed."""
    added = [Path(p).name for p in after if p not in before]
    changed = [Path(p).name for p in after if p in before and before[p] != after[p]]
    removed = [Path(p).name for p in before if p not in after]
    parts = [
        f"{label}: {', '.join(names)}"
        for label, names in (("new", added), ("changed", changed), ("removed", removed))
        if names
    ]
    return "; ".join(parts)
