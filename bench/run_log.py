"""What the benchmark reads from a Dagster run's event log: each step's time and peak memory,
dbt's own timings, and the prediction assets' fitting and scoring time."""

from dataclasses import dataclass

from dagster import DagsterEventType, EventLogEntry

from bench.process_memory import ProcessTreeMemory
from dagster_project.lib.names import MODEL_SECONDS

DBT_STEP = "dbt_models"
GIB = 2**30


@dataclass(frozen=True)
class Stage:
    step: str
    seconds: float
    peak_rss_gib: float


def run_stages(log: list[EventLogEntry], memory: ProcessTreeMemory) -> list[Stage]:
    """Each step of the run in the order it finished, with its wall time and the peak RSS of
    the process tree while it ran."""
    starts: dict[str, float] = {}
    stages = []
    for entry in log:
        event = entry.dagster_event
        if event.event_type == DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        elif event.event_type == DagsterEventType.STEP_SUCCESS:
            start = starts[event.step_key]
            stages.append(
                Stage(
                    step=event.step_key,
                    seconds=round(event.event_specific_data.duration_ms / 1000, 1),
                    peak_rss_gib=round(memory.peak_bytes(start, entry.timestamp) / GIB, 2),
                )
            )
    return stages


def dbt_node_seconds(log: list[EventLogEntry]) -> dict[str, float]:
    """dbt's own timing of its models and of its data tests (as Dagster asset checks); the rest
    of the dbt step is starting dbt, parsing the project and the unit tests."""
    models = tests = 0.0
    for event in (entry.dagster_event for entry in log):
        if event.step_key != DBT_STEP:
            continue
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            metadata = event.event_specific_data.materialization.metadata
            models += _duration(metadata)
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            tests += _duration(event.event_specific_data.metadata)
    return {"models_seconds": round(models, 1), "tests_seconds": round(tests, 1)}


def prediction_model_seconds(log: list[EventLogEntry]) -> float:
    """Seconds the prediction assets spent fitting and scoring (their MODEL_SECONDS metadata),
    apart from rebuilding and validating the point-in-time features."""
    total = 0.0
    for event in (entry.dagster_event for entry in log):
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            value = event.event_specific_data.materialization.metadata.get(MODEL_SECONDS)
            total += float(value.value) if value is not None else 0.0
    return round(total, 1)


def _duration(metadata: dict) -> float:
    value = metadata.get("Execution Duration")
    return float(value.value) if value is not None else 0.0
