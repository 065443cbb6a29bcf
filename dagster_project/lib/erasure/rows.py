"""Removing customers' rows from every table of the warehouse.

A customer's rows are found by their key wherever a table has one (`customer_id`, in every
layer), and through the keys that hang off them where a table has none: the lines of their
orders (`order_id`), the anonymous web events of the visitors they were (`anonymous_id`), and the
sentiment cache of the texts they wrote (`text_md5`). Tables are discovered, not listed, so a new
model with a customer key is covered without a change here.
"""

from collections.abc import Sequence

import duckdb

ERASED_IDS = "erasure_customer_ids"
LINKS = ("order_id", "anonymous_id", "text_md5")
"""Keys collected from the tables that have them beside customer_id, then removed everywhere."""


def customer_tables(
    conn: duckdb.DuckDBPyConnection, schemas: Sequence[str] | None = None
) -> dict[str, set[str]]:
    """Every base table of the warehouse (of `schemas`, when given) with the key columns it has:
    `schema.table` -> {customer_id, order_id, ...}."""
    rows = conn.execute(
        """
        select c.schema_name, c.table_name, list(c.column_name)
        from duckdb_columns() as c
        join duckdb_tables() as t using (database_name, schema_name, table_name)
        where c.database_name = current_database() and c.column_name in (select unnest(?))
        group by all
        """,
        [["customer_id", *LINKS]],
    ).fetchall()
    return {
        f'"{schema}"."{table}"': set(columns)
        for schema, table, columns in rows
        if schemas is None or schema in schemas
    }


def remove_customers(
    conn: duckdb.DuckDBPyConnection,
    customer_ids: Sequence[str],
    schemas: Sequence[str] | None = None,
) -> dict[str, int]:
    """Deletes every row of `customer_ids` (and of what hangs off them) from the tables of
    `schemas` (all when None); returns the rows removed per table, tables with none left out.
    Runs inside the caller's transaction."""
    tables = customer_tables(conn, schemas)
    conn.execute(f"create or replace temp table {ERASED_IDS} (customer_id varchar)")
    conn.executemany(f"insert into {ERASED_IDS} values (?)", [[c] for c in customer_ids])
    linked = {link: f"erasure_linked_{link}" for link in LINKS}
    for link, temp in linked.items():
        sources = [t for t, columns in tables.items() if {"customer_id", link} <= columns]
        union = " union ".join(
            f"select {link} from {t} where trim(customer_id) in (select * from {ERASED_IDS}) "
            f"and {link} is not null"
            for t in sources
        )
        conn.execute(
            f"create or replace temp table {temp} as "
            + (union or f"select null::varchar as {link} where false")
        )
    removed: dict[str, int] = {}
    for table, columns in sorted(tables.items()):
        conditions = []
        if "customer_id" in columns:
            conditions.append(f"trim(customer_id) in (select * from {ERASED_IDS})")
        conditions += [
            f"{link} in (select * from {linked[link]})" for link in LINKS if link in columns
        ]
        (rows,) = conn.execute(f"delete from {table} where {' or '.join(conditions)}").fetchone()
        if rows:
            removed[table.replace('"', "")] = rows
    for temp in (ERASED_IDS, *linked.values()):
        conn.execute(f"drop table {temp}")
    return removed
