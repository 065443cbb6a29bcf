"""Validate warehouse rows with Great Expectations and return a plain result.

GX's SQL datasource returns no metric values on DuckDB (GX fetches rows after closing the
connection, and duckdb-engine drops them then: great_expectations issue #11579), so each batch is
read from DuckDB as a pandas DataFrame and validated with GX's pandas engine. Each validation also
updates a static Data Docs site, once for all its batches: rebuilding the site per batch (GX's
UpdateDataDocsAction) re-rendered its index every time and was half of a 1,000-customer run's
GX time.
"""

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import great_expectations as gx
import pandas as pd
from great_expectations.core.batch_definition import BatchDefinition
from great_expectations.core.expectation_validation_result import ExpectationValidationResult
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier
from great_expectations.expectations.expectation import Expectation

SAMPLE_ROWS = 5
DATASOURCE = "warehouse"


@dataclass(frozen=True)
class Batch:
    """Rows to validate (a query over the warehouse) and the expectations they must meet."""

    suite: str  # also the name of its Data Docs page, e.g. "raw.orders"
    table: str  # the table a user should look at
    query: str
    expectations: Sequence[Expectation]
    row_id: str | None = None  # column that identifies offending rows in samples


@dataclass(frozen=True)
class ExpectationOutcome:
    table: str
    expectation: str
    columns: tuple[str, ...]
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    observed_value: object
    expected: str  # the expectation's bounds or value set, readable
    sample: pd.DataFrame  # a few offending rows
    docs_page: Path  # the Data Docs page of the validation this outcome belongs to

    def describe(self) -> str:
        where = ".".join([self.table, *self.columns[:1]]) + (
            f" (with {', '.join(self.columns[1:])})" if len(self.columns) > 1 else ""
        )
        if self.unexpected_count is not None and self.element_count is not None:
            found = (
                f"{self.unexpected_count:,} of {self.element_count:,} rows "
                f"({self.unexpected_percent or 0:.3g} %) unexpected"
            )
        else:
            found = f"observed {_readable(self.observed_value)}"
        return f"{where}: {self.expectation} {self.expected}: {found}"


@dataclass(frozen=True)
class ValidationResult:
    outcomes: tuple[ExpectationOutcome, ...]
    docs_pages: tuple[Path, ...]
    rows_validated: int  # rows of the largest batch: the table itself

    @property
    def main_docs_page(self) -> Path:
        """The page to open first: the first failure's, or the first page."""
        return self.failures[0].docs_page if self.failures else self.docs_pages[0]

    @property
    def success(self) -> bool:
        return all(outcome.success for outcome in self.outcomes)

    @property
    def failures(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if not outcome.success)

    def summary(self) -> str:
        if self.success:
            return f"All {len(self.outcomes)} expectations met on {self.rows_validated:,} rows."
        failed = "; ".join(outcome.describe() for outcome in self.failures)
        return f"{len(self.failures)} of {len(self.outcomes)} expectations failed: {failed}"


class Validator:
    """A GX project in `root` (created on first use) whose Data Docs site holds every result."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.context = gx.get_context(mode="file", project_root_dir=root)
        if self.context.variables.analytics_enabled is not False:
            self.context.variables.analytics_enabled = False
            self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
            self.context.variables.save()
        self.datasource = self.context.data_sources.add_or_update_pandas(DATASOURCE)

    @staticmethod
    def site_root(root: Path) -> Path:
        """The static Data Docs site of the GX project in `root`."""
        return root / "gx" / "uncommitted" / "data_docs" / "local_site"

    def validate(
        self, conn: duckdb.DuckDBPyConnection, batches: Sequence[Batch]
    ) -> ValidationResult:
        validated: list[tuple[Batch, pd.DataFrame, list[ExpectationValidationResult]]] = []
        identifiers: list[ValidationResultIdentifier] = []
        for batch in batches:
            with conn.cursor() as cursor:  # its own cursor: a caller's pending result is no concern
                frame = cursor.sql(batch.query).to_arrow_table().to_pandas()
            identifier, results = self._run(batch, frame)
            validated.append((batch, frame, results))
            identifiers.append(identifier)
        self._forget_batches()
        pages = self._update_docs(identifiers)
        outcomes = [
            _outcome(batch, result, page, frame)
            for (batch, frame, results), page in zip(validated, pages, strict=True)
            for result in results
        ]
        rows = max((len(frame) for _, frame, _ in validated), default=0)
        return ValidationResult(tuple(outcomes), tuple(pages), rows)

    def _forget_batches(self) -> None:
        """Drops GX's references to the validated DataFrames. Its pandas engine keeps every
        batch's data for the life of the datasource: after the raw checks of a 1M-customer first
        load, ~9 GiB of frames stayed resident in the Dagster process through dbt and training."""
        batches = self.datasource.get_execution_engine().batch_manager
        batches.batch_data_cache.clear()
        batches.reset_batch_cache()

    def _update_docs(self, identifiers: list[ValidationResultIdentifier]) -> list[Path]:
        """Renders the validations and their suites into the site; their pages, in order."""
        suites = [identifier.expectation_suite_identifier for identifier in identifiers]
        self.context.build_data_docs(resource_identifiers=[*identifiers, *suites])
        pages = []
        for identifier in identifiers:
            (site,) = self.context.get_docs_sites_urls(resource_identifier=identifier)
            pages.append(Path(unquote(urlparse(site["site_url"]).path)))
        return pages

    def _run(
        self, batch: Batch, frame: pd.DataFrame
    ) -> tuple[ValidationResultIdentifier, list[ExpectationValidationResult]]:
        # GX binds expectations to their suite; copies keep a Batch reusable.
        expectations = [copy.copy(expectation) for expectation in batch.expectations]
        suite = self.context.suites.add_or_update(
            gx.ExpectationSuite(name=batch.suite, expectations=expectations)
        )
        definition = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(
                name=batch.suite, data=self._batch_definition(batch), suite=suite
            )
        )
        checkpoint = self.context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=batch.suite,
                validation_definitions=[definition],
                # No unexpected_index_column_names: with them GX's pandas engine looks up every
                # unexpected row one at a time (minutes on a million rows). Positions come back
                # instead, and _sample reads the offending rows from the frame.
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_ROWS},
            )
        )
        run = checkpoint.run(batch_parameters={"dataframe": frame})
        ((identifier, result),) = run.run_results.items()
        return identifier, list(result.results)

    def _batch_definition(self, batch: Batch) -> BatchDefinition:
        names = {asset.name for asset in self.datasource.assets}
        asset = (
            self.datasource.get_asset(batch.suite)
            if batch.suite in names
            else self.datasource.add_dataframe_asset(batch.suite)
        )
        existing = {definition.name for definition in asset.batch_definitions}
        if "whole table" in existing:
            return asset.get_batch_definition("whole table")
        return asset.add_batch_definition_whole_dataframe("whole table")


def _outcome(
    batch: Batch, result: ExpectationValidationResult, page: Path, frame: pd.DataFrame
) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = config.kwargs
    columns = tuple(
        kwargs[key] for key in ("column", "column_A", "column_B") if key in kwargs
    ) or tuple(kwargs.get("column_list", ()))
    details = result.result or {}
    error = _error_message(result.exception_info or {})
    return ExpectationOutcome(
        table=batch.table,
        expectation=config.type,
        columns=columns,
        success=bool(result.success),
        element_count=details.get("element_count"),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=details.get("unexpected_percent"),
        observed_value=f"not evaluated: {error}" if error else details.get("observed_value"),
        expected=_expected(kwargs),
        sample=_sample(details, frame, batch.row_id, columns),
        docs_page=page,
    )


def _error_message(info: dict) -> str | None:
    """GX reports an evaluation error either directly or per metric that failed."""
    if info.get("raised_exception"):
        return info.get("exception_message")
    nested = [value for value in info.values() if isinstance(value, dict)]
    return next(
        (value.get("exception_message") for value in nested if value.get("raised_exception")), None
    )


_BOUND_KEYS = (
    "min_value",
    "max_value",
    "value",
    "value_set",
    "regex",
    "sum_total",
    "or_equal",
    "mostly",
)


def _expected(kwargs: dict) -> str:
    shown = {key: kwargs[key] for key in _BOUND_KEYS if kwargs.get(key) is not None}
    return "(" + ", ".join(f"{key}={_readable(value)}" for key, value in shown.items()) + ")"


def _readable(value: object) -> object:
    return f"{value:.4g}" if isinstance(value, float) else value


def _sample(
    details: dict, frame: pd.DataFrame, row_id: str | None, columns: tuple[str, ...]
) -> pd.DataFrame:
    """The first offending rows: their id and the values the expectation looked at."""
    positions = details.get("partial_unexpected_index_list") or []
    if positions:
        shown = [c for c in (row_id, *columns) if c is not None and c in frame.columns]
        return frame.iloc[positions[:SAMPLE_ROWS]][list(dict.fromkeys(shown))].reset_index(
            drop=True
        )
    if details.get("partial_unexpected_list"):
        return pd.DataFrame({"value": details["partial_unexpected_list"]}).head(SAMPLE_ROWS)
    return pd.DataFrame()
