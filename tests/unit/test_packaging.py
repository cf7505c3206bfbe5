"""The engine zip that spark-submit/Glue ship must work on its own: imports, specs, catalog migrations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lakeglue.jobs.packaging import build_code_zip
from lakeglue.settings import PROJECT_ROOT


def test_engine_runs_from_the_shipped_zip(tmp_path: Path) -> None:
    code = build_code_zip(tmp_path / "dist")
    script = (
        "import lakeglue, sys\n"
        "assert '.zip' in lakeglue.__file__, lakeglue.__file__\n"
        "from lakeglue.pipelines import load_pipeline\n"
        "from lakeglue.catalog.sql import SqlCatalog\n"
        "import lakeglue.jobs.spark.entrypoint, lakeglue.jobs.spark.silver\n"
        "spec = load_pipeline('ecommerce')\n"
        f"catalog = SqlCatalog('sqlite:///{tmp_path}/catalog.db')\n"
        "catalog.ensure_database(spec.database_for('raw'))\n"
        "print('ok', [d.name for d in catalog.list_databases()])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(code), "LAKEGLUE_PROJECT_ROOT": str(PROJECT_ROOT)}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "ok ['ecommerce_raw']"
