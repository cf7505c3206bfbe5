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
from typing import TYPE_CHECKING

import pytest

from tests.support.jvm import spark_java_option_lines
from tests.support.net import free_port

if TYPE_CHECKING:
    from tests.support.airflow_home import AirflowHomes

ROOT = Path(__file__).resolve().parents[1]
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="lakeglue-tests-"))

os.environ["AIRFLOW_HOME"] = str(_SESSION_DIR / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["LAKEGLUE_HOME"] = str(_SESSION_DIR / "lake")
os.environ.pop("LAKEGLUE_CATALOG_URL", None)
os.environ.pop("LAKEGLUE_STATE_URL", None)
os.environ.pop("LAKEGLUE_CONFIG", None)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

# Every Spark driver and executor the tests start (the ``spark`` fixture, spark-submit from Airflow runs,
# plain PySpark subprocesses) gets the tests' JVM options (tests/support/jvm.py) through a spark-defaults.conf.
if "SPARK_CONF_DIR" not in os.environ:  # a conf dir the environment names (the compose image's) is left alone
    _spark_conf = _SESSION_DIR / "spark-conf"
    _spark_conf.mkdir()
    (_spark_conf / "spark-defaults.conf").write_text("".join(f"{line}\n" for line in spark_java_option_lines()))
    os.environ["SPARK_CONF_DIR"] = str(_spark_conf)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def session_dir() -> Path:
    return _SESSION_DIR


@pytest.fixture(scope="session")
def airflow_homes() -> AirflowHomes:
    """Fresh ``AIRFLOW_HOME`` folders with a migrated metadata DB: one ``airflow db migrate`` per session."""
    from tests.support.airflow_home import AirflowHomes

    return AirflowHomes(_SESSION_DIR / "airflow-template")


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session for the whole run (JVM start-up costs ~10 s)."""
    import logging

    from lakeglue.jobs.spark.session import build_spark
    from lakeglue.settings import Settings

    session = build_spark("lakeglue-tests", Settings(spark_master="local[2]", spark_shuffle_partitions=2))
    yield session
    session.stop()
    # py4j logs from __del__ after pytest closed its streams; nothing of ours to report there
    logging.getLogger("py4j").setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real moto server (AWS APIs over HTTP) on a loopback port, for the aws-profile code paths.

    AWS credentials/region env vars point every boto3/aiobotocore client at fake keys; each
    test that needs a clean state uses the ``moto`` fixture, which resets the server.
    """
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    binary = Path(sys.executable).parent / "moto_server"
    log = open(_SESSION_DIR / "moto.log", "wb")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto_server did not start on {url}; see {_SESSION_DIR / 'moto.log'}") from None
            time.sleep(0.2)
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
        os.environ[key] = value
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def moto(moto_endpoint: str) -> str:
    """The moto server's URL, with all its state reset for this test."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"), timeout=10).close()
    return moto_endpoint


@pytest.fixture(scope="session")
def hive_metastore() -> Iterator[object]:
    """One real Hive Metastore (Thrift, over a throwaway Postgres database) for the whole run.

    Started from pyspark's jars on a free port (``tests/support/hms.py``); tests that need a clean
    metastore drop what they created. Skips, naming what is missing, without java, the Postgres JDBC
    driver or the Postgres server.
    """
    from tests.support.hms import running_metastore

    with running_metastore(_SESSION_DIR / "hive-metastore") as metastore:
        yield metastore
