"""Training, end to end on a features frame: preprocess, search, match identities, explain, name.

Pure: takes a DataFrame (one row per customer) and the previous run (its assignments and model),
returns a model and its report. Usable from a notebook as well as from the Dagster assets.
"""

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from ml import drift
from ml.candidates import CandidateFitter
from ml.config import SegmentationConfig
from ml.explain import (
    CrossValidation,
    assigner_classifier,
    assigner_pipeline,
    cross_validate,
    explainer_tree,
    importances,
    segment_rules,
)
from ml.identity import Matching, match_segments, relabel, stability_ari
from ml.membership import Membership, fit_membership, membership_probability
from ml.model import Segment, SegmentationModel
from ml.preprocessing import build_preprocessor, evidence_columns, model_features, prepare_frame
from ml.profiles import (
    TYPICAL,
    NameEvidence,
    describe_segment,
    name_evidence,
    name_phrases,
    profile_table,
    segment_names,
    standardised_differences,
)
from ml.search import Incumbent, SearchResult, search


@dataclass(frozen=True)
class PreviousRun:
    """What identity matching needs from the last published segmentation."""

    assignments: pd.Series  # customer id -> segment id
    names: dict[int, str]  # segment id -> name
    next_id: int  # smallest segment id never used
    model: SegmentationModel  # the model that produced `assignments`


@dataclass(frozen=True)
class TrainingReport:
    model: SegmentationModel
    search: SearchResult
    matrix: np.ndarray  # the training customers in clustering space (for plots)
    labels: pd.Series  # training customer id -> segment id
    profiles: pd.DataFrame
    explainer_cv: CrossValidation
    assigner_cv: CrossValidation  # assignment fidelity: how well the assigner reproduces them
    membership: Membership
    importances: pd.Series
    dropped_features: dict[str, tuple[str, float]]
    matching: Matching
    stability_ari: float | None


def train(
    features: pd.DataFrame,
    config: SegmentationConfig,
    version: str,
    previous: PreviousRun | None = None,
) -> TrainingReport:
    columns = model_features(features, config)
    read = columns + evidence_columns(features, columns, config)
    categorical = [name for name in columns if name in config.categorical_features]
    preprocessor = build_preprocessor(columns, config)
    prepared = prepare_frame(features, read, categorical)
    space = preprocessor.fit_transform(prepared)
    matrix = space.to_numpy()
    customers = pd.Index(features["customer_id"])
    found = search(matrix, config, _incumbent(features, previous))

    clusters = pd.Series(found.labels, index=customers)
    matching = match_segments(
        previous.assignments if previous else None,
        clusters,
        config.min_identity_overlap,
        previous.next_id if previous else 1,
    )
    labels = pd.Series(relabel(found.labels, matching.segment_ids), index=customers)
    segment_ids = labels.to_numpy()

    explain_features = [name for name in columns if name not in categorical]
    inputs = features[explain_features].astype(float).reset_index(drop=True)
    # The tree, profiles and names read rates weighted by their evidence, as the model does:
    # a rule or a name on raw one-order rates would describe what the segments ignore.
    weighted = preprocessor.named_steps["credibility"].weighted(prepared)[explain_features]
    weighted = weighted.astype(float).reset_index(drop=True)
    explainer = explainer_tree(config).fit(weighted, segment_ids)
    classifier = assigner_classifier().fit(space, segment_ids)
    assigner = assigner_pipeline(preprocessor, classifier, read, categorical)
    rows = _sample_positions(len(inputs), config.cv_sample, config.random_state)
    explainer_cv = cross_validate(explainer, weighted.iloc[rows], segment_ids[rows], config)
    # The preprocessing learnt no labels: only the classifier is refitted fold by fold.
    assigner_cv = cross_validate(classifier, space.iloc[rows], segment_ids[rows], config)
    rows = _sample_positions(len(matrix), config.search_sample, config.random_state)
    with tempfile.TemporaryDirectory(prefix="membership-") as cache_dir:
        membership = fit_membership(
            CandidateFitter(config, cache_dir),
            found.chosen.algorithm,
            found.chosen.params,
            matrix[rows],
            segment_ids[rows],
            classifier.predict_proba(space.iloc[rows]),
        )
    rows = _sample_positions(len(inputs), config.importance_sample, config.random_state)
    ranked_features = importances(assigner, features[read].iloc[rows], segment_ids[rows], config)

    by_position = pd.Series(segment_ids)  # aligned with `inputs`, which has a fresh index
    profiles = profile_table(weighted, by_position)
    differences = standardised_differences(weighted, by_position)
    evidence = name_evidence(weighted, by_position, config.min_name_effect)
    segments = _segments(
        profiles, differences, evidence, segment_rules(explainer, explain_features), previous
    )
    ari = stability_ari(previous.assignments if previous else None, labels)
    model = SegmentationModel(
        version=version,
        features=read,
        explain_features=explain_features,
        preprocessor=preprocessor,
        assigner=assigner,
        explainer=explainer,
        segments=segments,
        drift_reference=drift.reference(inputs, explain_features, by_position),
        membership=membership.model,
        metrics={
            "trained_at": datetime.now(UTC).isoformat(),
            "algorithm": found.chosen.algorithm,
            "params": found.chosen.params,
            "chosen_because": found.reason,
            "n_customers": len(features),
            "features": columns,
            "data_fingerprint": _fingerprint(features[["customer_id", *columns]]),
            "training_fingerprint": training_fingerprint(features, config),
            **{name: found.chosen.scores.get(name) for name in _SCORES},
            "stability_ari": ari,
            "min_separation": found.chosen.scores.get("min_separation"),
            "explainer_macro_f1": explainer_cv.macro_f1,
            "assignment_fidelity_macro_f1": assigner_cv.macro_f1,
            "membership_calibration_error": membership.calibration_error,
            "median_membership_probability": float(
                np.median(membership_probability(membership.model, classifier.predict_proba(space)))
            ),
        },
    )
    return TrainingReport(
        model=model,
        search=found,
        matrix=matrix,
        labels=labels,
        profiles=profiles,
        explainer_cv=explainer_cv,
        assigner_cv=assigner_cv,
        membership=membership,
        importances=ranked_features,
        dropped_features=preprocessor.named_steps["deduplicate"].dropped_,
        matching=matching,
        stability_ari=ari,
    )


_SCORES = ("silhouette", "calinski_harabasz", "davies_bouldin", "stability")


def _fingerprint(frame: pd.DataFrame) -> str:
    """A hash of the training rows: equal fingerprints mean the model saw the same data."""
    return f"{int(pd.util.hash_pandas_object(frame, index=False).sum()) & (2**64 - 1):016x}"


def training_fingerprint(features: pd.DataFrame, config: SegmentationConfig) -> str:
    """A hash of everything training reads: every column of every training row and every
    setting. A model whose fingerprint equals this one was trained on exactly this input, so the
    refresh reuses it instead of training again: the same data gives the same segments, and
    customers do not move because a refit drew other random numbers."""
    settings = hashlib.sha256(repr(config).encode()).hexdigest()[:16]
    return f"{_fingerprint(features)}-{settings}"


def _incumbent(features: pd.DataFrame, previous: PreviousRun | None) -> Incumbent | None:
    """The previous model and the segment it gives each of this run's customers; None when it
    reads a feature this data no longer has."""
    if previous is None or not set(previous.model.explain_features) <= set(features.columns):
        return None
    metrics = previous.model.metrics
    labels = previous.model.assign(features)["segment_id"].to_numpy()
    return Incumbent(metrics["algorithm"], metrics["params"], labels)


def _sample_positions(total: int, size: int, seed: int) -> np.ndarray:
    if total <= size:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, size=size, replace=False))


def _still_true(name: str | None, evidence: list[NameEvidence]) -> bool:
    """Whether every phrase of a previous name is still supported by this data's evidence."""
    if not name:
        return False
    supported = {item.phrase.lower() for item in evidence} or {TYPICAL.lower()}
    return set(name_phrases(name)) <= supported


def _segments(
    profiles: pd.DataFrame,
    differences: pd.DataFrame,
    evidence: dict[object, list[NameEvidence]],
    rules: dict[object, str],
    previous: PreviousRun | None,
) -> dict[int, Segment]:
    """Matched segments keep their previous names while the data still supports every word of
    them; other segments are named from their evidence."""
    kept = previous.names if previous else {}
    generated = segment_names(evidence)
    names: dict[int, str] = {}
    for segment_id in profiles.index:
        previous_name = kept.get(int(segment_id))
        name = previous_name if _still_true(previous_name, evidence[segment_id]) else None
        name = name or generated[segment_id]
        names[int(segment_id)] = name if name not in names.values() else f"{name} {segment_id}"
    return {
        segment_id: Segment(
            segment_id=segment_id,
            name=name,
            description=describe_segment(
                profiles.loc[segment_id], differences.loc[segment_id], rules.get(segment_id)
            ),
            rule=rules.get(segment_id, ""),
            name_evidence=[
                item.as_dict()
                for item in evidence[segment_id]
                if item.phrase.lower() in name_phrases(name)
            ],
        )
        for segment_id, name in names.items()
    }
