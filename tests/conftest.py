"""Test-wide environment: a throwaway Airflow home and lake, and shared fixtures.

Set before anything imports airflow or lakeglue settings, so no test touches the
developer's ``.airflow`` or ``lake`` directories.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="lakeglue-tests-"))

os.environ["AIRFLOW_HOME"] = str(_SESSION_DIR / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["LAKEGLUE_HOME"] = str(_SESSION_DIR / "lake")
os.environ.pop("LAKEGLUE_CATALOG_URL", None)
os.environ.pop("LAKEGLUE_CONFIG", None)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def session_dir() -> Path:
    return _SESSION_DIR


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session for the whole run (JVM start-up costs ~10 s)."""
    from lakeglue.jobs.spark.session import build_spark
    from lakeglue.settings import Settings

    session = build_spark("lakeglue-tests", Settings(spark_master="local[2]", spark_shuffle_partitions=2))
    yield session
    session.stop()
