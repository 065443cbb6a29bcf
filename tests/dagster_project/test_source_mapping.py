"""User files through a source mapping into the raw tables: a minimal orders-only CSV loads, and
every bad-file case fails before anything is written, naming the file, the column and rows."""

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from dagster_project.lib.ingest.contract import RAW_SOURCES as SOURCES
from dagster_project.lib.ingest.direct_identifiers import looks_like_contact
from dagster_project.lib.ingest.errors import InputFileError
from dagster_project.lib.ingest.guards import LoadLimits
from dagster_project.lib.ingest.mapped_load import load_mapped
from dagster_project.lib.ingest.mapping import SourceMappingError, read_mapping

pytestmark = pytest.mark.slow  # real dbt builds or Dagster runs: left out of make test-fast

LOADED_AT = datetime(2026, 11, 23, tzinfo=UTC)

ORDERS_ONLY = """
files:
  sales:
    path: sales.csv
    delimiter: "{delimiter}"
    encoding: {encoding}
    date_format: "%d/%m/%Y"
    timezone: Europe/London
    drop_duplicates: true
    drop:
      anonymous: customer is null
sources:
  orders:
    from: sales
    columns:
      order_id: order_ref
      customer_id: customer
      ordered_at: {date_column}
      status: "'completed'"
      currency: "'GBP'"
  order_items:
    from: sales
    columns:
      order_id: order_ref
      line_number: "1"
      quantity: "1"
      unit_price: amount
"""
GOOD_ROWS = [
    "order_ref,customer,day,amount",
    "A1,c1,03/01/2026,10.50",
    "A2,c1,04/02/2026,20",
    "A2,c1,04/02/2026,20",
    "A3,,05/02/2026,7",
    "A4,c2,06/07/2026,99.99",
]


def write_mapping(
    folder: Path,
    rows: list[str],
    delimiter: str = ",",
    encoding: str = "utf-8",
    date_column: str = "day",
    file_encoding: str = "utf-8",
) -> Path:
    (folder / "sales.csv").write_bytes("\n".join(rows).encode(file_encoding) + b"\n")
    mapping = folder / "sources.yml"
    mapping.write_text(
        ORDERS_ONLY.format(delimiter=delimiter, encoding=encoding, date_column=date_column)
    )
    return mapping


def load(mapping: Path, warehouse: Path):
    with duckdb.connect(str(warehouse)) as conn:
        limits = LoadLimits(settle_seconds=0)
        return load_mapped(conn, read_mapping(mapping, SOURCES), SOURCES, LOADED_AT, limits)


def test_an_orders_only_csv_loads_with_its_cleaning_counted(tmp_path: Path) -> None:
    loaded, cleaning = load(write_mapping(tmp_path, GOOD_ROWS), tmp_path / "w.duckdb")

    assert {table.table: table.rows for table in loaded} == {
        "customers": 2,  # not mapped: the customer ids of the orders
        "products": 0,  # not mapped: an empty table, so its features are null downstream
        "orders": 3,
        "order_items": 3,
        "web_events": 0,
        "campaign_events": 0,
        "social_interactions": 0,
    }
    assert cleaning["sales"].rows_read == 5
    assert cleaning["sales"].removed == {"exact duplicates": 1, "anonymous": 1}
    assert cleaning["sales"].rows_kept == 3
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        conn.execute("set timezone = 'UTC'")
        orders = conn.execute(
            "select order_id, customer_id, ordered_at, status, channel from raw.orders "
            "order by order_id"
        ).fetchall()
        items = conn.execute(
            "select order_id, quantity, unit_price from raw.order_items order by order_id"
        ).fetchall()
    # 3 January is GMT, 6 July is BST (UTC+1): the declared zone is applied.
    assert orders[0][:3] == ("A1", "c1", datetime(2026, 1, 3, tzinfo=UTC))
    assert orders[2][2] == datetime(2026, 7, 5, 23, tzinfo=UTC)
    assert {row[3] for row in orders} == {"completed"} and {row[4] for row in orders} == {None}
    assert items == [("A1", 1, 10.5), ("A2", 1, 20.0), ("A4", 1, 99.99)]


def published_orders(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute("select * exclude (_loaded_at) from raw.orders order by all").fetchall()


@pytest.fixture
def loaded_warehouse(tmp_path: Path) -> Path:
    """A warehouse that already holds good raw tables, which a bad file must leave alone."""
    good = tmp_path / "good"
    good.mkdir()
    load(write_mapping(good, GOOD_ROWS), tmp_path / "w.duckdb")
    return tmp_path / "w.duckdb"


def fails_to_load(mapping: Path, warehouse: Path) -> InputFileError:
    before = published_orders(warehouse)
    with pytest.raises(InputFileError) as raised:
        load(mapping, warehouse)
    assert published_orders(warehouse) == before
    assert str(mapping.parent / "sales.csv") in str(raised.value)
    return raised.value


def bad_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "bad"
    folder.mkdir()
    return folder


def test_a_wrong_delimiter_is_named(tmp_path: Path, loaded_warehouse: Path) -> None:
    rows = [row.replace(",", ";") for row in GOOD_ROWS]
    error = fails_to_load(write_mapping(bad_folder(tmp_path), rows), loaded_warehouse)
    assert "the delimiter looks like ';', not ','" in str(error)


def test_a_missing_mapped_column_is_named_with_a_suggestion(
    tmp_path: Path, loaded_warehouse: Path
) -> None:
    mapping = write_mapping(bad_folder(tmp_path), GOOD_ROWS, date_column="days")
    error = fails_to_load(mapping, loaded_warehouse)
    assert error.column == "ordered_at"
    assert "Did you mean 'day'?" in str(error)
    assert "order_ref, customer, day, amount" in str(error)


def test_unparsable_dates_are_counted_and_shown(tmp_path: Path, loaded_warehouse: Path) -> None:
    rows = [*GOOD_ROWS, "A5,c3,2026-07-08,5", "A6,c3,31/02/2026,5"]
    error = fails_to_load(write_mapping(bad_folder(tmp_path), rows), loaded_warehouse)
    assert error.column == "ordered_at"
    assert "2 rows of ordered_at" in str(error) and "'%d/%m/%Y'" in str(error)
    assert error.sample["value"].tolist() == ["2026-07-08", "31/02/2026"]
    assert error.sample["row_number"].tolist() == [6, 7]


def test_unparsable_numbers_are_counted_and_shown(tmp_path: Path, loaded_warehouse: Path) -> None:
    rows = [*GOOD_ROWS, "A5,c3,08/07/2026,12 EUR"]
    error = fails_to_load(write_mapping(bad_folder(tmp_path), rows), loaded_warehouse)
    assert error.column == "unit_price"
    assert "1 rows of unit_price" in str(error)
    assert error.sample["value"].tolist() == ["12 EUR"]


def test_a_wrong_encoding_suggests_the_right_one(tmp_path: Path, loaded_warehouse: Path) -> None:
    rows = [*GOOD_ROWS, "A5,Zoë,08/07/2026,5"]
    mapping = write_mapping(bad_folder(tmp_path), rows, file_encoding="latin-1")
    error = fails_to_load(mapping, loaded_warehouse)
    assert "latin-1" in str(error)

    mapping.write_text(mapping.read_text().replace("encoding: utf-8", "encoding: latin-1"))
    loaded, _ = load(mapping, loaded_warehouse)
    assert {table.table: table.rows for table in loaded}["orders"] == 4


def test_an_empty_file_is_named(tmp_path: Path, loaded_warehouse: Path) -> None:
    folder = bad_folder(tmp_path)
    mapping = write_mapping(folder, GOOD_ROWS[:1])
    error = fails_to_load(mapping, loaded_warehouse)
    assert "the file has no rows" in str(error)


def test_a_mapping_that_names_an_unknown_source_fails_before_reading(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, GOOD_ROWS)
    mapping.write_text(mapping.read_text().replace("  order_items:", "  order_lines:"))
    with pytest.raises(SourceMappingError) as raised:
        read_mapping(mapping, SOURCES)
    message = str(raised.value)
    assert str(mapping) in message and "unknown source 'order_lines'" in message
    assert "order_items" in message


def test_a_mapping_without_a_required_column_fails(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, GOOD_ROWS)
    mapping.write_text(mapping.read_text().replace("      customer_id: customer\n", ""))
    with pytest.raises(SourceMappingError, match=r"sources\.orders\.columns.*customer_id"):
        read_mapping(mapping, SOURCES)


def test_a_drop_rule_that_does_not_fit_the_file_is_named(
    tmp_path: Path, loaded_warehouse: Path
) -> None:
    mapping = write_mapping(bad_folder(tmp_path), GOOD_ROWS)
    mapping.write_text(mapping.read_text().replace("customer is null", "amount <= 0"))
    error = fails_to_load(mapping, loaded_warehouse)
    assert "the drop rule 'anonymous' ('amount <= 0')" in str(error)
    assert "try_cast(column as double)" in str(error)


def test_json_lines_files_load_through_a_glob(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    for day, rows in (
        ("01", ['{"id": "A1", "who": "c1", "placed": "2026-03-01T10:00:00", "eur": 5}']),
        ("02", ['{"id": "A2", "who": "c2", "placed": "2026-03-02T11:30:00", "eur": 7.5}']),
    ):
        (exports / f"orders-{day}.jsonl").write_text("\n".join(rows) + "\n")
    mapping = tmp_path / "sources.yml"
    mapping.write_text(
        "files:\n  events:\n    path: exports/orders-*.jsonl\n"
        "sources:\n"
        "  orders:\n    from: events\n    columns: {order_id: id, customer_id: who, "
        "ordered_at: placed, status: \"'completed'\", currency: \"'EUR'\"}\n"
        "  order_items:\n    from: events\n    columns: {order_id: id, line_number: '1', "
        "quantity: '1', unit_price: eur}\n"
    )
    loaded, cleaning = load(mapping, tmp_path / "w.duckdb")
    assert {t.table: t.rows for t in loaded}["orders"] == 2
    assert cleaning["events"].rows_read == 2
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        conn.execute("set timezone = 'UTC'")
        assert conn.execute(
            "select order_id, ordered_at, currency from raw.orders order by 1"
        ).fetchall() == [
            ("A1", datetime(2026, 3, 1, 10, tzinfo=UTC), "EUR"),
            ("A2", datetime(2026, 3, 2, 11, 30, tzinfo=UTC), "EUR"),
        ]


CONTACT_ROWS = [
    "order_ref,customer,day,amount",
    "A1,Jane.Doe@example.com,03/01/2026,10.50",
    "A2,+44 7700 900123,04/02/2026,20",
    "A3,17850,05/02/2026,7",
]


def test_customer_ids_that_are_emails_or_phones_stop_the_load(
    tmp_path: Path, loaded_warehouse: Path
) -> None:
    error = fails_to_load(write_mapping(bad_folder(tmp_path), CONTACT_ROWS), loaded_warehouse)
    message = str(error)
    assert error.column == "customer_id"
    assert "2 of 3 customer ids look like email addresses or phone numbers" in message
    assert "pseudonymize_customer_id: true" in message
    assert "Jane" not in message and "7700" not in message


def test_pseudonymize_customer_id_hashes_them_at_ingest(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, CONTACT_ROWS)
    mapping.write_text("pseudonymize_customer_id: true\n" + mapping.read_text())
    warehouse = tmp_path / "w.duckdb"
    load(mapping, warehouse)
    load(mapping, warehouse)  # the same key on the next load: the same ids
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        ids = conn.execute(
            "select customer_id from raw.orders union all select customer_id from raw.customers"
        ).fetchall()
    assert len(ids) == 6 and len({customer for (customer,) in ids}) == 3
    assert all(re.fullmatch("[0-9a-f]{32}", customer) for (customer,) in ids)
    assert (tmp_path / "w.duckdb.id-key").stat().st_mode & 0o077 == 0


def test_contact_detection_spares_customer_numbers() -> None:
    values = {
        "a@b.co": True,
        "+447700900123": True,
        "(555) 010-9999": True,
        "17850": False,
        "C00000042": False,
        "2021-000123": False,
        "12345678": False,
    }
    with duckdb.connect() as conn:
        found = {
            value: conn.execute(
                f"select {looks_like_contact('x')} from (select ? as x)", [value]
            ).fetchone()[0]
            for value in values
        }
    assert found == values
