"""The adversarial cases of docs/security.md, each on the real loader, gate and files: a failed gate
cannot be bypassed by a later load, errors and alerts carry no personal data, a source mapping
cannot run code or read files outside its folder, and misconfiguration is refused before it
destroys anything."""

import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult, materialize

from dagster_project.defs.ingest import RAW_CHECK, raw_table_checks, raw_tables
from dagster_project.defs.metadata import check_result
from dagster_project.defs.resources import AlertsResource, build_resources
from dagster_project.defs.sensors import _error
from dagster_project.lib.alerts import RunFailure
from dagster_project.lib.ingest.contract import RAW_SOURCES
from dagster_project.lib.ingest.load_log import LOAD_LOG
from dagster_project.lib.ingest.mapping import SourceMappingError, read_mapping
from dagster_project.lib.ingest.sandbox import sandboxed_reader
from dagster_project.lib.model_store import load_model
from dagster_project.lib.settings import Settings
from dagster_project.lib.snapshot import publish_snapshot
from dagster_project.run import LandingFolderError, ensure_landing_data
from data_checks.baseline import feature_columns
from data_checks.suites.customer_features import valid_rows_batch
from data_checks.thresholds import Thresholds
from data_checks.validation import Validator
from demo_data.generate import DemoSpec, generate
from tests.conftest import settings_for

END_DATE = date(2026, 11, 20)


@pytest.fixture(scope="module")
def small_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("small_landing")
    generate(DemoSpec(customers=150, seed=5, end_date=END_DATE), landing)
    return landing


@pytest.fixture
def settings(tmp_path: Path, small_landing: Path) -> Settings:
    shutil.copytree(small_landing, tmp_path / "landing")
    return settings_for(tmp_path, tmp_path / "landing")


def load_and_check(settings: Settings, instance: DagsterInstance | None = None):
    return materialize(
        [raw_tables, raw_table_checks],
        resources=build_resources(settings),
        instance=instance,
        raise_on_error=False,
    )


def check_passed(result: ExecuteInProcessResult, table: str) -> bool:
    evaluations = [
        e.passed
        for e in result.get_asset_check_evaluations()
        if e.check_name == RAW_CHECK and e.asset_key.path == [f"raw_{table}"]
    ]
    assert evaluations, f"no evaluation of raw_{table}"
    return all(evaluations)


def raw_rows(settings: Settings, table: str, where: str = "true") -> int:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return conn.execute(f"select count(*) from raw.{table} where {where}").fetchone()[0]


def the_file(settings: Settings, source: str) -> Path:
    """The demo's file of `source` (not the days the tests add)."""
    (path,) = [p for p in (settings.landing_dir / source).glob("*.parquet") if "day-" not in p.name]
    return path


def add_day_of_orders(settings: Settings, suffix: str, unit_price: float | None) -> None:
    """A new day's orders and their lines (copies of 40 existing orders under new ids)."""
    orders = pd.read_parquet(the_file(settings, "orders")).head(40).copy()
    items = pd.read_parquet(the_file(settings, "order_items"))
    items = items[items["order_id"].isin(orders["order_id"])].copy()
    for frame in (orders, items):
        frame["order_id"] = frame["order_id"] + f"-{suffix}"
    orders["ordered_at"] = pd.Timestamp(END_DATE, tz="UTC")
    if unit_price is not None:
        items["unit_price"] = unit_price
    orders.to_parquet(settings.landing_dir / "orders" / f"day-{suffix}.parquet")
    items.to_parquet(settings.landing_dir / "order_items" / f"day-{suffix}.parquet")


# 1. A failed gate cannot be bypassed the next day.


def test_rows_that_failed_the_raw_gate_are_rolled_back_and_checked_again_on_every_run(
    settings: Settings,
) -> None:
    assert load_and_check(settings).success
    add_day_of_orders(settings, "2", unit_price=0.0)
    day_2 = load_and_check(settings)
    assert not day_2.success and not check_passed(day_2, "order_items")
    assert raw_rows(settings, "order_items", "order_id like '%-2'") == 0
    assert raw_rows(settings, "orders", "order_id like '%-2'") == 0  # the whole load went back
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        logged = [path for (path,) in conn.execute(f"select path from {LOAD_LOG}").fetchall()]
    assert not [path for path in logged if "day-2" in path]  # loaded again next run

    # Day 3 brings only web events: the zero-price lines are loaded and refused again.
    events = pd.read_parquet(the_file(settings, "web_events")).head(20).copy()
    events["event_id"] = events["event_id"] + "-3"
    events.to_parquet(settings.landing_dir / "web_events" / "day-3.parquet")
    day_3 = load_and_check(settings)
    assert not day_3.success and not check_passed(day_3, "order_items")
    assert raw_rows(settings, "order_items", "order_id like '%-2'") == 0
    assert raw_rows(settings, "web_events", "event_id like '%-3'") == 0

    # The bad file fixed: everything waiting loads and passes.
    add_day_of_orders(settings, "2", unit_price=None)
    day_4 = load_and_check(settings)
    assert day_4.success
    assert raw_rows(settings, "orders", "order_id like '%-2'") == 40
    assert raw_rows(settings, "web_events", "event_id like '%-3'") == 20


# 2. No personal data in errors, logs, alerts or webhooks.


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/alerts", received
    server.shutdown()


def personal_values(customers: pd.DataFrame) -> set[str]:
    (source,) = [source for source in RAW_SOURCES if source.table == "customers"]
    columns = [c.name for c in source.columns if c.personal and c.name in customers]
    return {
        str(value)
        for column in columns
        for value in customers[column].dropna()
        if len(str(value)) >= 6
    }


@pytest.mark.parametrize("damage", ["missing phone", "unreadable birth dates"])
def test_a_bad_customers_file_is_reported_without_personal_data_anywhere(
    settings: Settings,
    tmp_path: Path,
    webhook: tuple[str, list[bytes]],
    capfd: pytest.CaptureFixture[str],
    damage: str,
) -> None:
    path = the_file(settings, "customers")
    customers = pd.read_parquet(path)
    secrets = personal_values(customers)
    assert len(secrets) > 300  # emails, names, phones, cities of 150 customers
    if damage == "missing phone":
        customers.drop(columns="phone").to_parquet(path)
    else:
        customers["birth_date"] = customers["birth_date"].astype(str)
        customers.loc[[2, 9], "birth_date"] = ["someday", "31/31/1980"]
        customers.to_parquet(path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    with DagsterInstance.local_temp(str(home)) as instance:
        result = load_and_check(settings, instance)
        assert not result.success
        (failure,) = result.get_step_failure_events()
        alerts = AlertsResource(
            path=str(tmp_path / "alerts.duckdb"), webhook_url=webhook[0], allow_local_http=True
        )
        error = _error(failure)
        assert "customers" in error and ("phone" in error or "birth_date" in error)
        alerts.record(RunFailure(result.run_id, "test", pd.Timestamp.now(tz="UTC"), "load", error))
    with duckdb.connect(str(tmp_path / "alerts.duckdb"), read_only=True) as conn:
        stored = "\n".join(map(str, conn.execute("select * from run_failures").fetchall()))
    places = {
        "console": "".join(capfd.readouterr()),
        "alerts.duckdb": stored,
        "webhook": b"".join(webhook[1]).decode(),
        **{
            str(file): file.read_bytes().decode(errors="replace")
            for file in home.rglob("*")
            if file.is_file()  # event log database and compute logs
        },
    }
    assert json.loads(webhook[1][0])["error"] == error
    logged = [text for place, text in places.items() if place.startswith(str(home))]
    assert any("load_landing_files" in text for text in logged)  # the event log was searched
    leaks = {place: [s for s in secrets if s in text] for place, text in places.items()}
    assert not any(leaks.values()), {place: found[:3] for place, found in leaks.items() if found}
    if damage == "unreadable birth dates":
        assert "row_number" in error and "(personal data, not shown)" in error


def test_the_webhook_must_be_https_unless_local_http_is_allowed() -> None:
    with pytest.raises(ValueError, match="https"):
        Settings.from_env({"SEG_ALERT_WEBHOOK_URL": "http://alerts.example.com/hook"})
    with pytest.raises(ValueError, match="SEG_ALERT_WEBHOOK_ALLOW_LOCAL_HTTP"):
        Settings.from_env({"SEG_ALERT_WEBHOOK_URL": "http://127.0.0.1:9000/hook"})
    allowed = Settings.from_env(
        {
            "SEG_ALERT_WEBHOOK_URL": "http://127.0.0.1:9000/hook",
            "SEG_ALERT_WEBHOOK_ALLOW_LOCAL_HTTP": "1",
        }
    )
    assert allowed.alert_webhook_allow_local_http
    assert Settings.from_env({"SEG_ALERT_WEBHOOK_URL": "https://alerts.example.com/h"})


# 3. A source mapping is data, not code.

MAPPING = """
files:
  sales:
    path: {path}
    drop:
      anonymous: {drop}
sources:
  orders:
    from: sales
    columns:
      order_id: {order_id}
      customer_id: customer
      ordered_at: day
      status: "'completed'"
      currency: "'GBP'"
  order_items:
    from: sales
    columns: {{order_id: order_ref, quantity: "1", unit_price: amount}}
"""


def mapping_file(
    folder: Path,
    path: str = "sales.csv",
    drop: str = "customer is null",
    order_id: str = "order_ref",
) -> Path:
    mapping = folder / "sources.yml"
    mapping.write_text(
        MAPPING.format(path=json.dumps(path), drop=json.dumps(drop), order_id=json.dumps(order_id))
    )
    return mapping


@pytest.mark.parametrize(
    ("key", "expression"),
    [
        ("sources.orders.columns.order_id", "order_ref; create table raw.pwned as select 1"),
        (
            "sources.orders.columns.order_id",
            "(select content from read_text('/proc/self/environ'))",
        ),
        ("sources.orders.columns.order_id", "read_text('/proc/self/environ')"),
        ("sources.orders.columns.order_id", "(select * from read_csv('/etc/passwd'))"),
        ("sources.orders.columns.order_id", "COPY (select 1) TO '/tmp/x.csv'"),
        ("sources.orders.columns.order_id", "ATTACH '/tmp/other.duckdb'"),
        ("sources.orders.columns.order_id", "SET enable_external_access = true"),
        ("sources.orders.columns.order_id", "current_setting('home_directory')"),
        ("sources.orders.columns.order_id", "(select max(model_version) from segments.model_runs)"),
        (
            "files.sales.drop.anonymous",
            "customer is null; update segments.customer_segments set x = 1",
        ),
        ("files.sales.drop.anonymous", "exists (select 1 from raw.customers)"),
    ],
)
def test_a_mapping_expression_that_is_not_a_plain_expression_is_refused_before_any_file_is_read(
    tmp_path: Path, key: str, expression: str
) -> None:
    # No sales.csv exists: the refusal comes from reading the mapping, before any file.
    if key.startswith("files"):
        mapping = mapping_file(tmp_path, drop=expression)
    else:
        mapping = mapping_file(tmp_path, order_id=expression)
    with pytest.raises(SourceMappingError, match=f"key '{key}'"):
        read_mapping(mapping, RAW_SOURCES)


def test_mapped_paths_stay_under_the_mapping_folder(tmp_path: Path) -> None:
    folder = tmp_path / "mapping"
    folder.mkdir()
    for outside in ("/etc/passwd", "../elsewhere/*.csv", str(tmp_path / "x.csv")):
        with pytest.raises(SourceMappingError, match="outside"):
            read_mapping(mapping_file(folder, path=outside), RAW_SOURCES)
    # A link inside the folder to a file outside it is refused when the files are listed.
    (tmp_path / "secret.csv").write_text("order_ref,customer,day,amount\n")
    (folder / "sales.csv").symlink_to(tmp_path / "secret.csv")
    mapping = read_mapping(mapping_file(folder), RAW_SOURCES)
    with pytest.raises(SourceMappingError, match="resolves outside"):
        mapping.sources[0].files.paths()
    # A root that holds the files may be allowed explicitly.
    allowed = read_mapping(
        mapping_file(folder, path=str(tmp_path / "x.csv")), RAW_SOURCES, tmp_path
    )
    assert allowed.sources[0].files.root == tmp_path.resolve()


def test_the_reader_of_mapped_files_reaches_nothing_but_their_folder(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "sales.csv").write_text("a\n1\n")
    with sandboxed_reader([folder], "1GB") as conn:
        assert conn.execute(f"select a from read_csv('{folder / 'sales.csv'}')").fetchall() == [
            (1,)
        ]
        for statement in (
            "select * from read_text('/proc/self/environ')",
            "select * from read_csv('/etc/passwd')",
            f"copy (select 1) to '{tmp_path / 'out.csv'}'",
            f"attach '{tmp_path / 'other.duckdb'}'",
            "set enable_external_access = true",
        ):
            with pytest.raises(duckdb.Error):
                conn.execute(statement)
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("version", ["/tmp/evil", "../evil", "20261205T101010-abcdef12/../../x"])
def test_a_model_version_from_the_warehouse_cannot_point_the_loader_elsewhere(
    tmp_path: Path, version: str
) -> None:
    with pytest.raises(ValueError, match="refusing"):
        load_model(tmp_path / "models", version)


# 4. Misconfiguration is refused, not obeyed.


def test_demo_data_goes_only_into_an_empty_default_folder_or_where_asked(tmp_path: Path) -> None:
    mistyped = Settings.from_env(
        {
            "SEG_LANDING_DIR": str(tmp_path / "lnading"),
            "SEG_WAREHOUSE_PATH": str(tmp_path / "w" / "w.duckdb"),
        }
    )
    with pytest.raises(LandingFolderError, match="SEG_GENERATE_DEMO=1"):
        ensure_landing_data(mistyped)
    assert not (tmp_path / "lnading").exists()
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "customers.csv").write_text("id,email\n1,a@example.com\n")
    asked = Settings.from_env(
        {
            "SEG_LANDING_DIR": str(exports),
            "SEG_WAREHOUSE_PATH": str(tmp_path / "w" / "w.duckdb"),
            "SEG_GENERATE_DEMO": "1",
            "SEG_DEMO_CUSTOMERS": "50",
        }
    )
    with pytest.raises(LandingFolderError, match="1 other file"):
        ensure_landing_data(asked)
    assert sorted(p.name for p in exports.iterdir()) == ["customers.csv"]


def test_a_load_that_would_remove_most_of_a_table_stops_until_confirmed(
    settings: Settings,
) -> None:
    assert load_and_check(settings).success
    before = raw_rows(settings, "orders")
    path = the_file(settings, "orders")
    pd.read_parquet(path).head(10).to_parquet(path.with_name("few.parquet"))
    path.unlink()
    refused = load_and_check(settings)
    assert not refused.success
    (failure,) = refused.get_step_failure_events()
    message = _error(failure)
    assert "SEG_MAX_REMOVED_SHARE=1" in message and "raw.orders" in message
    assert raw_rows(settings, "orders") == before
    confirmed = Settings(**{**vars(settings), "max_removed_share": 1.0})
    assert load_and_check(confirmed).success
    assert raw_rows(settings, "orders") == 10


def test_paths_that_would_overwrite_each_other_are_refused(tmp_path: Path) -> None:
    warehouse = tmp_path / "w" / "warehouse.duckdb"
    with pytest.raises(ValueError, match="same file"):
        Settings.from_env(
            {"SEG_WAREHOUSE_PATH": str(warehouse), "SEG_SERVING_PATH": str(warehouse)}
        )
    with pytest.raises(ValueError, match="inside the landing folder"):
        Settings.from_env({"SEG_WAREHOUSE_PATH": str(warehouse), "SEG_LANDING_DIR": str(tmp_path)})


# 6. Smaller holes.


def test_a_landing_file_name_with_glob_characters_is_read_as_itself(settings: Settings) -> None:
    path = the_file(settings, "orders")
    orders = pd.read_parquet(path)
    half = len(orders) // 2
    orders.iloc[:half].to_parquet(path.with_name("orders 1.parquet"))
    orders.iloc[half:].to_parquet(path.with_name("orders [1].parquet"))
    path.unlink()
    assert load_and_check(settings).success
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        rows, distinct = conn.execute(
            "select count(*), count(distinct order_id) from raw.orders"
        ).fetchone()
    assert (rows, distinct) == (len(orders), orders["order_id"].nunique())


def test_raw_warehouse_files_are_readable_by_their_owner_only(settings: Settings) -> None:
    assert load_and_check(settings).success
    assert settings.warehouse_path.stat().st_mode & 0o777 == 0o600


def test_a_landing_file_still_being_written_waits_for_a_later_run(settings: Settings) -> None:
    assert load_and_check(settings).success
    add_day_of_orders(settings, "new", unit_price=None)
    waiting = Settings(**{**vars(settings), "landing_settle_seconds": 3600})
    result = load_and_check(waiting)
    assert result.success
    assert raw_rows(settings, "orders", "order_id like '%-new'") == 0
    assert load_and_check(settings).success  # settled (settle time 0): taken now
    assert raw_rows(settings, "orders", "order_id like '%-new'") == 40


def test_mapped_text_files_still_being_written_or_staged_aside_are_not_read(tmp_path: Path) -> None:
    rows = "order_ref,customer,day,amount\nA1,c1,2026-01-03 10:00,10.5\n"
    (tmp_path / "sales.csv").write_text(rows)
    (tmp_path / "_sales.csv").write_text(rows + "A2,c2,2026-01-04 10:00,3\n")
    mapping = read_mapping(mapping_file(tmp_path, path="*sales.csv"), RAW_SOURCES)
    assert mapping.sources[0].files.paths() == [tmp_path / "sales.csv"]


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ('    header: "false"\n', "files.sales.header"),
        ("    timezone: Europe/Pariss\n", "files.sales.timezone"),
        ('    date_format: "%d/%m/%Q"\n', "files.sales.date_format"),
        ('    drop_duplicates: "yes"\n', "files.sales.drop_duplicates"),
    ],
)
def test_a_mistyped_file_setting_is_named(tmp_path: Path, setting: str, key: str) -> None:
    mapping = mapping_file(tmp_path)
    text = mapping.read_text().replace("    drop:\n", setting + "    drop:\n")
    mapping.write_text(text)
    with pytest.raises(SourceMappingError, match=f"key '{key}'"):
        read_mapping(mapping, RAW_SOURCES)


def test_a_reused_process_id_does_not_keep_a_dead_runs_slot() -> None:
    from dagster_project.defs.interrupted_runs import process_is_gone, process_tag
    from dagster_project.lib.names import PROCESS_TAG

    alive = process_tag()[PROCESS_TAG]
    assert not process_is_gone(alive)
    host, pid, started = alive.split(":")
    assert process_is_gone(f"{host}:{pid}:{float(started) - 1000:.2f}")  # same pid, older run


def test_customer_ids_holding_html_are_shown_as_text_in_check_metadata_and_data_docs(
    tmp_path: Path,
) -> None:
    html_id = "<script>alert(1)</script>"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        conn.execute("create schema marts")
        conn.execute(
            "create table marts.customer_features as select * from (values "
            f"('{html_id}', date '2024-06-30', 10, 100, -4, 250.0)) "
            "as t(customer_id, as_of_date, recency_days, tenure_days, frequency, monetary)"
        )
        conn.execute(
            "create table marts.dim_customers as select customer_id from marts.customer_features"
        )
        validator = Validator(tmp_path / "quality")
        result = validator.validate(
            conn, [valid_rows_batch(feature_columns(conn), 1, Thresholds())]
        )
    checked = check_result(
        result, lambda page: str(page), AssetKey("customer_features"), "valid_rows"
    )
    offending = checked.metadata["offending rows"].value
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in offending and html_id not in offending
    pages = list((tmp_path / "quality").rglob("*.html"))
    assert pages and not [p for p in pages if html_id in p.read_text()]


def test_publishing_refuses_a_snapshot_path_that_is_the_warehouse(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("create table kept as select 42 as answer")
        with pytest.raises(ValueError, match="is the warehouse itself"):
            publish_snapshot(conn, warehouse, "run")
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("select answer from kept").fetchall() == [(42,)]


@pytest.mark.parametrize(
    "override",
    [
        "max_null_share: '0.4) or (1=1'",
        "max_null_share: 1.5",
        "future_tolerance_hours: 2.5",
        "band_features: ['frequency); drop table x; --']",
        "max_null_share_by_column: {avg_sentiment: -1}",
        "mean_band: true",
    ],
)
def test_quality_thresholds_are_type_and_range_checked(tmp_path: Path, override: str) -> None:
    config = tmp_path / "quality.yml"
    config.write_text(override + "\n")
    key = override.split(":")[0]
    with pytest.raises(ValueError, match=f"key '{key}'"):
        Thresholds.from_yaml(config)
