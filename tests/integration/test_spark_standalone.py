"""The pipeline's Spark jobs on a real Spark standalone cluster: a master and two workers on loopback.

The jobs go through the path the compose profile uses: an Airflow run (``dag.test()`` in a
subprocess) of ``LakeSparkJobOperator`` tasks, i.e. the Spark provider's SparkSubmitOperator
with the Airflow connection ``spark_default`` pointing at ``spark://127.0.0.1:<port>``.
Cluster-wide Spark settings come from ``spark-defaults.conf`` in ``SPARK_CONF_DIR``, as a
deployment would set them, not from the operator: small executors (the machine is shared),
the driver waits for both executors before it schedules, and the event log is on, so the test
can say on which executor every task ran. Gold must equal the independent oracle that the local
(``local[2]``) runs are checked against in tests/integration/test_spark_jobs.py and tests/e2e.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lakeglue.query import run_query
from lakeglue.settings import Settings
from tests.support.airflow_home import AirflowHomes
from tests.support.expected_gold import ExpectedGold
from tests.support.jvm import spark_java_option_lines
from tests.support.spark_standalone import StandaloneCluster, executor_task_counts

pytestmark = [pytest.mark.spark, pytest.mark.airflow, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAG_ID = "lakeglue_ecommerce_on_cluster"
JOBS = ("bronze", "silver", "gold")

#: The pipeline's chain with every job on Spark, built from the same operators the DAG factory uses.
DAG_FILE = f'''
from datetime import datetime

from airflow.sdk import DAG, chain

from lakeglue_airflow.operators.crawler import LakeCrawlerOperator
from lakeglue_airflow.operators.spark_job import LakeSparkJobOperator

with DAG(dag_id="{DAG_ID}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    chain(LakeCrawlerOperator(task_id="crawl", pipeline="ecommerce"),
          *(LakeSparkJobOperator(task_id=job, pipeline="ecommerce", job=job) for job in {JOBS!r}))
'''

RUN_DAG = """
import runpy, sys
run = runpy.run_path(sys.argv[1])["dag"].test()
print("DAG RUN STATE", run.state, flush=True)
sys.exit(0 if str(run.state).endswith("success") else 1)
"""


@dataclass
class ClusterRun:
    cluster: StandaloneCluster
    settings: Settings
    events: Path
    run: subprocess.CompletedProcess[str]
    #: (application id, executor id) → worker index, from the workers' own status pages
    executor_worker: dict[tuple[str, str], int]

    def tail(self, chars: int = 8000) -> str:
        return (self.run.stdout + self.run.stderr)[-chars:]


def spark_defaults(events: Path) -> str:
    return "\n".join([
        "spark.executor.memory 512m",
        "spark.executor.cores 1",
        "spark.cores.max 2",
        "spark.driver.memory 1g",
        *spark_java_option_lines(),  # short jobs on small data (tests/support/jvm.py)
        # start scheduling only once both executors registered, so neither worker sits idle by chance
        "spark.scheduler.minRegisteredResourcesRatio 1.0",
        "spark.scheduler.maxRegisteredResourcesWaitingTime 60s",
        "spark.eventLog.enabled true",
        "spark.eventLog.compress false",  # plain JSON lines, readable without a zstd codec
        "spark.eventLog.rolling.enabled false",
        f"spark.eventLog.dir {events.as_uri()}",
    ]) + "\n"


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory: pytest.TempPathFactory, airflow_homes: AirflowHomes) -> Iterator[ClusterRun]:
    root = tmp_path_factory.mktemp("standalone")
    events, conf_dir, dags = root / "events", root / "conf", root / "dags"
    for folder in (events, conf_dir, dags):
        folder.mkdir()
    (conf_dir / "spark-defaults.conf").write_text(spark_defaults(events))
    (dags / "cluster_dag.py").write_text(DAG_FILE)
    settings = Settings(lake_root=str(root / "lake"))
    cluster = StandaloneCluster(root / "cluster", workers=2, worker_cores=1, worker_memory="1g")
    cluster.launch()  # the daemons start while the Airflow home and the sample data are made
    try:
        env = {**os.environ,
               "AIRFLOW_HOME": str(airflow_homes.new(root / "airflow")),
               "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
               "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
               "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": cluster.master_url}),
               "SPARK_CONF_DIR": str(conf_dir),
               "LAKEGLUE_PROFILE": "embedded",
               "LAKEGLUE_HOME": settings.lake_root,
               "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
               "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "plugins"), str(ROOT)]),
               "SPARK_LOCAL_IP": "127.0.0.1"}
        env.pop("LAKEGLUE_CATALOG_URL", None)

        def sh(*cmd: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
            return subprocess.run(list(cmd), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)

        done = sh(str(BIN / "lakeglue"), "sample", "--reset")
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        cluster.wait_ready()
        run = sh(str(BIN / "python"), "-c", RUN_DAG, str(dags / "cluster_dag.py"), timeout=900)
        (root / "dag-run.log").write_text(run.stdout + run.stderr)
        executor_worker = {}
        for n in range(cluster.workers):
            status = cluster.worker_status(n)
            for executor in status.get("finishedexecutors", []) + status.get("executors", []):
                executor_worker[(executor["appid"], str(executor["id"]))] = n
        yield ClusterRun(cluster, settings, events, run, executor_worker)
    finally:
        cluster.stop()


def gold(settings: Settings, table: str, order_by: str) -> list[tuple[Any, ...]]:
    result = run_query(f"SELECT * FROM ecommerce_gold.{table} ORDER BY {order_by}", output=None, settings=settings)
    return [tuple(r) for r in result.rows]


def test_jobs_were_submitted_to_the_standalone_master(cluster_run: ClusterRun) -> None:
    assert cluster_run.run.returncode == 0, cluster_run.tail()
    assert f"--master {cluster_run.cluster.master_url}" in cluster_run.run.stdout + cluster_run.run.stderr
    completed = cluster_run.cluster.master_status()["completedapps"]
    assert sorted(app["name"] for app in completed) == sorted(f"lakeglue-ecommerce-{job}" for job in JOBS)


def test_gold_on_the_cluster_equals_the_oracle_of_the_local_runs(cluster_run: ClusterRun) -> None:
    assert cluster_run.run.returncode == 0, cluster_run.tail()
    oracle = ExpectedGold(Path(cluster_run.settings.lake_root) / "raw")
    revenue = [(r["dt"], r["category"], r["revenue"], r["units"], r["orders"])
               for r in oracle.daily_revenue_by_category()]
    assert gold(cluster_run.settings, "daily_revenue_by_category", "dt, category") == revenue
    clv = [tuple(r.values()) for r in oracle.customer_lifetime_value()]
    assert gold(cluster_run.settings, "customer_lifetime_value", "customer_id") == clv


def test_both_workers_ran_tasks(cluster_run: ClusterRun) -> None:
    """Per application and executor, the tasks that ran there (the event log), and on which worker.

    The driver waits for both executors (``minRegisteredResourcesRatio 1.0``), so every job's
    stages spread over both single-core workers; each application must have used both.
    """
    assert cluster_run.run.returncode == 0, cluster_run.tail()
    counts = executor_task_counts(cluster_run.events)
    names = {app["id"]: app["name"] for app in cluster_run.cluster.master_status()["completedapps"]}
    assert set(counts) == set(names), f"event logs {sorted(counts)} vs applications {names}"
    per_worker = [0] * cluster_run.cluster.workers
    workers_of_app: dict[str, set[int]] = {}
    lines = []
    for app_id, executors in sorted(counts.items(), key=lambda item: names[item[0]]):
        for executor, tasks in sorted(executors.items()):
            worker = cluster_run.executor_worker.get((app_id, executor))
            assert worker is not None, f"{app_id} executor {executor} is on no worker's status page"
            per_worker[worker] += tasks
            if tasks:
                workers_of_app.setdefault(names[app_id], set()).add(worker)
            lines.append(f"{names[app_id]:<28} {app_id}  executor {executor} on worker-{worker}: {tasks} tasks")
    report = ("Tasks per executor (Spark event log):\n" + "\n".join(lines)
              + f"\nTasks per worker: {dict(enumerate(per_worker))}")
    print("\n" + report)
    (cluster_run.events.parent / "tasks-per-executor.txt").write_text(report + "\n")
    assert all(tasks > 0 for tasks in per_worker), f"a worker ran no task\n{report}"
    assert workers_of_app == {name: {0, 1} for name in names.values()}, report
