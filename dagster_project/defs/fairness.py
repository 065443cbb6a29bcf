"""The fairness audit of the published segments (ml/fairness.py) into segments.fairness_audit, and
its check: a flagged segment warns, or stops the snapshot publish when SEG_FAIRNESS_BLOCKING=1."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from dagster_project.defs.metadata import markdown_table, table_metadata
from dagster_project.defs.model_report import image
from dagster_project.defs.resources import SegmentationResource, WarehouseResource
from dagster_project.lib.names import (
    CUSTOMER_SEGMENTS,
    FAIRNESS_AUDIT,
    SEGMENTS_SCHEMA,
    WAREHOUSE_POOL,
)
from dagster_project.lib.segment_store.fairness import (
    flagged_rows,
    read_audit_inputs,
    replace_audit,
)
from ml import plots
from ml.fairness import audit

SEGMENTS_ARE_FAIR = "no_flagged_group"
SHOWN_COLUMNS = [
    "attribute",
    "group",
    "segment_id",
    "customers_in_group",
    "share_in_segment",
    "share_overall",
    "selection_rate_ratio",
    "p_value",
]


@asset(
    name=FAIRNESS_AUDIT,
    deps=[AssetKey(CUSTOMER_SEGMENTS)],
    group_name="segmentation",
    kinds={"duckdb", "scikit-learn"},
    pool=WAREHOUSE_POOL,
)
def fairness_audit(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    segmentation: SegmentationResource,
) -> MaterializeResult:
    """For each segment and protected attribute group: share in the segment against share
    overall, selection-rate ratio against everyone else (four-fifths rule, fairlearn), Fisher's
    exact test, and per attribute chi-square with Cramér's V; flagged rows are outside [0.8, 1.25]
    and significant after Bonferroni."""
    config = segmentation.config()
    with warehouse.connect(read_only=True) as conn:
        segments, demographics, version, as_of_date = read_audit_inputs(
            conn, config.protected_attributes
        )
    table = audit(segments, demographics, config)
    with warehouse.connect() as conn:
        replace_audit(conn, table, version, as_of_date)
        metadata = table_metadata(conn, SEGMENTS_SCHEMA, FAIRNESS_AUDIT)
    flagged = table[table["flagged"]] if len(table) else table
    context.log.info(f"Fairness audit: {len(flagged)} of {len(table)} rows flagged")
    return MaterializeResult(
        metadata={
            **metadata,
            "flagged": MetadataValue.int(len(flagged)),
            "flagged_rows": markdown_table(
                flagged[SHOWN_COLUMNS].round(4) if len(flagged) else flagged
            ),
            "cramers_v": markdown_table(
                table.groupby("attribute")[["cramers_v", "attribute_p_value"]]
                .first()
                .round(4)
                .reset_index()
            )
            if len(table)
            else MetadataValue.text("no protected attribute in customer_features"),
            "selection_rate_ratios": image(plots.fairness_ratios(table))
            if len(table)
            else MetadataValue.text("nothing to plot"),
        }
    )


def build_fairness_check(blocking: bool) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey(FAIRNESS_AUDIT),
        name=SEGMENTS_ARE_FAIR,
        blocking=blocking,
        description="No segment selects a protected group at a rate outside [0.8, 1.25] of "
        "everyone else's with significance (Bonferroni); "
        + ("blocking: a flag stops the snapshot publish." if blocking else "warns."),
        pool=WAREHOUSE_POOL,
    )
    def no_flagged_group(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        with warehouse.connect(read_only=True) as conn:
            flagged = flagged_rows(conn)
        return AssetCheckResult(
            passed=flagged.empty,
            severity=AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN,
            description=None
            if flagged.empty
            else f"{len(flagged)} flagged: "
            + "; ".join(
                f"{row.attribute} {row.group} in segment {row.segment_id} "
                f"(ratio {row.selection_rate_ratio:.2f})"
                for row in flagged.head(10).itertuples()
            ),
            metadata={"flagged_rows": markdown_table(flagged.round(4))},
        )

    return no_flagged_group
