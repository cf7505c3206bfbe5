"""Every DAG imports cleanly, fast, with owner/retries/tags, and matches its pipeline spec."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
HEAVY_MODULES = ("pyspark", "great_expectations", "pandas", "duckdb")

pytestmark = pytest.mark.airflow


def test_there_are_dag_files() -> None:
    assert [p.name for p in DAG_FILES] == ["lakeglue_maintenance.py", "pipeline_ecommerce.py"]


def test_dag_files_match_their_specs() -> None:
    from lakeglue.pipelines import codegen

    assert codegen.stale() == [], "run `lakeglue dags generate`"


def test_dagbag_has_no_import_errors_and_required_attributes() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"lakeglue_ecommerce", "lakeglue_ecommerce_on_new_files", "lakeglue_maintenance"}
    for dag in bag.dags.values():
        assert dag.tags and "lakeglue" in dag.tags, dag.dag_id
        assert dag.max_active_runs == 1
        for task in dag.tasks:
            assert task.owner == "data-eng", (dag.dag_id, task.task_id)
            assert task.retries >= 1, (dag.dag_id, task.task_id)
        if dag.dag_id != "lakeglue_maintenance":
            assert [t.task_id for t in dag.topological_sort()][:5] == ["crawl", "bronze", "silver", "quality", "gold"]
    maintenance = bag.dags["lakeglue_maintenance"]
    assert "maintenance" in maintenance.tags and [t.task_id for t in maintenance.tasks] == ["expire"]
    assert set(maintenance.params.keys()) == {"dry_run"}
    main = bag.dags["lakeglue_ecommerce"]
    assert set(main.params.keys()) == {"full_refresh", "dt_from", "dt_to"}
    # the demo's event runs take silver off the JVM (events.engines: auto, DuckDB for small batches)
    engines = {dag_id: {t.task_id: type(t).__name__ for t in bag.dags[dag_id].tasks
                        if t.task_id in ("bronze", "silver", "gold")}
               for dag_id in ("lakeglue_ecommerce", "lakeglue_ecommerce_on_new_files")}
    assert engines == {
        "lakeglue_ecommerce": {"bronze": "LakeDuckDBJobOperator", "silver": "LakeSparkJobOperator",
                               "gold": "LakeDuckDBJobOperator"},
        "lakeglue_ecommerce_on_new_files": {"bronze": "LakeDuckDBJobOperator", "silver": "LakeAutoJobOperator",
                                            "gold": "LakeDuckDBJobOperator"}}


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parses_fast_without_heavy_imports(dag_file: Path) -> None:
    """Parse time of the file itself < 1 s, with what Airflow's dag processor has loaded before it parses a file:
    the parser entrypoint's own imports, and the airflow modules the file names (parsing_pre_import_modules)."""
    code = (
        "import importlib, sys, time, runpy\n"
        "import airflow.sdk, airflow.triggers.base\n"
        "from airflow.sdk.execution_time import comms, task_runner\n"
        "from airflow.utils.file import iter_airflow_imports\n"
        f"for module in iter_airflow_imports({str(dag_file)!r}): importlib.import_module(module)\n"
        "t = time.perf_counter()\n"
        f"runpy.run_path({str(dag_file)!r})\n"
        "elapsed = time.perf_counter() - t\n"
        f"heavy = [m for m in {HEAVY_MODULES!r} if m in sys.modules]\n"
        "print(f'{elapsed:.3f} {heavy}')\n"
    )
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    elapsed_s, heavy = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert heavy == "[]", f"{dag_file.name} imports {heavy} at parse time"
    wall = time.monotonic() - started
    assert float(elapsed_s) < 1.0, f"{dag_file.name} took {elapsed_s}s to parse (process wall {wall:.1f}s)"
