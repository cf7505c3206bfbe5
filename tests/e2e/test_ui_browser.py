"""The Data Lake section of the Airflow UI, in a real browser against a real API server.

The demo lake is built the way ``make demo`` builds it (sample data, then the ecommerce DAG
through Airflow's ``dag.test``, so the plugin's listener writes the run log; the session's
``demo_lake`` run, shared with tests/e2e/test_pipeline_dag.py, restored fresh), then a new day
of orders with a new column is crawled, which gives the raw orders table a second version
to diff. ``airflow api-server`` serves it on a free loopback port with SimpleAuthManager
users; headless Debian Chromium (driven by playwright) logs in through Airflow's login page
and opens the pages. Screenshots go to the test's output folder (and, when
``LAKEGLUE_UI_SCREENSHOTS_COPY`` names a folder, a copy there).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from lakeglue.catalog.sql import SqlCatalog
from lakeglue.run_log import task_runs
from lakeglue.settings import Settings
from tests.support.demo_run import DemoLake, tail
from tests.support.net import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.airflow, pytest.mark.spark, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAG_ID = "lakeglue_ecommerce"
CHROMIUM = "/usr/bin/chromium"
USER, PASSWORD = "admin", "admin"
NEW_DAY = "2026-11-09"


@dataclass
class Server:
    base: str
    root: Path
    settings: Settings
    run_id: str
    shots: Path

    def request(self, path: str, token: str | None = None) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        req = urllib.request.Request(self.base + path, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")
        except urllib.error.URLError as exc:  # not listening yet
            return 0, str(exc)

    def token(self) -> str:
        req = urllib.request.Request(self.base + "/auth/token", method="POST",
                                     data=json.dumps({"username": USER, "password": PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return str(json.loads(resp.read())["access_token"])


def _sh(env: dict[str, str], log: Path, *cmd: str, timeout: float = 900) -> str:
    out = subprocess.run(list(cmd), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    log.write_text(out.stdout + out.stderr)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{(out.stdout + out.stderr)[-5000:]}"
    return out.stdout


def _add_day_with_new_column(raw: Path) -> None:
    """A day of orders whose records carry a field no earlier file had: the crawler adds the column."""
    folder = raw / "ecommerce" / "orders" / f"dt={NEW_DAY}"
    folder.mkdir(parents=True)
    rows = [{"order_id": 880000 + i, "customer_id": 1, "order_ts": f"{NEW_DAY}T10:00:00",
             "updated_at": f"{NEW_DAY}T10:00:00", "status": "placed", "channel": "web", "gift_note": "happy birthday",
             "items": [{"product_id": 501, "quantity": 1, "unit_price": 9.99}]} for i in range(3)]
    (folder / "orders-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def server(demo_lake: DemoLake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"Debian's chromium ({CHROMIUM}) is not installed: run `make chromium`")
    pytest.importorskip("playwright.sync_api", reason="playwright (requirements.txt) is not installed")
    # the lake as `make demo` leaves it: sample data, then the ecommerce DAG through dag.test (the session's run)
    demo = demo_lake.checkout()
    assert demo.first_run.returncode == 0, tail(demo.first_run)
    run_id = re.search(rf"DAG RUN {DAG_ID} (\S+): ", demo.first_run.stdout).group(1)  # type: ignore[union-attr]
    root = tmp_path_factory.mktemp("ui-browser")
    port = free_port()
    env = {**demo.env,
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
           "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(port),
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/"}
    (demo.airflow_home / "simple_auth_manager_passwords.json.generated").write_text(json.dumps({USER: PASSWORD}))
    log = open(root / "api-server.log", "wb")  # noqa: SIM115 - closed after the server stops
    # the server starts up while the new day is crawled: it reads the lake per request, not at start
    proc = subprocess.Popen([str(BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    srv = Server(f"http://127.0.0.1:{port}", root, demo.settings, run_id, root / "screenshots")
    try:
        _add_day_with_new_column(demo.raw_root)
        _sh(env, root / "crawl2.log", str(BIN / "lakeglue"), "crawl", "ecommerce")
        deadline = time.monotonic() + 180
        while srv.request("/api/v2/monitor/health")[0] != 200:
            assert proc.poll() is None, (root / "api-server.log").read_text()[-5000:]
            assert time.monotonic() < deadline, "api-server did not answer within 180 s"
            time.sleep(0.25)
        yield srv
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _route_paths() -> list[tuple[str, str]]:
    """Every (method, path) of the plugin app, path parameters filled in: new routes are covered by themselves."""
    from fastapi.routing import APIRoute

    from lakeglue_airflow.ui.app import app

    out = []
    for route in app.routes:
        assert isinstance(route, APIRoute), f"{route} is not an APIRoute: it would escape the app's auth dependency"
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        query = "?from=1&to=2" if route.path.endswith("/diff") else ""
        out += [(method, path + query) for method in sorted(route.methods)]
    return out


def test_every_plugin_route_refuses_a_request_without_a_token(server: Server) -> None:
    routes = _route_paths()
    assert {p.split("?")[0] for _, p in routes} >= {"/", "/tables/x/x", "/tables/x/x/diff", "/runs/x/x", "/queries",
                                                   "/queries/x", "/datadocs/x"}
    good = server.token()
    for method, path in routes:
        assert method in {"GET", "HEAD"}, f"{method} {path}: the Data Lake app is read-only"
        assert server.request("/lakeglue" + path)[0] == 401, path
        assert server.request("/lakeglue" + path, token="not-a-jwt")[0] == 403, path
        assert server.request("/lakeglue" + path, token=good)[0] not in (401, 403), path
    # the framework's own pages (docs, OpenAPI) are switched off rather than left open
    assert server.request("/lakeglue/docs")[0] == 404 and server.request("/lakeglue/openapi.json")[0] == 404


def _shot(page: Any, server: Server, name: str) -> None:
    server.shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(server.shots / name), full_page=True)
    copy_to = os.environ.get("LAKEGLUE_UI_SCREENSHOTS_COPY")
    if copy_to:
        Path(copy_to).mkdir(parents=True, exist_ok=True)
        shutil.copy(server.shots / name, Path(copy_to) / name)


def test_data_lake_pages_in_a_browser(server: Server) -> None:
    from playwright.sync_api import expect, sync_playwright

    catalog = SqlCatalog(server.settings.catalog_url)
    runs = {r.task_id: r for r in task_runs(server.settings.catalog_url, dag_id=DAG_ID, run_id=server.run_id)}
    assert set(runs) == {"crawl", "bronze", "silver", "quality", "gold", "query_top_categories"}
    bronze_orders = next(t for t in runs["bronze"].result["tables"] if t["table"] == "ecommerce_bronze.orders")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)

        # log in as a user does: Airflow's login form, then the UI
        page.goto(server.base + "/")
        page.wait_for_url(re.compile(r".*/auth/login.*"))
        page.get_by_label(re.compile("username", re.I)).fill(USER)
        page.get_by_label(re.compile("password", re.I)).fill(PASSWORD)
        page.get_by_role("button", name=re.compile("sign in|log in|login", re.I)).click()
        page.wait_for_url(lambda url: "/auth/login" not in url)

        # the nav entry embeds the section in the Airflow UI
        page.goto(server.base + "/plugin/lakeglue")
        frame = page.frame_locator("iframe")
        expect(frame.get_by_role("heading", name="Databases and tables")).to_be_visible()
        _shot(page, server, "01-airflow-ui-data-lake.png")

        # databases and tables, then a search
        page.goto(server.base + "/lakeglue/")
        for db in ("ecommerce_raw", "ecommerce_bronze", "ecommerce_silver", "ecommerce_gold"):
            expect(page.locator(f"#db-{db}")).to_be_visible()
        expect(page.get_by_role("link", name="daily_revenue_by_category")).to_be_visible()
        expect(page.get_by_role("link", name="customer_lifetime_value")).to_be_visible()
        _shot(page, server, "02-databases-and-tables.png")
        page.get_by_role("searchbox").fill("lifetime")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("link", name="customer_lifetime_value")).to_be_visible()
        expect(page.get_by_role("link", name="daily_revenue_by_category")).to_have_count(0)

        # a silver table: counts, partitions, versions with their run, quality history chart
        page.goto(server.base + "/lakeglue/tables/ecommerce_silver/orders")
        silver_rows = next(t for t in runs["silver"].result["tables"] if t["table"] == "ecommerce_silver.orders")
        expect(page.locator("#row-count")).to_have_text(f"{silver_rows['rows_written']:,}")
        versions = page.locator("#versions + form + table, #versions + table").first
        expect(versions).to_contain_text(f"{DAG_ID} / {server.run_id} / silver")
        chart = page.locator("svg.quality-chart")
        expect(chart).to_be_visible()
        expect(chart.locator("rect.cell.pass").first).to_be_attached()
        assert chart.locator("rect.cell").count() >= 3
        expect(page.locator("#quality ~ table").first).to_contain_text("pass")
        expect(page.locator("#lineage + .lineage")).to_contain_text("ecommerce_bronze.orders")
        _shot(page, server, "03-table-silver-orders.png")
        docs = page.request.get(server.base + "/lakeglue/datadocs/index.html")  # the link quality tasks carry
        assert docs.status == 200 and docs.headers["content-type"].startswith("text/html")
        assert docs.headers["content-security-policy"].startswith("sandbox")

        # bronze orders: the quarantine by reason
        page.goto(server.base + "/lakeglue/tables/ecommerce_bronze/orders")
        expect(page.locator("#quarantine + p")).to_contain_text(f"{bronze_orders['rows_quarantined']:,} quarantined")
        expect(page.get_by_text("malformed JSON: not a complete object").first).to_be_visible()
        _shot(page, server, "04-table-bronze-orders-quarantine.png")

        # raw orders has two versions (the second crawl added a column): the diff page shows it
        raw = catalog.get_table("ecommerce_raw", "orders")
        assert raw.version >= 2
        page.goto(server.base + "/lakeglue/tables/ecommerce_raw/orders")
        page.get_by_role("link", name=f"diff with v{raw.version - 1}").click()
        page.wait_for_url(re.compile(rf".*/diff\?from={raw.version - 1}&to={raw.version}"))
        title = f"version {raw.version - 1} → version {raw.version}"
        expect(page.get_by_role("heading", level=1)).to_contain_text(title)
        expect(page.locator("tr.diff-add").filter(has_text="gift_note")).to_be_visible()
        _shot(page, server, "05-version-diff.png")

        # the run report: rows per job, quality, query output with its links
        page.goto(server.base + "/lakeglue/")
        page.get_by_role("link", name=server.run_id).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(server.run_id)
        jobs = page.locator("table.jobs")
        bronze_row = jobs.locator("tr").filter(has_text="ecommerce_bronze.orders")
        expect(bronze_row).to_contain_text(f"{bronze_orders['rows_written']:,}")
        expect(bronze_row).to_contain_text(f"{bronze_orders['rows_quarantined']:,}")
        expect(jobs.locator("tr").filter(has_text="ecommerce_silver.orders")).to_be_visible()
        expect(page.locator("span.pill.pass").first).to_be_visible()
        query_id = runs["query_top_categories"].result["query_id"]
        expect(page.get_by_role("link", name=query_id)).to_be_visible()
        _shot(page, server, "06-run-report.png")

        # the same report as the "Lake report" tab of the DAG run in Airflow's own UI
        page.goto(server.base + f"/dags/{DAG_ID}/runs/{quote(server.run_id, safe='')}")
        page.get_by_role("link", name="Lake report").click()
        embedded = page.frame_locator("iframe")
        expect(embedded.get_by_role("heading", level=1)).to_contain_text(server.run_id)
        expect(embedded.locator("table.jobs")).to_contain_text("ecommerce_bronze.orders")
        _shot(page, server, "07-airflow-dag-run-lake-report-tab.png")
        page.goto(server.base + f"/lakeglue/runs/{DAG_ID}/{quote(server.run_id, safe='')}")

        # the query output it links to: SQL, rows, a preview and the result file
        page.get_by_role("link", name=query_id).click()
        expect(page.locator("pre.sql")).to_contain_text("daily_revenue_by_category")
        expect(page.get_by_text("Run by task query_top_categories")).to_be_visible()
        expect(page.locator("table.result tr")).to_have_count(6)  # header + 5 rows
        result = page.request.get(server.base + f"/lakeglue/queries/{quote(query_id)}/result")
        assert result.status == 200 and result.text().startswith("revenue_rank,category")
        _shot(page, server, "08-query.png")
        page.goto(server.base + "/lakeglue/queries")
        expect(page.get_by_role("link", name=re.compile("SELECT|WITH"))).to_have_count(1)
        _shot(page, server, "09-query-history.png")
        browser.close()
