"""Removing customers' rows from every table of the warehouse.

A customer's rows are found by their key wherever a table has one (`customer_id`, in every
layer), with the anonymous web events of the visitors they were (`anonymous_id`, customer_id
null); and through the keys that hang off them where a table has none: the lines of their orders
(`order_id`) and the sentiment cache of texts that only they wrote (`text_md5`). Tables are
discovered, not listed, so a new model with a customer key is covered without a change here.
"""

from collections.abc import Sequence

import duckdb

from dagster_project.lib.duckdb_files import base_table_columns

ERASED_IDS = "erasure_customer_ids"
LINKS = ("order_id", "anonymous_id", "text_md5")
"""Keys collected from the tables that have them beside customer_id, then removed everywhere."""


def customer_tables(
    conn: duckdb.DuckDBPyConnection, schemas: Sequence[str] | None = None
) -> dict[str, set[str]]:
    """Every base table of the warehouse (of `schemas`, when given) with the key columns it has:
    `"schema"."table"` -> {customer_id, order_id, ...}."""
    keys = {"customer_id", *LINKS}
    return {
        table: keys & set(columns)
        for table, columns in base_table_columns(conn).items()
        if keys & set(columns) and (schemas is None or table.split(".")[0].strip('"') in schemas)
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
    keyed = {t: c for t, c in tables.items() if "customer_id" in c}
    removed: dict[str, int] = {}
    # Customer-keyed tables first: a text's sentiment may only go once nobody else wrote it.
    hanging = [(t, c) for t, c in sorted(tables.items()) if t not in keyed]
    for table, columns in [*sorted(keyed.items()), *hanging]:
        condition = (
            _own_rows(columns, linked) if table in keyed else _hanging_rows(columns, linked, keyed)
        )
        (rows,) = conn.execute(f"delete from {table} where {condition}").fetchone()
        if rows:
            removed[table.replace('"', "")] = rows
    for temp in (ERASED_IDS, *linked.values()):
        conn.execute(f"drop table {temp}")
    return removed


def _own_rows(columns: set[str], linked: dict[str, str]) -> str:
    """A customer-keyed table's rows of the erased customers, and the anonymous events of the
    visitors they were (customer_id null there)."""
    condition = f"trim(customer_id) in (select * from {ERASED_IDS})"
    if "anonymous_id" in columns:
        condition += (
            " or (customer_id is null and anonymous_id in "
            f"(select * from {linked['anonymous_id']}))"
        )
    return condition


def _hanging_rows(columns: set[str], linked: dict[str, str], keyed: dict[str, set[str]]) -> str:
    """A table without customer key: the lines of the erased customers' orders, and the cached
    sentiment of texts that only they wrote (a text many customers wrote identifies nobody, and
    the others' features still need it)."""
    conditions = []
    if "order_id" in columns:
        conditions.append(f"order_id in (select * from {linked['order_id']})")
    if "text_md5" in columns:
        still_written = " ".join(
            f"and text_md5 not in (select text_md5 from {t} where text_md5 is not null)"
            for t, c in keyed.items()
            if "text_md5" in c
        )
        conditions.append(f"(text_md5 in (select * from {linked['text_md5']}) {still_written})")
    return " or ".join(conditions) or "false"
