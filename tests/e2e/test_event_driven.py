"""Event-driven runs through a real Airflow: scheduler, dag-processor, triggerer and api-server.

``airflow standalone`` runs against a throwaway AIRFLOW_HOME and SQLite metadata DB on a free
loopback port, with a small dedicated DAG folder (the full Spark pipeline takes ~70 s a run;
the intake → bronze hand-over with real Spark is covered by tests/integration/test_events_intake.py):

- ``e2e_on_new_files`` is scheduled on an Asset watched by NewObjectsEventTrigger; its ``crawl``
  task is the real EventIntakeOperator and ``ingest`` claims the run's bronze batch from the
  ingestion ledger exactly as the bronze job does, writing what it got to a manifest.
- ``e2e_sensor`` runs NewObjectsSensor, which defers to NewObjectsTrigger in the real triggerer.

Files dropped into raw must start exactly one run that processes exactly those files; more
files, one more run with only the new ones. Every wait has a deadline; the whole process
group is killed in ``finally``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.net import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.airflow, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
T = TypeVar("T")

SPEC = """
name: shop
database: shop
source: {prefix: shop}
events: {enabled: true}
bronze:
  orders: {format: json}
"""

DAGS = '''
"""Dedicated DAGs of tests/e2e/test_event_driven.py (written into a throwaway dags folder)."""
import json
import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Asset, AssetWatcher, task

from lakeglue_airflow.sensors.intake import EventIntakeOperator
from lakeglue_airflow.sensors.new_objects import NewObjectsSensor
from lakeglue_airflow.triggers.new_objects import NewObjectsEventTrigger

SPEC = os.environ["LAKEGLUE_E2E_SPEC"]
MANIFESTS = Path(os.environ["LAKEGLUE_HOME"]) / "results" / "e2e"

raw = Asset("lakeglue.raw.shop", watchers=[AssetWatcher(name="shop_new_raw_files", trigger=NewObjectsEventTrigger(
    prefix="shop", scope="shop", tables=["orders"], pipeline="shop", poll_seconds=1.0, quiet_seconds=2.0))])


def write_manifest(name, data):
    MANIFESTS.mkdir(parents=True, exist_ok=True)
    (MANIFESTS / f"{name}.json").write_text(json.dumps(data))


with DAG("e2e_on_new_files", schedule=[raw], start_date=datetime(2026, 1, 1), catchup=False, max_active_runs=1):
    @task(retries=0)
    def ingest(**context):
        """What the bronze job does with the ledger: take the batch's files, mark them done."""
        from lakeglue.jobs.batches import batch_id_from_run_id
        from lakeglue.ledger import NEW, Ledger

        batch = batch_id_from_run_id(context["run_id"])
        ledger = Ledger()
        wanted = [e.path for e in ledger.entries("shop/orders", state=NEW)]
        files = [e.path for e in ledger.claim("shop/orders", batch, paths=wanted)]
        ledger.mark_done("shop/orders", batch)
        intake = context["ti"].xcom_pull(task_ids="crawl")
        write_manifest(batch, {"run_id": context["run_id"], "files": files,
                               "claimed": [o["path"] for o in intake["claimed"]]})

    EventIntakeOperator(task_id="crawl", pipeline=SPEC, retries=0) >> ingest()


with DAG("e2e_sensor", schedule="@once", start_date=datetime(2026, 1, 1), catchup=False):
    @task(retries=0)
    def record(objects, **context):
        write_manifest("sensor", {"run_id": context["run_id"], "files": [o["path"] for o in objects]})

    record(NewObjectsSensor(task_id="wait", prefix="landing", pattern="*.csv", quiet_period=1.0, poke_interval=1.0,
                            timeout=240, retries=0).output)
'''


class Airflow:
    """``airflow standalone`` in its own process group, and read-only looks at its metadata DB."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lake = root / "lake"
        port = free_port()
        (root / "dags").mkdir()
        (root / "dags" / "e2e_event_dags.py").write_text(DAGS)
        (root / "shop.yml").write_text(SPEC)
        self.env = {**os.environ,
                    "AIRFLOW_HOME": str(root / "airflow"),
                    "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
                    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
                    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                    "AIRFLOW__API__HOST": "127.0.0.1",
                    "AIRFLOW__API__PORT": str(port),
                    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
                    "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(16).hex(),
                    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                    "LAKEGLUE_HOME": str(self.lake),
                    "LAKEGLUE_E2E_SPEC": str(root / "shop.yml"),
                    "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
        self.env.pop("LAKEGLUE_CATALOG_URL", None)
        self.db = root / "airflow" / "airflow.db"
        self.log_path = root / "standalone.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "wb")  # noqa: SIM115 - the child owns it; closed when we stop
        self.proc = subprocess.Popen([str(BIN / "airflow"), "standalone"], cwd=self.root, env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        with contextlib.suppress(ProcessLookupError):  # whatever survived SIGTERM goes with the group
            os.killpg(self.proc.pid, signal.SIGKILL)

    def log_tail(self, n: int = 8000) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else "(no log)"

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if not self.db.exists():
            return []
        try:
            with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10) as conn:
                return list(conn.execute(sql, params))
        except sqlite3.OperationalError:  # not migrated yet, or locked for a moment by the scheduler
            return []

    def runs(self, dag_id: str) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self.rows(
            "SELECT run_id, run_type, state FROM dag_run WHERE dag_id = ? ORDER BY id", dag_id)]

    def task_state(self, dag_id: str, task_id: str) -> str | None:
        found = self.rows("SELECT state FROM task_instance WHERE dag_id = ? AND task_id = ?", dag_id, task_id)
        return found[0][0] if found else None

    def wait(self, what: str, probe: Callable[[], T | None], timeout: float) -> T:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, f"airflow exited:\n{self.log_tail()}"
            value = probe()
            if value:
                return value
            time.sleep(0.5)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{self.log_tail()}")

    def holds(self, what: str, probe: Callable[[], bool], seconds: float) -> None:
        """``probe`` stays true for ``seconds`` (checked every 0.5 s; fails at the first false)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert probe(), f"{what} stopped holding\n{self.log_tail()}"
            time.sleep(0.5)

    def land(self, rel: str, text: str) -> str:
        path = self.lake / "raw" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")  # write then rename, like an upload that appears whole
        tmp.write_text(text)
        tmp.rename(path)
        return str(path)

    def manifest(self, name: str) -> dict[str, Any]:
        return dict(json.loads((self.lake / "results" / "e2e" / f"{name}.json").read_text()))


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    af = Airflow(tmp_path_factory.mktemp("event-e2e"))
    af.start()
    try:
        yield af
    finally:
        af.stop()


def batch_of(run_id: str) -> str:
    from lakeglue.jobs.batches import batch_id_from_run_id

    return batch_id_from_run_id(run_id)


def finished(af: Airflow, dag_id: str, count: int) -> Callable[[], list[tuple[str, str, str]] | None]:
    def probe() -> list[tuple[str, str, str]] | None:
        runs = af.runs(dag_id)
        failed = [r for r in runs if r[2] == "failed"]
        assert not failed, f"{dag_id} run failed: {failed}\n{af.log_tail()}"
        return runs if len(runs) >= count and all(r[2] == "success" for r in runs) else None
    return probe


def test_dropped_files_start_exactly_one_run_each_time(airflow: Airflow) -> None:
    af = airflow
    first = [af.land(f"shop/orders/dt=2026-11-0{d}/part-0.json", f'{{"order_id": {d}}}\n') for d in (1, 2, 3)]
    af.land("shop/orders/_SUCCESS", "")
    af.land("shop/refunds/r.json", "{}\n")  # not a bronze table of the pipeline: never announced
    runs = af.wait("the first event run to succeed", finished(af, "e2e_on_new_files", 1), timeout=150)
    assert [(r[1], r[2]) for r in runs] == [("asset_triggered", "success")]
    m1 = af.manifest(batch_of(runs[0][0]))
    assert m1["files"] == first and m1["claimed"] == first

    # four more polls of the watcher (and its quiet period twice over): nothing may start another run
    af.holds("exactly one event run", lambda: len(af.runs("e2e_on_new_files")) == 1, seconds=4)

    second = [af.land(f"shop/orders/dt=2026-11-04/part-{i}.json", f'{{"order_id": {40 + i}}}\n') for i in (0, 1)]
    runs = af.wait("the second event run", finished(af, "e2e_on_new_files", 2), timeout=90)
    assert [(r[1], r[2]) for r in runs] == [("asset_triggered", "success")] * 2
    m2 = af.manifest(batch_of(runs[1][0]))
    assert m2["files"] == second and m2["claimed"] == second


def test_the_sensor_defers_to_the_triggerer_and_returns_what_it_claimed(airflow: Airflow) -> None:
    af = airflow
    af.wait("the sensor to defer", lambda: af.task_state("e2e_sensor", "wait") == "deferred", timeout=120)
    files = [af.land("landing/a.csv", "id\n1\n"), af.land("landing/b.csv", "id\n2\n")]
    af.land("landing/c.json", "{}\n")  # does not match the sensor's pattern
    runs = af.wait("the sensor run to succeed", finished(af, "e2e_sensor", 1), timeout=90)
    manifest = af.manifest("sensor")
    assert manifest["run_id"] == runs[0][0] and manifest["files"] == sorted(files)
