"""Run one DAG end to end with ``dag.test()`` and exit non-zero unless the run succeeded.

``airflow dags test`` prints the run but is awkward to check from scripts; this wrapper is
what ``make demo`` and the end-to-end tests use. The metadata DB must be migrated first.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
import time
from pathlib import Path

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"


def find_dag(dag_id: str):  # type: ignore[no-untyped-def]
    from airflow.sdk import DAG

    for path in sorted(DAGS_DIR.glob("*.py")):
        namespace = runpy.run_path(str(path))
        for value in namespace.values():
            if isinstance(value, DAG) and value.dag_id == dag_id:
                return value
    raise SystemExit(f"error: no DAG {dag_id!r} in {DAGS_DIR}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dag_id")
    parser.add_argument("--conf", default="{}", help="run conf / Params as JSON")
    args = parser.parse_args()
    dag = find_dag(args.dag_id)
    started = time.monotonic()
    run = dag.test(run_conf=json.loads(args.conf))
    state = str(getattr(run, "state", "unknown"))
    print(f"DAG RUN {args.dag_id} {run.run_id}: {state} in {time.monotonic() - started:.1f}s", flush=True)
    return 0 if state.endswith("success") else 1


if __name__ == "__main__":
    sys.exit(main())
