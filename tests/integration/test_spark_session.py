"""The in-process Spark session (CLI, tests, `lakeglue run`) runs Python UDFs on this interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_arrow_udf_workers_use_this_interpreter_whatever_path_says(tmp_path: Path) -> None:
    """PATH without the venv and no PYSPARK_PYTHON (a cron shell, a service unit): pyspark would
    start its workers with the first ``python3`` on PATH (here one that cannot run anything; usually
    one without pyarrow). build_spark points the workers at the driver's interpreter."""
    import lakeglue

    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "python3").write_text("#!/bin/sh\necho 'not the job interpreter' >&2\nexit 3\n")
    (fake_bin / "python3").chmod(0o755)

    include = str(Path(lakeglue.__file__).resolve().parents[1])
    script = (
        "from lakeglue.jobs.spark.session import build_spark\n"
        "from lakeglue.settings import Settings\n"
        "from pyspark.sql import functions as F\n"
        "spark = build_spark('udf-python', Settings(spark_master='local[1]', spark_shuffle_partitions=1))\n"
        "tag = F.udf(lambda v: f'n{v}', 'string', useArrow=True)\n"
        "print('RESULT', [r['tag'] for r in spark.range(3).select(tag('id').alias('tag')).collect()])\n"
        "spark.stop()\n")
    env = {"HOME": str(tmp_path), "PATH": f"{fake_bin}:/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": include,
           "SPARK_LOCAL_IP": "127.0.0.1"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "RESULT ['n0', 'n1', 'n2']"
