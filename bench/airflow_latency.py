"""Airflow latency: a file lands in raw → its row is queryable in gold, through a running Airflow.

Measured the way people use it (embedded profile): ``airflow standalone`` (API server,
scheduler, DAG processor, triggerer, LocalExecutor) in a throwaway ``AIRFLOW_HOME`` on a
free loopback port, the generated DAGs of the demo pipeline, a seeded sample lake in a
temporary ``LAKEGLUE_HOME``. Only ``lakeglue_ecommerce_on_new_files`` is unpaused: its
Asset watcher (``NewObjectsEventTrigger`` in the triggerer) announces new raw files, the
scheduler starts a run, and the tasks run crawl (claim) → bronze → silver → quality → gold
→ queries, each on the engine the spec names.

1. warm-up: the raw zone holds ``--days`` days; the first event run ingests all of them;
2. each round: one more day of orders lands (copied under a dot-name the watcher ignores,
   then renamed into place); the clock runs until a DuckDB query through lakeglue's query
   layer sees that day in ``ecommerce_gold.daily_revenue_by_category``.

Stages come from Airflow's own metadata DB: ``detect`` = drop → asset event (watcher poll
and quiet period), ``queued`` = asset event → the run's first task starts (scheduler),
then each task's run time and the scheduling gaps between tasks; ``gold_to_query`` is when
the query first saw the day minus when Airflow recorded the gold task's end (slightly negative:
the commit is visible before the task reports back). Gold is checked against the independent
oracle of the test suite after every round.

    .venv/bin/python bench/airflow_latency.py [--rounds 2] [--days 3] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = "ecommerce"
EVENT_DAG = f"lakeglue_{PIPELINE}_on_new_files"
TASKS = ("crawl", "bronze", "silver", "quality", "gold")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1, help="sample scale (1 ≈ 100 orders per day)")
    parser.add_argument("--days", type=int, default=3, help="days in raw before the measured drops")
    parser.add_argument("--rounds", type=int, default=2, help="measured drops (medians reported)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for any one step")
    parser.add_argument("--keep", action="store_true", help="keep the temporary Airflow home and lake")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def airflow_env(work: Path, port: int) -> dict[str, str]:
    """The environment of every Airflow process: throwaway home and lake, this checkout's DAGs and plugins."""
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(work / "airflow"),
        "LAKEGLUE_HOME": str(work / "lake"),
        "LAKEGLUE_PROFILE": "embedded",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # only the event DAG is unpaused, below
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        # as `make airflow` runs it (Makefile): the scheduler naps 0.25 s instead of 1 s when idle
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": os.environ.get(
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME", "0.25"),
        "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": "local[2]"}),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "plugins")]),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        "PYTHONWARNINGS": "ignore::FutureWarning",
    })
    env.pop("LAKEGLUE_CATALOG_URL", None)
    return env


def land_day(source: Path, raw: Path, day: str) -> float:
    """Copy one generated day of orders into raw (dot-name, then rename: no half file is ever seen)."""
    src = source / PIPELINE / "orders" / f"dt={day}"
    dest = raw / PIPELINE / "orders" / f"dt={day}"
    staging = raw / PIPELINE / "orders" / f".incoming-{day}"
    shutil.copytree(src, staging)
    landed = time.time()
    staging.rename(dest)
    return landed


def wait_for(what: str, check: Any, timeout: float, interval: float = 0.25, proc: Any = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"airflow exited (code {proc.returncode}) while waiting for {what}")
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def api_up(port: int) -> bool:
    with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health",
                                                              timeout=2) as response:
        return bool(response.status == 200)
    return False


class AirflowDB:
    """Read-only views of Airflow's SQLite metadata DB (runs, task instances, asset events)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def rows(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        if not self.path.exists():
            return []
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)) as conn:
            conn.row_factory = sqlite3.Row
            try:
                return list(conn.execute(sql, params))
            except sqlite3.OperationalError:  # tables not migrated yet, or locked
                return []

    def dag_known(self, dag_id: str) -> bool:
        return bool(self.rows("SELECT 1 FROM dag WHERE dag_id = ?", dag_id))

    def runs(self, dag_id: str) -> list[sqlite3.Row]:
        return self.rows("SELECT run_id, state, queued_at, start_date, end_date FROM dag_run WHERE dag_id = ? "
                         "ORDER BY id", dag_id)

    def tasks(self, dag_id: str, run_id: str) -> list[sqlite3.Row]:
        return self.rows("SELECT task_id, state, queued_dttm, start_date, end_date FROM task_instance "
                         "WHERE dag_id = ? AND run_id = ? ORDER BY start_date", dag_id, run_id)

    def asset_event_time(self, run_id: str, dag_id: str) -> float | None:
        rows = self.rows("SELECT e.timestamp FROM asset_event e JOIN dagrun_asset_event d ON d.event_id = e.id "
                         "JOIN dag_run r ON r.id = d.dag_run_id WHERE r.dag_id = ? AND r.run_id = ? "
                         "ORDER BY e.timestamp", dag_id, run_id)
        return stamp(rows[0]["timestamp"]) if rows else None


def stamp(value: str | None) -> float:
    """Airflow's stored UTC timestamp as epoch seconds."""
    assert value is not None
    text = value.replace(" ", "T")
    parsed = datetime.fromisoformat(text if ("+" in text[10:] or text.endswith("Z")) else text + "+00:00")
    return parsed.timestamp()


def gold_has_day(day: str) -> bool:
    from lakeglue.query import run_query

    with contextlib.suppress(Exception):  # catalog or table not there yet
        sql = f"SELECT count(*) FROM {PIPELINE}_gold.daily_revenue_by_category WHERE dt = CAST(? AS DATE)"
        rows = run_query(sql, params=[day], output=None).rows
        return bool(rows and int(rows[0][0]) > 0)
    return False


def gold_matches_oracle(raw_root: Path) -> bool:
    from lakeglue.query import run_query

    sys.path.insert(0, str(ROOT))
    from tests.support.expected_gold import ExpectedGold

    got = [tuple(r) for r in run_query(f"SELECT * FROM {PIPELINE}_gold.daily_revenue_by_category "
                                       "ORDER BY dt, category", output=None).rows]
    want = [(r["dt"], r["category"], r["revenue"], r["units"], r["orders"])
            for r in ExpectedGold(raw_root).daily_revenue_by_category()]
    return got == want


def finished_run(db: AirflowDB, known: set[str], proc: Any, timeout: float) -> sqlite3.Row:
    """The next event run not in ``known``, once it has finished (raises if it failed)."""
    def new_done() -> sqlite3.Row | None:
        for run in db.runs(EVENT_DAG):
            if run["run_id"] not in known and run["state"] in ("success", "failed"):
                return run
        return None

    run = wait_for("the event run to finish", new_done, timeout, interval=0.5, proc=proc)
    if run["state"] != "success":
        raise RuntimeError(f"event run {run['run_id']} ended {run['state']}: see {db.path.parent}/logs")
    return run


def breakdown(db: AirflowDB, run: sqlite3.Row, landed: float, queryable: float) -> dict[str, float]:
    """detect, queued, per-task and gap seconds of one event run, from Airflow's metadata DB."""
    event_at = db.asset_event_time(run["run_id"], EVENT_DAG)
    tasks = db.tasks(EVENT_DAG, run["run_id"])
    first_start = min(stamp(t["start_date"]) for t in tasks)
    times: dict[str, float] = {"detect": (event_at or first_start) - landed,
                               "queued": first_start - (event_at or first_start)}
    previous_end = first_start
    gaps = 0.0
    for t in tasks:
        start, end = stamp(t["start_date"]), stamp(t["end_date"])
        name = t["task_id"] if t["task_id"] in TASKS else "queries"
        times[name] = times.get(name, 0.0) + (end - start)
        gaps += max(0.0, start - previous_end)
        previous_end = max(previous_end, end)
    times["gaps"] = gaps
    gold_end = max(stamp(t["end_date"]) for t in tasks if t["task_id"] == "gold")
    times["gold_to_query"] = queryable - gold_end
    times["total"] = queryable - landed
    return times


def main() -> int:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="lakeglue-bench-airflow-"))
    port = free_port()
    env = airflow_env(work, port)
    os.environ.update({k: env[k] for k in ("LAKEGLUE_HOME", "LAKEGLUE_PROFILE", "AIRFLOW_HOME")})
    os.environ.pop("LAKEGLUE_CATALOG_URL", None)
    from lakeglue.sample import generate
    from lakeglue.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    source, raw = work / "source", Path(settings.lake_root) / "raw"
    manifest = generate(source, scale=args.scale, seed=7, days=args.days + args.rounds)
    later = [d.isoformat() for d in manifest.days[args.days:]]
    shutil.copytree(source / PIPELINE, raw / PIPELINE,
                    ignore=lambda d, names: [n for n in names if n.removeprefix("dt=") in later])
    db = AirflowDB(work / "airflow" / "airflow.db")
    log_path = work / "airflow.log"
    rounds: list[dict[str, float]] = []
    outputs_equal = True
    started = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "airflow"), "standalone"], env=env, cwd=work,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for("the API server", lambda: api_up(port), args.timeout, interval=1.0, proc=proc)
        wait_for(f"{EVENT_DAG} to be parsed", lambda: db.dag_known(EVENT_DAG), args.timeout, interval=1.0, proc=proc)
        airflow_up_s = time.monotonic() - started
        subprocess.run([str(Path(sys.executable).parent / "airflow"), "dags", "unpause", EVENT_DAG], env=env,
                       check=True, capture_output=True)
        t = time.monotonic()
        warm = finished_run(db, set(), proc, args.timeout)  # the watcher announces the days already in raw
        warmup_s = time.monotonic() - t
        outputs_equal = gold_matches_oracle(raw)
        known = {warm["run_id"]}
        for day in later:
            time.sleep(2.0)  # the watcher has listed the lake as it is before the drop
            landed = land_day(source, raw, day)
            wait_for(f"dt={day} in gold", lambda day=day: gold_has_day(day), args.timeout, interval=0.2, proc=proc)
            queryable = time.time()
            run = finished_run(db, known, proc, args.timeout)
            known.add(run["run_id"])
            rounds.append(breakdown(db, run, landed, queryable))
            outputs_equal = outputs_equal and gold_matches_oracle(raw)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        if not args.keep and not os.environ.get("BENCH_KEEP_ON_ERROR"):
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work} (Airflow log: {log_path})")

    keys = ["detect", "queued", *TASKS, "queries", "gaps", "gold_to_query", "total"]

    def med(key: str) -> float:
        return float(statistics.median(r.get(key, 0.0) for r in rounds))

    print(f"airflow latency, scale {args.scale}, {len(rounds)} rounds (medians); Airflow up in {airflow_up_s:.1f}s, "
          f"warm-up run ({args.days} days) {warmup_s:.1f}s; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'stage':<15}{'median (s)':>12}   per round")
    for key in keys:
        print(f"{key:<15}{med(key):>12.2f}   " + " ".join(f"{r.get(key, 0.0):6.2f}" for r in rounds))
    print(f"gold equals the independent oracle after every run: {outputs_equal}")
    print("RESULT " + f"airflow_latency_s={med('total'):.1f} "
          + " ".join(f"{k}_s={med(k):.1f}" for k in keys if k != "total")
          + f" rounds={len(rounds)} outputs_equal={'true' if outputs_equal else 'false'}")
    return 0 if outputs_equal else 1


if __name__ == "__main__":
    sys.exit(main())
