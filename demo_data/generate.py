"""Generate the seven raw sources chunk by chunk, so memory stays bounded as customers grow.

Files are written into a hidden folder beside the output and moved into place only when the whole
data set is complete, so a crash never leaves a half-written file where the pipeline reads.
Output layout: `<out>/<source>/<file_name>` for each source, and the personas' ground truth in
`<out>/_ground_truth/<file_name>` (customer_id, persona), which the pipeline never reads.
"""

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from demo_data.bias import PlantedBias
from demo_data.campaign_effect import EFFECT_STREAM, PlantedCampaignEffect
from demo_data.campaigns import draw_campaign_events
from demo_data.catalog import build_catalog
from demo_data.dirt import DirtRates, plant_dirt
from demo_data.ids import IdSequence
from demo_data.orders import draw_orders
from demo_data.population import customers_frame, draw_population
from demo_data.social import draw_social_interactions
from demo_data.timeline import Timeline
from demo_data.web import draw_web_events

SOURCES: tuple[str, ...] = (
    "customers",
    "products",
    "orders",
    "order_items",
    "web_events",
    "campaign_events",
    "social_interactions",
)
GROUND_TRUTH_DIR = "_ground_truth"
CHUNK_CUSTOMERS = 20_000
CATALOG_STREAM = 1_000_000_007  # a seed stream no customer chunk uses


@dataclass(frozen=True)
class DemoSpec:
    customers: int
    seed: int
    end_date: date
    dirt: DirtRates = field(default_factory=DirtRates)
    chunk_customers: int = CHUNK_CUSTOMERS
    bias: PlantedBias | None = None  # for testing the fairness audit; none by default
    campaign_effect: PlantedCampaignEffect | None = None  # for testing audience lift; none

    @property
    def file_name(self) -> str:
        return f"demo-seed{self.seed}-{self.end_date.isoformat()}.parquet"


def generate(spec: DemoSpec, out_dir: Path) -> dict[str, int]:
    """Write the demo data set into `out_dir`; return rows written per source."""
    if spec.customers < 1:
        raise ValueError(f"--customers must be at least 1, got {spec.customers}")
    targets = [out_dir / source / spec.file_name for source in SOURCES]
    existing = [str(path) for path in targets if path.exists()]
    if existing:
        raise FileExistsError(f"demo files already exist, remove them first: {', '.join(existing)}")

    work_dir = out_dir / f".generating-{uuid.uuid4().hex}"
    try:
        rows = _write_all(spec, work_dir)
        for source in (*SOURCES, GROUND_TRUTH_DIR):
            (out_dir / source).mkdir(parents=True, exist_ok=True)
            for path in (work_dir / source).iterdir():
                path.replace(out_dir / source / path.name)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return rows


def _write_all(spec: DemoSpec, work_dir: Path) -> dict[str, int]:
    timeline = Timeline(spec.end_date)
    effect = spec.campaign_effect
    if effect is not None and effect.window_us()[1] > timeline.end_us:
        raise ValueError(
            f"the planted campaign effect's window ({effect.window_days} days after "
            f"{effect.activated_on}) must end by the data's end date {spec.end_date}"
        )
    catalog = build_catalog(np.random.default_rng([spec.seed, CATALOG_STREAM]), timeline)
    ids = {
        "order": IdSequence("O", 10),
        "web": IdSequence("W", 11),
        "visitor": IdSequence("V", 9),
        "campaign": IdSequence("E", 11),
        "social": IdSequence("S", 10),
        "planted_order": IdSequence("OC", 9),  # apart, so the other orders keep their ids
    }
    sinks = {
        name: _ParquetSink(work_dir / name / spec.file_name)
        for name in (*SOURCES, GROUND_TRUTH_DIR)
    }
    sinks["products"].write(
        plant_dirt(
            "products", catalog.products, np.random.default_rng([spec.seed, 0]), spec.dirt, 0
        )
    )
    try:
        for chunk, first in enumerate(range(0, spec.customers, spec.chunk_customers)):
            rng = np.random.default_rng([spec.seed, chunk + 1])
            size = min(spec.chunk_customers, spec.customers - first)
            population = draw_population(rng, timeline, first + 1, size, spec.bias)
            drawn = draw_orders(rng, population, catalog, ids["order"])
            frames = {
                "customers": customers_frame(rng, population),
                "orders": drawn.orders,
                "order_items": drawn.order_items,
                "web_events": draw_web_events(
                    rng,
                    population,
                    catalog,
                    drawn.web_order_owner,
                    drawn.web_order_us,
                    ids["web"],
                    ids["visitor"],
                ),
                "campaign_events": draw_campaign_events(rng, population, catalog, ids["campaign"]),
                "social_interactions": draw_social_interactions(rng, population, ids["social"]),
            }
            for source, frame in frames.items():
                sinks[source].write(plant_dirt(source, frame, rng, spec.dirt, timeline.end_us))
            if effect is not None:
                effect_rng = np.random.default_rng([spec.seed, chunk + 1, EFFECT_STREAM])
                orders, items = effect.extra_orders(
                    effect_rng, population, catalog, ids["planted_order"]
                )
                sinks["orders"].write(orders)
                sinks["order_items"].write(items)
            sinks[GROUND_TRUTH_DIR].write(
                pd.DataFrame(
                    {"customer_id": population.customer_id, "persona": population.persona_names()}
                )
            )
    finally:
        for sink in sinks.values():
            sink.close()
    return {source: sinks[source].rows for source in SOURCES}


class _ParquetSink:
    """One Parquet file, appended one row group per chunk with the first chunk's schema."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.cast(_without_null_types(table.schema))
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self._writer.write_table(table.cast(self._writer.schema))
        self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _without_null_types(schema: pa.Schema) -> pa.Schema:
    """A column that happens to be all null in a small chunk is still text, not type null."""
    return pa.schema(
        [
            field.with_type(pa.string()) if pa.types.is_null(field.type) else field
            for field in schema.remove_metadata()
        ]
    )
