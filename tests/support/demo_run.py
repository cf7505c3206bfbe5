"""The demo lake after one Airflow run of the ecommerce DAG, made once per test session, a fresh copy per module.

tests/e2e/test_pipeline_dag.py checks that run, then reruns and breaks the lake; tests/e2e/test_ui_browser.py
adds a day of orders and serves the lake. Both need the same starting point: sample data, then one
``scripts/run_dag.py lakeglue_ecommerce`` (``dag.test``, spark-submit per job: the longest step of either).
:class:`DemoLake` makes that run once, keeps a copy of its folder (lake, catalog, Airflow home with the
run's metadata DB and logs, the run's OpenLineage events), and :meth:`DemoLake.checkout` puts the copy
back at the same path before each module starts, so every absolute path the run recorded is valid and
no module sees what another one did.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from lakeglue.catalog.sql import SqlCatalog
from lakeglue.query import run_query
from lakeglue.settings import Settings
from tests.support.airflow_home import AirflowHomes

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAG_ID = "lakeglue_ecommerce"


def tail(out: subprocess.CompletedProcess[str], n: int = 6000) -> str:
    return (out.stdout + out.stderr)[-n:]


class Deployment:
    """A throwaway lake and Airflow home at ``root``, and the DAG runs made in it (``runs[0]``: the demo run)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.settings = Settings(lake_root=str(root / "lake"))
        self.env = {**os.environ,
                    "AIRFLOW_HOME": str(self.airflow_home),
                    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
                    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                    "AIRFLOW_CONN_SPARK_DEFAULT": '{"conn_type": "spark", "host": "local[2]"}',
                    "LAKEGLUE_HOME": self.settings.lake_root,
                    "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
                    "SPARK_LOCAL_IP": "127.0.0.1"}
        self.env.pop("LAKEGLUE_CATALOG_URL", None)
        self.runs: list[subprocess.CompletedProcess[str]] = []

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def run_count(self) -> int:
        return len(self.runs)

    @property
    def first_run(self) -> subprocess.CompletedProcess[str]:
        return self.runs[0]

    def sh(self, *cmd: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(cmd), cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)

    def run_dag(self, conf: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        n = self.run_count + 1
        # every run's OpenLineage events (the provider's file transport), one JSON event per line
        env = {**self.env, "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(self.openlineage_file(n)), "append": True})}
        out = subprocess.run([str(BIN / "python"), "scripts/run_dag.py", DAG_ID, "--conf", json.dumps(conf)],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        (self.root / f"run{n}.log").write_text(out.stdout + out.stderr)
        self.runs.append(out)
        return out

    def gold(self, table: str, order_by: str) -> list[tuple[Any, ...]]:
        result = run_query(f"SELECT * FROM ecommerce_gold.{table} ORDER BY {order_by}", output=None,
                           settings=self.settings)
        return [tuple(r) for r in result.rows]

    def openlineage_file(self, run: int) -> Path:
        return self.root / f"openlineage{run}.jsonl"

    @property
    def catalog(self) -> SqlCatalog:
        return SqlCatalog(self.settings.catalog_url)

    @property
    def raw_root(self) -> Path:
        return Path(self.settings.lake_root) / "raw"


class DemoLake:
    """The demo run made once into ``base/live`` and kept as ``base/pristine``; each checkout restores it."""

    def __init__(self, base: Path, homes: AirflowHomes) -> None:
        self.live, self.pristine = base / "live", base / "pristine"
        deployment = Deployment(self.live)
        homes.new(deployment.airflow_home)
        sample = deployment.sh(str(BIN / "lakeglue"), "sample", "--reset")
        assert sample.returncode == 0, tail(sample)
        self.first_run = deployment.run_dag({})  # its tests assert on it, with its log
        shutil.copytree(self.live, self.pristine, symlinks=True)
        self._dirty = False

    def checkout(self) -> Deployment:
        """The lake, Airflow home and logs exactly as the demo run left them, whatever was done to them since."""
        if self._dirty:
            _close_pooled_connections(self.live)
            shutil.rmtree(self.live)
            shutil.copytree(self.pristine, self.live, symlinks=True)
        self._dirty = True
        deployment = Deployment(self.live)
        deployment.runs.append(self.first_run)
        return deployment


def _close_pooled_connections(folder: Path) -> None:
    """Close this process's pooled connections to SQLite files under ``folder`` before they are replaced.

    lakeglue keeps one SQLAlchemy engine per URL per process (catalog, ledger, pins), and an engine's
    pool keeps its SQLite connections open: after the files are swapped, those would go on reading the
    deleted ones. ``Engine.dispose()`` closes them; the next use connects to the restored file.
    """
    import gc

    from sqlalchemy.engine import Engine

    prefix = str(folder.resolve()) + os.sep
    for obj in gc.get_objects():
        if isinstance(obj, Engine) and obj.url.get_backend_name() == "sqlite":
            database = obj.url.database or ""
            if database and str(Path(database).resolve()).startswith(prefix):
                obj.dispose()
