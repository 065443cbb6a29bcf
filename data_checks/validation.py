"""Validate warehouse rows with Great Expectations and return a plain result.

Each batch is a query over the warehouse, validated by GX's SQL engine in DuckDB itself (see
duckdb_sql.py): no rows are read into Python. Each validation also updates a static Data Docs
site, once for all its batches: rebuilding the site per batch (GX's UpdateDataDocsAction)
re-rendered its index every time and was half of a 1,000-customer run's GX time.
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
from great_expectations.datasource.fluent.sql_datasource import QueryAsset
from great_expectations.expectations.expectation import Expectation

from data_checks.duckdb_sql import DuckDBConnectionDatasource
from data_checks.wording import in_words

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
    # Run the query once into a temporary table for all expectations: for a query that costs
    # more than reading its result (aggregation, join), not for a projection of a table.
    materialize: bool = False
    # Statements run first on the validation's connection, e.g. temporary tables the query joins
    # (idempotent: batches of one validation may share them).
    prepare: Sequence[str] = ()


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
    expected: str  # the expectation in words, e.g. "unit_price must be > 0"
    sample: pd.DataFrame  # a few offending rows: their id and the values looked at
    keys: tuple[str, ...]  # the offending rows' ids (the batch's row_id), as far as sampled
    docs_page: Path  # the Data Docs page of the validation this outcome belongs to

    def describe(self) -> str:
        where = ".".join([self.table, *self.columns[:1]]) + (
            f" (with {', '.join(self.columns[1:])})" if len(self.columns) > 1 else ""
        )
        return f"{where}: {self.expected} ({self.expectation}): {self.found()}"

    def found(self) -> str:
        """What the validation saw: how many rows broke the expectation, or the observed value."""
        if self.unexpected_count is not None and self.element_count is not None:
            return (
                f"{self.unexpected_count:,} of {self.element_count:,} rows "
                f"({self.unexpected_percent or 0:.3g} %) unexpected"
            )
        return f"observed {_readable(self.observed_value)}"


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
        self.datasource: DuckDBConnectionDatasource = (
            self.context.data_sources.add_or_update_duckdb_connection(DATASOURCE)
        )

    @staticmethod
    def site_root(root: Path) -> Path:
        """The static Data Docs site of the GX project in `root`."""
        return root / "gx" / "uncommitted" / "data_docs" / "local_site"

    def validate(
        self, conn: duckdb.DuckDBPyConnection, batches: Sequence[Batch]
    ) -> ValidationResult:
        validated: list[tuple[Batch, list[ExpectationValidationResult]]] = []
        identifiers: list[ValidationResultIdentifier] = []
        with self.datasource.connected(conn):
            for batch in batches:
                identifier, results = self._run(batch)
                validated.append((batch, results))
                identifiers.append(identifier)
        pages = self._update_docs(identifiers)
        outcomes = [
            _outcome(batch, result, page)
            for (batch, results), page in zip(validated, pages, strict=True)
            for result in results
        ]
        return ValidationResult(tuple(outcomes), tuple(pages), _rows(outcomes))

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
        self, batch: Batch
    ) -> tuple[ValidationResultIdentifier, list[ExpectationValidationResult]]:
        # GX binds expectations to their suite; copies keep a Batch reusable. Each gets its
        # sentence as description, which the Data Docs show instead of GX's own template.
        expectations = [_described(copy.copy(expectation)) for expectation in batch.expectations]
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
                result_format={
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": SAMPLE_ROWS,
                    "unexpected_index_column_names": [batch.row_id] if batch.row_id else [],
                },
            )
        )
        engine = self.datasource.get_execution_engine()
        engine.run_statements(batch.prepare)
        engine.materialize_batches(batch.materialize)
        run = checkpoint.run()
        ((identifier, result),) = run.run_results.items()
        return identifier, list(result.results)

    def _batch_definition(self, batch: Batch) -> BatchDefinition:
        """The batch's query as the asset named after its suite (replaced when it changed)."""
        names = {asset.name for asset in self.datasource.assets}
        if batch.suite in names:
            asset = self.datasource.get_asset(batch.suite)
            assert isinstance(asset, QueryAsset)
            if asset.query == batch.query:
                return asset.get_batch_definition("whole table")
            self.datasource.delete_asset(batch.suite)
        asset = self.datasource.add_query_asset(batch.suite, query=batch.query)
        return asset.add_batch_definition_whole_table("whole table")


def _described(expectation: Expectation) -> Expectation:
    if not expectation.description:
        expectation.description = in_words(
            expectation.expectation_type, expectation.configuration.kwargs
        )
    return expectation


def _outcome(batch: Batch, result: ExpectationValidationResult, page: Path) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = config.kwargs
    columns = tuple(
        kwargs[key] for key in ("column", "column_A", "column_B") if key in kwargs
    ) or tuple(kwargs.get("column_list", ()))
    details = result.result or {}
    error = _error_message(result.exception_info or {})
    sample = _sample(details)
    keys = sample[batch.row_id] if batch.row_id in sample.columns else pd.Series(dtype=object)
    return ExpectationOutcome(
        table=batch.table,
        expectation=config.type,
        columns=columns,
        success=bool(result.success),
        element_count=details.get("element_count"),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=details.get("unexpected_percent"),
        observed_value=f"not evaluated: {error}" if error else details.get("observed_value"),
        expected=config.description or in_words(config.type, kwargs),
        sample=sample,
        keys=tuple(str(key) for key in keys),
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


def _readable(value: object) -> object:
    return f"{value:.4g}" if isinstance(value, float) else value


def _sample(details: dict) -> pd.DataFrame:
    """The first offending rows: their id (the batch's `row_id`) and the values the expectation
    looked at, as GX's SQL engine returns them; only the values where rows have no id."""
    rows = details.get("partial_unexpected_index_list") or []
    if rows:
        return pd.DataFrame(rows[:SAMPLE_ROWS])
    if details.get("partial_unexpected_list"):
        return pd.DataFrame({"value": details["partial_unexpected_list"]}).head(SAMPLE_ROWS)
    return pd.DataFrame()


def _rows(outcomes: Sequence[ExpectationOutcome]) -> int:
    """Rows of the largest batch (the table itself): the most rows any expectation looked at."""
    counted = [o.element_count for o in outcomes if o.element_count is not None]
    counted += [
        o.observed_value
        for o in outcomes
        if o.expectation == "expect_table_row_count_to_be_between"
        and isinstance(o.observed_value, int)
    ]
    return max(counted, default=0)
