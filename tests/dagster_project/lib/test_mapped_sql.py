"""The SQL a source mapping becomes, built without any file and run on literal rows in an
in-memory DuckDB: drop rules, type conversion in the file's format and time zone, quoting."""

from pathlib import Path

import duckdb

from dagster_project.lib.ingest.contract import RawColumn
from dagster_project.lib.ingest.mapped_sql import converted, kept, reader
from dagster_project.lib.ingest.mapping import UserFiles

FILES = UserFiles(
    name="orders", pattern=Path("/exports/orders*.csv"), format="csv", timezone="Europe/London"
)
ORDERED_AT = RawColumn("ordered_at", "timestamp with time zone")


def _rows(sql: str) -> list[tuple]:
    with duckdb.connect() as conn:
        conn.execute("set timezone = 'UTC'")
        return conn.execute(sql).fetchall()


def test_a_row_is_dropped_only_when_a_rule_holds_for_it_not_when_the_rule_is_null() -> None:
    condition = kept(["price <= 0", "status = 'test'"])
    rows = _rows(
        "select id from (values (1, 5, 'ok'), (2, 0, 'ok'), (3, null, 'ok'), (4, 5, 'test'), "
        f"(5, 5, null)) as t(id, price, status) where {condition} order by id"
    )
    assert rows == [(1,), (3,), (5,)]
    assert kept([]) == "true"


def test_local_times_convert_to_utc_in_the_files_format_and_time_zone() -> None:
    with_format = UserFiles(**{**vars(FILES), "date_format": "%d/%m/%Y %H:%M"})
    summer = converted("'01/07/2011 09:30'", ORDERED_AT, with_format)
    winter = converted("'01/12/2011 09:30'", ORDERED_AT, with_format)
    assert _rows(f"select strftime({summer}, '%H:%M'), strftime({winter}, '%H:%M')") == [
        ("08:30", "09:30")
    ]


def test_a_value_that_does_not_convert_is_null_only_when_not_strict() -> None:
    amount = RawColumn("unit_price", "decimal(18, 4)")
    lenient = converted("'n/a'", amount, FILES, strict=False)
    assert _rows(f"select {lenient}") == [(None,)]
    try:
        _rows("select " + converted("'n/a'", amount, FILES))
    except duckdb.ConversionException as error:
        assert "n/a" in str(error)
    else:
        raise AssertionError("a strict conversion of 'n/a' to a number succeeded")


def test_paths_and_options_are_quoted_as_sql_strings() -> None:
    odd = UserFiles(**{**vars(FILES), "delimiter": ";"})
    sql = reader(odd, [Path("/exports/it's here.csv")])
    assert "'/exports/it''s here.csv'" in sql
    assert "delim = ';'" in sql
    assert "all_varchar = true" in sql
