"""Great Expectations' SQL execution engine on an open DuckDB connection.

GX then computes every metric with a query in DuckDB instead of reading the rows into pandas. A
batch whose query costs more than reading its result (an aggregation, a join) is materialized
once as a temporary table, since every metric re-runs the batch's query (the campaign funnel's took
49 s without, 5 s with); a plain projection of a table is not, since copying it only adds time
(25M web events: 17.4 s copied, 10.5 s not). On those 25M web events the pandas engine held
6.9 GiB and took 17.6 s. Two things stand in the way on DuckDB, and this module handles both:

- GX returns each query's result after leaving its connection's `with` block. SQLAlchemy then
  rolls the DBAPI connection back, and DuckDB drops the result it had not fetched yet: every
  metric came back empty (great_expectations issue #11579). The engine here keeps one connection
  open for the whole validation, as GX itself does for SQLite.
- Another DuckDB connection to the warehouse file from the same process must have the same
  configuration, and duckdb-engine sets its own, so opening the file again fails. The engine runs
  on a cursor of the caller's connection instead, and closes it afterwards so that no handle on
  the file outlives the validation (dbt needs the write lock next).
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

import duckdb
import sqlalchemy as sa
from duckdb_engine import ConnectionWrapper
from great_expectations.compatibility import pydantic
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine


class OneConnectionEngine(SqlAlchemyExecutionEngine):
    """Runs every metric query on one connection, opened on first use and closed by `close`."""

    @contextmanager
    def get_connection(self) -> Iterator[sa.Connection]:
        if self._connection is None:
            self._connection = self.engine.connect()
        yield self._connection

    def run_statements(self, statements: Sequence[str]) -> None:
        """Runs `statements` on the connection the metric queries use, so that the temporary
        tables they create are visible to those queries; committed, since a rollback drops them."""
        with self.get_connection() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
            connection.commit()

    def materialize_batches(self, materialize: bool) -> None:
        """Whether the batches loaded from now on run their query once into a temporary table
        that every metric reads, or inside each metric's query."""
        self._create_temp_table = materialize

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()


class DuckDBConnectionDatasource(SQLDatasource):
    """A SQL datasource whose queries run on the DuckDB connection given to `connected`."""

    type: Literal["duckdb_connection"] = "duckdb_connection"
    connection_string: str = "duckdb:///:memory:"  # unused: queries run on the caller's connection
    _duckdb: duckdb.DuckDBPyConnection | None = pydantic.PrivateAttr(None)

    @contextmanager
    def connected(self, conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
        """Validations inside run their queries on a cursor of `conn`, closed on exit."""
        self._duckdb = conn
        self._engine = None
        self._execution_engine = None
        try:
            yield
        finally:
            if self._execution_engine is not None:
                self._execution_engine.close()
            self._duckdb = None
            self._engine = None
            self._execution_engine = None

    def _create_engine(self) -> sa.Engine:
        # Before `connected` (GX tests the connection when the datasource is added): in memory.
        conn = self._duckdb or duckdb.connect()
        return sa.create_engine(
            "duckdb://",
            creator=lambda: ConnectionWrapper(conn.cursor()),
            poolclass=sa.pool.StaticPool,
        )

    def get_execution_engine(self) -> OneConnectionEngine:
        if self._execution_engine is None:
            self._execution_engine = OneConnectionEngine(
                engine=self.get_engine(), create_temp_table=True
            )
        return self._execution_engine
