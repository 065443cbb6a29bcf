"""The SQL a source mapping becomes, built without any file and run on literal rows in an
in-memory DuckDB: drop rules, type conversion in the file's format and time zone, quoting."""

from pathlib import Path

import duckdb

from dagster_project.lib.ingest.contract import RawColumn
from dagster_project.lib.ingest.mapped_sql import converted, kept, reader
from dagster_project.lib.ingest.mapping import UserFiles

FILES = UserFiles(
    name="orders",
    pattern=Path("/exports/orders*.csv"),
    root=Path("/exports"),
    format="csv",
    timezone="Europe/London",
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


def test_a_timestamp_with_an_offset_is_taken_at_that_offset_not_in_the_files_zone() -> None:
    paris = UserFiles(**{**vars(FILES), "timezone": "Europe/Paris"})
    values = ["2024-06-01 10:00+05:00", "2024-06-01T10:00:00Z", "2024-06-01 10:00", "2024-06-01"]
    utc = [
        _rows(f"select strftime({converted(repr(value), ORDERED_AT, paris)}, '%d %H:%M')")[0][0]
        for value in values
    ]
    assert utc == ["01 05:00", "01 10:00", "01 08:00", "31 22:00"]


def test_an_offset_in_the_date_format_is_honoured() -> None:
    with_offset = UserFiles(**{**vars(FILES), "date_format": "%d/%m/%Y %H:%M %z"})
    value = converted("'01/07/2011 09:30 +0200'", ORDERED_AT, with_offset)
    assert _rows(f"select strftime({value}, '%H:%M')") == [("07:30",)]


def test_a_file_name_with_glob_characters_reads_that_file_only(tmp_path: Path) -> None:
    with duckdb.connect() as conn:
        for name, value in (("orders 1.csv", "wrong"), ("orders [1].csv", "right")):
            conn.execute(f"copy (select '{value}' as v) to '{tmp_path / name}' (header)")
        sql = reader(FILES, [tmp_path / "orders [1].csv"])
        assert conn.execute(f"select v from {sql}").fetchall() == [("right",)]
