"""What the segmentation_model materialization shows in the Dagster UI: the choice and its
candidates, segment quality (separation, stability) apart from assignment fidelity (how well the
assigner reproduces the segments), the membership probability's calibration, the evidence behind
every name, how rates were weighted, and the plots."""

import base64

import pandas as pd
from dagster import MetadataValue

from dagster_project.defs.metadata import markdown_table
from ml import plots
from ml.train import TrainingReport


def image(png: bytes) -> MetadataValue:
    return MetadataValue.md(f"![plot](data:image/png;base64,{base64.b64encode(png).decode()})")


def _segments(report: TrainingReport, sizes: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "segment_id": segment.segment_id,
                "name": segment.name,
                "training_customers": int(sizes.get(segment.segment_id, 0)),
                "description": segment.description,
            }
            for segment in report.model.segments.values()
        ]
    )


def _name_evidence(report: TrainingReport) -> pd.DataFrame:
    rows = [
        {"segment_id": segment.segment_id, "name": segment.name, **evidence}
        for segment in report.model.segments.values()
        for evidence in segment.name_evidence
    ]
    return pd.DataFrame(rows)


def _rate_weighting(report: TrainingReport) -> pd.DataFrame:
    weighting = report.model.preprocessor.named_steps["credibility"]
    return pd.DataFrame(
        {
            "rate": list(weighting.prior_strength_),
            "expected_rate": list(weighting.prior_rate_.values()),
            "prior_strength_in_opportunities": list(weighting.prior_strength_.values()),
            "habit_spread": list(weighting.habit_spread_.values()),
        }
    )


def training_metadata(report: TrainingReport) -> dict[str, MetadataValue]:
    model, found = report.model, report.search
    names = {segment_id: segment.name for segment_id, segment in model.segments.items()}
    sizes = report.labels.value_counts()
    cv = report.explainer_cv.per_segment.assign(segment=lambda f: f["segment"].map(names))
    scores = found.chosen.scores
    return {
        "model_version": MetadataValue.text(model.version),
        "chosen": MetadataValue.text(found.chosen.name),
        "chosen_because": MetadataValue.text(found.reason),
        "candidates": markdown_table(found.table().round(3), max_rows=100),
        "segments": markdown_table(_segments(report, sizes), max_rows=50),
        "name_evidence": markdown_table(_name_evidence(report).round(3), max_rows=100),
        "segment_quality": markdown_table(
            pd.DataFrame(
                [
                    ("silhouette", scores.get("silhouette")),
                    ("bootstrap_stability", scores.get("stability")),
                    ("min_separation_sd", scores.get("min_separation")),
                ],
                columns=["measure", "value"],
            ).round(4)
        ),
        "assignment_fidelity_macro_f1": MetadataValue.float(report.assigner_cv.macro_f1),
        "explainer_macro_f1": MetadataValue.float(report.explainer_cv.macro_f1),
        "explainer_cv_per_segment": markdown_table(cv.round(3), max_rows=50),
        "membership_calibration": markdown_table(report.membership.calibration.round(3)),
        "membership_calibration_error": MetadataValue.float(report.membership.calibration_error),
        "membership_calibration_plot": image(
            plots.membership_calibration(report.membership.calibration)
        ),
        "rate_weighting": markdown_table(_rate_weighting(report).round(4), max_rows=50),
        "permutation_importance": markdown_table(
            report.importances.head(10).round(4).rename("importance").reset_index(), max_rows=10
        ),
        "dropped_near_duplicates": markdown_table(
            pd.DataFrame(
                [(k, *v) for k, v in report.dropped_features.items()],
                columns=["dropped", "duplicate_of", "abs_correlation"],
            ),
            max_rows=50,
        ),
        "stability_ari_vs_previous": MetadataValue.float(report.stability_ari)
        if report.stability_ari is not None
        else MetadataValue.text("first run"),
        "new_segment_ids": MetadataValue.text(str(list(report.matching.new_segments))),
        "training_customers": MetadataValue.int(len(report.labels)),
        "k_selection": image(plots.k_selection_curves(found.table())),
        "segment_map": image(
            plots.segment_map(report.matrix, report.labels.to_numpy(), names, seed=0)
        ),
        "segment_sizes": image(plots.segment_sizes(report.labels.map(names).value_counts())),
    }
