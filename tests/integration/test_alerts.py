"""Alerts in a real Airflow run: a failing task e-mails and posts to Slack, a quality warning too.

The DAG runs with ``dag.test`` in a subprocess; the SMTP server is aiosmtpd on a free loopback
port and the Slack webhook a local HTTP server, both reached through Airflow connections (env
``AIRFLOW_CONN_*``), through the SMTP and Slack providers' notifiers, as in production.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.airflow_home import AirflowHomes

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

DAG_FILE = '''
import json, os
from datetime import datetime
from airflow.sdk import DAG, task
from lakeglue.quality.result import QualityResult, RuleResult
from lakeglue_airflow.alerts import LakeAlertNotifier

targets = json.loads(os.environ["ALERT_TARGETS"])

with DAG("lakeglue_alert_probe", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    @task(retries=0, on_failure_callback=[LakeAlertNotifier("failure", targets)])
    def bronze():
        raise ValueError("bronze.orders: 3 files unreadable; {{ not a template }}")

    @task(on_success_callback=[LakeAlertNotifier("quality_warning", targets)])
    def quality(ti=None):
        """Pushes what LakeQualityOperator pushes: QualityResult.to_xcom() of each validated table."""
        warn = RuleResult(index=0, type="expect_column_values_to_not_be_null", columns=("email",), severity="warn",
                          success=False, unexpected_count=4, unexpected_percent=2.0, name='IsComplete "email"')
        ok = RuleResult(index=1, type="expect_column_values_to_be_unique", columns=("id",), severity="error",
                        success=True)
        results = [QualityResult("shop_customers", "shop_silver.customers", ti.run_id, (warn, ok)),
                   QualityResult("shop_orders", "shop_silver.orders", ti.run_id, (ok,))]
        ti.xcom_push(key="quality_results", value=[r.to_xcom() for r in results])

    @task(on_success_callback=[LakeAlertNotifier("quality_warning", targets)])
    def clean_quality(ti=None):
        ok = RuleResult(index=0, type="expect_column_values_to_be_unique", columns=("id",), severity="error",
                        success=True)
        ti.xcom_push(key="quality_results", value=[QualityResult("s", "shop_silver.x", ti.run_id, (ok,)).to_xcom()])

    bronze()
    quality()
    clean_quality()

if __name__ == "__main__":
    run = dag.test()
    print("PROBE_STATE", run.state, run.run_id)
'''


class _Mailbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Mailbox]]:
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # aiosmtpd checks its server by connecting to it: it needs a real port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


@pytest.fixture
def webhook_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    posts: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.append({"path": self.path, "body": json.loads(body)})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")  # what Slack answers

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret", posts
    finally:
        server.shutdown()


def test_failure_and_quality_warning_alerts_reach_smtp_and_slack(
        tmp_path: Path, smtp_server: tuple[int, _Mailbox], webhook_server: tuple[str, list[dict[str, Any]]],
        airflow_homes: AirflowHomes) -> None:
    smtp_port, mailbox = smtp_server
    webhook_url, posts = webhook_server
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "alert_probe.py").write_text(DAG_FILE)
    targets = [{"type": "smtp", "conn_id": "lake_mail", "to": ["oncall@example.com"]},
               {"type": "slack_webhook", "conn_id": "lake_slack"}]
    run_env = {**os.environ, "AIRFLOW_HOME": str(airflow_homes.new(tmp_path / "airflow")),
               "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
               "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "AIRFLOW__API__BASE_URL": "https://airflow.example.com",
               "LAKEGLUE_HOME": str(tmp_path / "lake"), "ALERT_TARGETS": json.dumps(targets),
               "AIRFLOW_CONN_LAKE_MAIL": json.dumps({
                   "conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
                   "extra": {"from_email": "lakeglue@example.com", "disable_tls": True, "disable_ssl": True,
                             "timeout": 10, "retry_limit": 0}}),
               "AIRFLOW_CONN_LAKE_SLACK": json.dumps({"conn_type": "slackwebhook", "password": webhook_url})}
    ran = subprocess.run([str(BIN / "python"), str(dags / "alert_probe.py")], env=run_env, capture_output=True,
                         text=True, timeout=300, cwd=ROOT)
    log = ran.stdout + ran.stderr
    assert "PROBE_STATE failed" in ran.stdout, log[-6000:]
    run_id = ran.stdout.split("PROBE_STATE failed ", 1)[1].split()[0]
    from urllib.parse import quote

    report = f"https://airflow.example.com/lakeglue/runs/lakeglue_alert_probe/{quote(run_id, safe='')}"

    # one failure and one warning alert per target; the clean quality task sent nothing
    subjects = sorted(str(m["Subject"]) for m in mailbox.messages)
    assert subjects == [f"[lakeglue] lakeglue_alert_probe: 1 quality warning in run {run_id}",
                        "[lakeglue] lakeglue_alert_probe: task bronze failed"], log[-6000:]
    by_subject = {str(m["Subject"]): m for m in mailbox.messages}
    failure_mail = by_subject["[lakeglue] lakeglue_alert_probe: task bronze failed"]
    assert failure_mail["To"] == "oncall@example.com" and failure_mail["From"] == "lakeglue@example.com"
    body = _html_body(failure_mail)
    assert "bronze.orders: 3 files unreadable; {{ not a template }}" in body  # sent as written, not rendered
    assert f'<a href="{report}">Run report</a>' in body

    texts = sorted((p["body"]["text"] for p in posts), key=lambda t: "quality" in t)
    assert [p["path"] for p in posts] == ["/services/T000/B000/secret"] * 2
    assert texts[0].startswith("*[lakeglue] lakeglue_alert_probe: task bronze failed*\nTask bronze of "
                               f"lakeglue_alert_probe failed in run {run_id} (try 1).")
    assert f"Run report: {report}" in texts[0]
    assert 'shop_customers on shop_silver.customers: 1 of 2 rules failed (warnings only, the gate passes)' in texts[1]
    assert 'IsComplete "email"' in texts[1] and "shop_silver.orders" not in texts[1]
    assert f"Run report: {report}" in texts[1]


def _html_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html", "plain"))
    assert part is not None
    return str(part.get_content())
