"""LakeQueryOperator in a real Airflow run (dag.test in a subprocess): .sql templates, Jinja identifiers, XCom.

The generated pipeline DAG's query task is covered by tests/e2e; this run checks what that
one does not: a .sql file next to the DAG with Jinja identifiers, ``{{ ds }}``-style
templated parameters, a CTAS task, a DESCRIBE (a catalog statement, answered as rows), and the
``output_location`` / ``row_count`` XComs that downstream tasks read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.airflow_home import AirflowHomes
from tests.unit.test_query import GOLD_COLUMNS, Env, gold_data

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

DAG_FILE = '''
import json, os
from datetime import datetime
from airflow.sdk import DAG, task
from lakeglue_airflow.operators.query import LakeQueryOperator

with DAG("lakeglue_query_probe", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
         params={"table": "daily_revenue_by_category", "category": "books"}) as dag:
    top = LakeQueryOperator(task_id="top", sql="queries/top_categories.sql")
    probe = LakeQueryOperator(task_id="probe", sql="probe.sql", parameters=["{{ params.category }}"],
                              database="ecommerce_gold")
    ctas = LakeQueryOperator(task_id="ctas", sql="CREATE TABLE ecommerce_gold.{{ params.category }}_days AS "
                             "SELECT dt, revenue FROM ecommerce_gold.{{ params.table }} WHERE category = ?",
                             parameters=["{{ params.category }}"])
    describe = LakeQueryOperator(task_id="describe", sql="DESCRIBE ecommerce_gold.{{ params.table }}")

    @task
    def collect(ti=None):
        found = {t: {"output_location": ti.xcom_pull(task_ids=t, key="output_location"),
                     "row_count": ti.xcom_pull(task_ids=t, key="row_count"),
                     "summary": ti.xcom_pull(task_ids=t)} for t in ("top", "probe", "ctas", "describe")}
        with open(os.environ["PROBE_OUT"], "w") as fh:
            json.dump(found, fh)

    [top, probe, ctas, describe] >> collect()

if __name__ == "__main__":
    run = dag.test()
    print("PROBE_STATE", run.state)
'''

PROBE_SQL = "SELECT dt, revenue FROM {{ params.table }} WHERE category = ? ORDER BY dt"


def test_query_tasks_render_sql_files_and_push_location_and_row_count(tmp_path: Path,
                                                                  airflow_homes: AirflowHomes) -> None:
    env = Env(tmp_path)
    gold = env.write_parquet(("gold", "daily_revenue_by_category"), gold_data())
    env.register("ecommerce_gold", "daily_revenue_by_category", gold, GOLD_COLUMNS)
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "probe_dag.py").write_text(DAG_FILE)
    (dags / "probe.sql").write_text(PROBE_SQL)
    out = tmp_path / "xcom.json"
    run_env = {**os.environ, "AIRFLOW_HOME": str(airflow_homes.new(tmp_path / "airflow")),
               "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
               "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "LAKEGLUE_HOME": env.settings.lake_root, "LAKEGLUE_CATALOG_URL": env.settings.catalog_url,
               "PROBE_OUT": str(out),
               "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                   {"type": "file", "log_file_path": str(tmp_path / "openlineage.jsonl"), "append": True})}
    ran = subprocess.run([str(BIN / "python"), str(dags / "probe_dag.py")], env=run_env, capture_output=True,
                         text=True, timeout=300, cwd=ROOT)
    assert "PROBE_STATE success" in ran.stdout, (ran.stdout + ran.stderr)[-6000:]

    found = json.loads(out.read_text())
    results = env.lake.uri(env.lake.path("results", "queries"))
    for task_id, rows in (("top", 3), ("probe", 2), ("ctas", 1), ("describe", 5)):
        xcom = found[task_id]
        assert xcom["row_count"] == rows
        assert xcom["output_location"].startswith(results + "/")
        assert xcom["output_location"] == xcom["summary"]["output_location"]
    probe_csv = Path(found["probe"]["output_location"].removeprefix("file://")).read_text()
    assert probe_csv == "dt,revenue\n2026-11-01,50.00\n2026-11-02,25.50\n"
    assert found["ctas"]["summary"]["rows_written"] == 2
    described = Path(found["describe"]["output_location"].removeprefix("file://")).read_text()  # DDL answers as rows
    assert described.splitlines() == ["col_name,data_type,comment", "dt,date,", "category,string,",
                                      'revenue,"decimal(18,2)",', "units,bigint,", "orders,bigint,"]
    assert env.run("SELECT dt, revenue FROM ecommerce_gold.books_days ORDER BY dt").rows == [
        (date(2026, 11, 1), Decimal("50.00")), (date(2026, 11, 2), Decimal("25.50"))]

    # OpenLineage: the rendered SQL's tables in the lake's namespace; a CTAS target and the result files are outputs
    events = [json.loads(line) for line in (tmp_path / "openlineage.jsonl").read_text().splitlines()]
    complete = {e["job"]["name"]: e for e in events if e["eventType"] == "COMPLETE"}
    lake = f"lakeglue+file://{env.settings.lake_root}"
    for task_id, outputs in (("probe", []), ("ctas", [(lake, "ecommerce_gold.books_days")])):
        event = complete[f"lakeglue_query_probe.{task_id}"]
        assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
            (lake, "ecommerce_gold.daily_revenue_by_category")]
        result_file = ("file", found[task_id]["output_location"].removeprefix("file://"))
        assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [*outputs, result_file]
    books_days = complete["lakeglue_query_probe.ctas"]["outputs"][0]["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in books_days] == [("dt", "date"), ("revenue", "decimal(18,2)")]
