"""The engine (include/lakeglue) is plain Python: it must import with Airflow absent."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import lakeglue

ROOT = Path(__file__).resolve().parents[2]


def _engine_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(lakeglue.__path__, prefix="lakeglue."))


def test_engine_modules_import_with_airflow_blocked() -> None:
    modules = _engine_modules()
    assert "lakeglue.catalog.sql" in modules and "lakeglue.jobs.spark.silver" in modules
    code = (
        "import sys, importlib\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'airflow' or name.startswith('airflow.'):\n"
        "            raise ImportError('airflow is blocked in this test: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "assert not any(k == 'airflow' or k.startswith('airflow.') for k in sys.modules)\n"
        "print('ok', len(sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("ok")


def test_no_airflow_import_statement_in_engine_sources() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "include" / "lakeglue").rglob("*.py")
                 if any(line.lstrip().startswith(("import airflow", "from airflow"))
                        for line in p.read_text().splitlines())]
    assert offenders == []
