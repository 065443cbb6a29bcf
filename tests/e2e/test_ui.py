"""The Dagster UI in a real browser: the webserver on a small materialized warehouse, driven by
Playwright in headless Chromium (Debian's, at /usr/bin/chromium; `.ci/run` installs it).

It checks what a user looks at first: every asset group in the lineage graph, the plots of
segmentation_model's latest materialization (each image loads) and its candidate table, the status
of the data-quality checks, and the schedules and sensors. With UPDATE_SCREENSHOTS=1 the
screenshots are also copied to docs/images/ (the README shows the graph).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance
from playwright.sync_api import Browser, Page, expect, sync_playwright

from dagster_project.lib.names import BACKTESTS, SEGMENTATION_MODEL
from dagster_project.lib.settings import REPO_ROOT, Settings
from dagster_project.run import run_job
from tests.conftest import QUICK_TRAINING, settings_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
STARTUP_SECONDS = 120
UI_TIMEOUT_MS = 60_000
SCREENSHOTS = REPO_ROOT / "docs" / "images"

EXPECTED_GROUPS = {
    "ingest",
    "reference",
    "staging",
    "intermediate",
    "marts",
    "quality",
    "enrichment",
    "segmentation",
    "serving",
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def materialized(tmp_path_factory: pytest.TempPathFactory, demo_landing: Path) -> dict:
    """A full refresh recorded in a Dagster instance of its own, as `make run` leaves it."""
    root = tmp_path_factory.mktemp("ui")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / ".dagster_home" / "dagster.yaml", home / "dagster.yaml")
    config = root / "segmentation.yml"
    config.write_text(QUICK_TRAINING)
    settings = settings_for(root, demo_landing)
    environment = {
        "DAGSTER_HOME": str(home),
        "SEG_WAREHOUSE_PATH": str(settings.warehouse_path),
        "SEG_LANDING_DIR": str(settings.landing_dir),
        "SEG_LANDING_SETTLE_SECONDS": "0",
        "SEG_AS_OF_DATE": settings.as_of_date,
        "SEG_SEGMENTATION_CONFIG": str(config),
    }
    settings = Settings.from_env(environment)
    with DagsterInstance.local_temp(str(home)) as instance:
        assert run_job(settings, instance).success
        plots = {
            asset: sorted(
                key
                for key, value in instance.get_latest_materialization_event(
                    AssetKey(asset)
                ).asset_materialization.metadata.items()
                if "data:image/png" in str(getattr(value, "value", ""))
            )
            for asset in (SEGMENTATION_MODEL, BACKTESTS)
        }
    return {"environment": environment, "plots": plots}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def webserver(materialized: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """dagster-webserver on the materialized instance, as `make ui` serves it (without the
    daemon: no schedule or sensor may start runs during the test)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("webserver") / "webserver.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("dagster-webserver")),
                *("-h", "127.0.0.1", "-p", str(port)),
            ],  # the code location of pyproject's [tool.dagster], as `make ui` loads it
            env=os.environ | materialized["environment"],
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, server, log)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_serving(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, f"dagster-webserver exited:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"dagster-webserver did not answer in {STARTUP_SECONDS} s")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), as .ci/run "
        "does; Playwright's own browser download is not reachable here."
    )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, webserver: str, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=webserver)
    context.set_default_timeout(UI_TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


def visit(page: Page, path: str) -> None:
    """Opens `path`, dismissing the first-visit "Join the community" dialog if it shows."""
    page.goto(path)
    page.wait_for_load_state("networkidle")
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.first.click()


def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    shot = tmp_path / name
    page.screenshot(path=shot)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SCREENSHOTS / name)


def test_the_asset_graph_shows_every_group(page: Page, tmp_path: Path) -> None:
    """Every group the definitions declare appears in the lineage sidebar."""
    visit(page, "/asset-groups")
    sidebar = page.get_by_text("Global asset lineage")
    expect(sidebar).to_be_visible()
    for group in sorted(EXPECTED_GROUPS):
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    screenshot(page, "asset-graph.png", tmp_path)


def _close_dialog(page: Page) -> None:
    """Closes the open dialog and waits until it is gone, so the next one is the only one."""
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def _every_plot_renders(page: Page, plots: list[str], tmp_path: Path) -> None:
    for plot in plots:
        row = page.locator("tr", has=page.get_by_text(plot, exact=True))
        row.get_by_text("[Show Markdown]").click()
        image = page.get_by_role("dialog").locator("img")
        expect(image).to_have_count(1)
        image.evaluate("img => img.decode()")  # rejects when the image cannot be decoded
        width = image.evaluate("img => img.complete ? img.naturalWidth : 0")
        assert width > 100, f"{plot} did not render"
        screenshot(page, f"model-{plot}.png", tmp_path)
        _close_dialog(page)


def test_the_model_shows_its_candidates_and_every_plot_renders(
    page: Page, materialized: dict, tmp_path: Path
) -> None:
    visit(page, f"/assets/{SEGMENTATION_MODEL}")
    row = page.locator("tr", has=page.get_by_text("candidates", exact=True))
    row.get_by_text("[Show Markdown]").click()
    candidates = page.get_by_role("dialog")
    expect(candidates.get_by_text("rejected_because", exact=True)).to_be_visible()
    expect(candidates.get_by_text("kmeans(k=3)", exact=True).first).to_be_visible()
    screenshot(page, "model-candidates.png", tmp_path)
    _close_dialog(page)
    assert materialized["plots"][SEGMENTATION_MODEL] == [
        "k_selection",
        "membership_calibration_plot",
        "segment_map",
        "segment_sizes",
    ]
    _every_plot_renders(page, materialized["plots"][SEGMENTATION_MODEL], tmp_path)


def test_the_backtest_shows_its_table_and_plot(
    page: Page, materialized: dict, tmp_path: Path
) -> None:
    visit(page, f"/assets/{BACKTESTS}")
    expect(page.get_by_text("eta_squared", exact=True).first).to_be_visible()
    assert materialized["plots"][BACKTESTS] == ["backtest_plot"]
    _every_plot_renders(page, materialized["plots"][BACKTESTS], tmp_path)


GX_METADATA = ("failed expectations", "rows validated", "data docs")


@pytest.mark.parametrize(
    ("asset", "check", "shown"),
    [
        ("customer_features", "valid_rows", GX_METADATA),
        ("raw_order_items", "meets_raw_expectations", GX_METADATA),
        (
            "customer_features",
            "consistent_with_last_validated_run",
            ("No validated run yet: this one becomes the first baseline.",),
        ),
    ],
)
def test_data_quality_checks_show_their_status(
    page: Page, asset: str, check: str, shown: tuple[str, ...], tmp_path: Path
) -> None:
    visit(page, f"/assets/{asset}?view=checks&checkDetail={check}")
    expect(page.get_by_text("This is a blocking asset check")).to_be_visible()
    expect(page.get_by_text("Latest execution", exact=True)).to_be_visible()
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    for text in shown:
        expect(page.get_by_text(text, exact=True).first).to_be_visible()
    screenshot(page, f"check-{check}.png", tmp_path)


def test_schedules_and_sensors_are_listed(page: Page, tmp_path: Path) -> None:
    visit(page, "/automation")
    for name in (
        "daily_refresh_schedule",
        "weekly_retrain_schedule",
        "landing_files_sensor",
        "drift_retrain_sensor",
        "interrupted_runs",
        "run_failure_alerts",
    ):
        expect(page.get_by_text(name, exact=True)).to_be_visible()
    screenshot(page, "automation.png", tmp_path)
