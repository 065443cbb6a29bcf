"""The outbox: per audience and run, a batch folder with the full list and the changes since the
last export, as CSV and Parquet, and a manifest.

    <outbox>/<audience>/<as-of date>_<run id prefix>/
        members.csv  members.parquet    everyone exported this run (the treated arm)
        added.csv    added.parquet      new since the last export
        removed.csv  removed.parquet    in the last export, not in this one
        manifest.json                   audience, run, counts, each file's rows and SHA-256

Every file is written aside (a hidden `.partial` name in the same folder), checked, flushed to
disk and renamed in; the manifest comes last, so a batch with a manifest is complete and a reader
(or a destination's sync) takes only those. Before any file is renamed in, each one is read back
and refused when it names a customer who may not be activated (`excluded`): the files are what
leaves, so they are what is checked.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dagster_project.lib.durable_files import fsync

MANIFEST = "manifest.json"
LISTS = ("members", "added", "removed")
FORMATS = ("csv", "parquet")


class ExcludedCustomerError(RuntimeError):
    """An export file named a customer who may not be activated; nothing was renamed in."""


@dataclass(frozen=True)
class Batch:
    folder: Path
    manifest: dict

    @property
    def name(self) -> str:
        return f"{self.folder.parent.name}/{self.folder.name}"


def write_batch(
    outbox: Path,
    audience: str,
    batch_name: str,
    lists: dict[str, pd.DataFrame],
    manifest: dict,
    excluded: Callable[[pd.Series], pd.Series],
) -> Batch:
    """Writes `lists` (LISTS -> customer_id and the other identifiers) and the manifest into a
    new batch folder. `excluded(customer_ids)` says which of them may not be activated; a file
    holding any of them stops the batch with ExcludedCustomerError (counts, never ids)."""
    folder = outbox / audience / batch_name
    for path in (outbox, outbox / audience, folder):  # readable by the owner only
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    partials: dict[Path, Path] = {}
    files = {}
    try:
        for name in LISTS:
            for file_format in FORMATS:
                final = folder / f"{name}.{file_format}"
                partial = folder / f".{final.name}.partial"
                _write(lists[name], partial, file_format)
                written = _read(partial, file_format)
                refused = int(excluded(written["customer_id"]).sum())
                if refused:
                    raise ExcludedCustomerError(
                        f"audience '{audience}': {final.name} would name {refused} customer(s) "
                        "who may not be activated (no marketing consent, erased or no longer "
                        "profiled); nothing of this batch was published"
                    )
                partials[partial] = final
                files[final.name] = {"rows": len(written), "sha256": _sha256(partial)}
        for partial, final in partials.items():
            partial.replace(final)
        _write_manifest(folder, {**manifest, "files": files})
    finally:
        for partial in partials:
            partial.unlink(missing_ok=True)
        for leftover in folder.glob(".*.partial"):
            leftover.unlink()
    return Batch(folder, json.loads((folder / MANIFEST).read_text()))


def batches(outbox: Path, audience: str) -> list[Batch]:
    """The audience's complete batches (those with a manifest), oldest first."""
    folder = outbox / audience
    if not folder.is_dir():
        return []
    return [
        Batch(path, json.loads((path / MANIFEST).read_text()))
        for path in sorted(folder.iterdir())
        if (path / MANIFEST).is_file()
    ]


def remove_customers(outbox: Path, customer_ids: list[str]) -> int:
    """Erasure: rewrites every batch file that names one of `customer_ids` without their rows
    (aside, then renamed in), and its manifest with the new rows and checksums and how many rows
    erasure took out. Returns the files rewritten. Runs before the erasure's text redaction,
    which would otherwise corrupt a Parquet file by replacing bytes inside it."""
    erased = set(customer_ids)
    rewritten = 0
    for manifest_path in sorted(outbox.glob(f"*/*/{MANIFEST}")) if outbox.is_dir() else []:
        folder = manifest_path.parent
        manifest = json.loads(manifest_path.read_text())
        for name in LISTS:
            for file_format in FORMATS:
                path = folder / f"{name}.{file_format}"
                frame = _read(path, file_format)
                kept = frame[~frame["customer_id"].isin(erased)]
                if len(kept) == len(frame):
                    continue
                partial = folder / f".{path.name}.partial"
                _write(kept, partial, file_format)
                partial.replace(path)
                manifest["files"][path.name] = {"rows": len(kept), "sha256": _sha256(path)}
                if file_format == "parquet":  # the same rows as the list's CSV
                    removed = manifest.get("rows_removed_by_erasure", 0)
                    manifest["rows_removed_by_erasure"] = removed + len(frame) - len(kept)
                rewritten += 1
        _write_manifest(folder, manifest)
    return rewritten


def read_list(batch: Batch, name: str) -> pd.DataFrame:
    return pq.read_table(batch.folder / f"{name}.parquet").to_pandas()


def _write(frame: pd.DataFrame, path: Path, file_format: str) -> None:
    if file_format == "csv":
        frame.to_csv(path, index=False)
    else:
        schema = pa.schema([(column, pa.string()) for column in frame.columns])
        pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), path)
    path.chmod(0o600)
    fsync(path)


def _read(path: Path, file_format: str) -> pd.DataFrame:
    if file_format == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    return pq.read_table(path).to_pandas()


def _write_manifest(folder: Path, manifest: dict) -> None:
    partial = folder / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    partial.chmod(0o600)
    fsync(partial)
    partial.replace(folder / MANIFEST)
    fsync(folder)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
