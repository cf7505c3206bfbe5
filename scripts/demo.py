"""``make demo``: fresh sample lake → the ecommerce pipeline DAG through Airflow → gold + quality printed.

Exits 0 only if every stage succeeded. The lake is reset first, so two demos give the
same gold output (the sample data is deterministic).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DAG_ID = "lakeglue_ecommerce"


def step(title: str, cmd: list[str]) -> None:
    print(f"\n=== {title}\n$ {' '.join(cmd)}", flush=True)
    result = subprocess.run(cmd, cwd=ROOT, env=os.environ.copy())
    if result.returncode != 0:
        print(f"\nDEMO FAILED at: {title} (exit {result.returncode})", file=sys.stderr)
        sys.exit(result.returncode)


def print_results() -> None:
    from lakeglue.quality import history
    from lakeglue.query import run_query
    from lakeglue.settings import get_settings

    print("\n=== Gold: daily revenue by category (first 12 rows)")
    print(run_query("SELECT * FROM ecommerce_gold.daily_revenue_by_category ORDER BY dt, category LIMIT 12",
                    output=None).to_table_text())
    print("\n=== Gold: top 10 customers by lifetime value")
    print(run_query("SELECT customer_id, email, country, orders, lifetime_value, first_order_date, last_order_date "
                    "FROM ecommerce_gold.customer_lifetime_value ORDER BY lifetime_value DESC, customer_id LIMIT 10",
                    output=None).to_table_text())
    print("\n=== Query top_categories (Trino SQL on DuckDB, written to the results zone)")
    result = run_query((ROOT / "include/sql/queries/top_categories.sql").read_text(), output="csv")
    print(result.to_table_text())
    print(f"result file: {result.output_location}")

    rows = history(get_settings().catalog_url)
    last_run = max(rows, key=lambda r: str(r["evaluated_at"]))["run_id"] if rows else None
    latest = [r for r in rows if r["run_id"] == last_run]
    print(f"\n=== Data quality (run {last_run}): {sum(1 for r in latest if r['success'])}/{len(latest)} rules passed")
    for r in sorted(latest, key=lambda r: (str(r["table"]), str(r["rule"]))):
        mark = "PASS" if r["success"] else ("FAIL" if r["severity"] == "error" else "WARN")
        column = f"({r['column']})" if r.get("column") else ""
        seen = (f"observed={r['observed_value']}" if r.get("observed_value") is not None
                else f"unexpected rows={r.get('unexpected_count')}")
        print(f"  {mark:4} {r['table']:<28} {r['rule']}{column}  {seen}")
    if not latest or any(not r["success"] and r["severity"] == "error" for r in latest):
        print("DEMO FAILED: the quality gate did not pass", file=sys.stderr)
        sys.exit(1)
    from lakeglue.quality.data_docs import data_docs_location

    docs_index = Path(data_docs_location(get_settings()).index)
    if not docs_index.is_file():
        print(f"DEMO FAILED: no Data Docs at {docs_index}", file=sys.stderr)
        sys.exit(1)
    print(f"Data Docs (GX, every validation so far): file://{docs_index}")


def main() -> None:
    step("Generate the DAG files from the pipeline specs", [str(BIN / "lakeglue"), "dags", "generate"])
    step("Generate the sample lake (deterministic, seed 42)", [str(BIN / "lakeglue"), "sample", "--reset"])
    step(f"Run the pipeline DAG {DAG_ID} through Airflow (dag.test)",
         [str(BIN / "python"), "scripts/run_dag.py", DAG_ID, "--conf", '{"full_refresh": false}'])
    print_results()
    print("\nDEMO OK: crawl → bronze → silver → quality → gold → query all succeeded")


if __name__ == "__main__":
    main()
