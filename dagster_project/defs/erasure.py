"""The `erase` job: the right to erasure (docs/privacy.md#erasure).

It reads a requests file (customer ids and/or emails), erases those customers from the warehouse,
the files beside it, Dagster's storage and the snapshot (dagster_project/lib/erasure/), then
deletes the requests file, which holds the very identifiers it was asked to forget. The run's
configuration names only the file; its log and metadata hold counts and keyed hashes only.
"""

from pathlib import Path

import pandas as pd
from dagster import (
    AssetMaterialization,
    Config,
    Failure,
    MetadataValue,
    OpExecutionContext,
    in_process_executor,
    job,
    op,
)

from dagster_project.defs.jobs import WRITES_WAREHOUSE
from dagster_project.defs.metadata import markdown_table
from dagster_project.defs.resources import AudiencesResource, ServingResource, WarehouseResource
from dagster_project.lib.erasure.erase import ErasurePaths, erase
from dagster_project.lib.erasure.requests import ErasureRequestError, read_requests
from dagster_project.lib.names import ERASURE_LOG

ERASE_JOB = "erase"


class ErasureRequests(Config):
    requests_file: str
    """CSV with a customer_id and/or an email column, one request per row; deleted once done."""


@op(name="erase_customers")
def erase_customers(
    context: OpExecutionContext,
    config: ErasureRequests,
    warehouse: WarehouseResource,
    serving: ServingResource,
    audiences: AudiencesResource,
) -> None:
    path = Path(config.requests_file)
    try:
        request = read_requests(path)
    except ErasureRequestError as error:
        raise Failure(description=str(error)) from None
    if not request:
        raise Failure(description=f"{path}: no erasure request in it; nothing was erased.")
    instance = context.instance
    report = erase(
        ErasurePaths(
            warehouse=Path(warehouse.path),
            snapshot=Path(serving.path),
            dagster_home=None if instance.is_ephemeral else Path(instance.root_directory),
            memory_limit=warehouse.memory_limit,
            outbox=audiences.outbox,
        ),
        request,
        context.run_id,
    )
    path.unlink()
    context.log.info(
        f"Erased {report.customers_found} customers for {report.requests} requests "
        f"({sum(report.rows_removed.values())} rows, {report.files_redacted} files redacted); "
        f"the requests file was deleted."
    )
    removed = sorted(report.rows_removed.items())
    context.log_event(
        AssetMaterialization(
            asset_key=ERASURE_LOG,
            description="Customers erased, by keyed hash; rows removed per table.",
            metadata={
                "requests": MetadataValue.int(report.requests),
                "customers_found": MetadataValue.int(report.customers_found),
                "request_hashes": MetadataValue.text(", ".join(report.request_hashes)),
                "files_redacted": MetadataValue.int(report.files_redacted),
                "snapshot_published": MetadataValue.bool(report.snapshot_published),
                "rows_removed": markdown_table(pd.DataFrame(removed, columns=["table", "rows"])),
            },
        )
    )


@job(name=ERASE_JOB, executor_def=in_process_executor, tags=WRITES_WAREHOUSE)
def erase_job() -> None:
    """Erase customers named in a requests file from every table, file and log, and suppress
    them in later deliveries (docs/privacy.md#erasure)."""
    erase_customers()
