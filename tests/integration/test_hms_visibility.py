"""Acceptance: a pipeline that catalogs into a Hive Metastore is readable by Spark through the metastore alone.

The demo pipeline (sample data, every stage, the quality gate) runs as ``lakeglue run ecommerce`` in
its own process with ``LAKEGLUE_CATALOG_URL=thrift://…`` — jobs on DuckDB, so no JVM start-up is
paid twice. Then a separate Spark process that knows nothing of lakeglue (``enableHiveSupport()``
and ``hive.metastore.uris``, no lakeglue import) reads every silver and gold table by name, and
gets the same columns and rows as ``lakeglue query`` (the query layer on DuckDB) does.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakeglue.catalog import Column, open_catalog
from lakeglue.query import run_query
from lakeglue.settings import INCLUDE_DIR, PIPELINES_DIR, Settings
from tests.support.hms import Metastore

pytestmark = [pytest.mark.spark, pytest.mark.postgres, pytest.mark.slow]

TABLES = {"ecommerce_silver": ("customers", "orders", "order_items", "products"),
          "ecommerce_gold": ("daily_revenue_by_category", "customer_lifetime_value")}

#: Plain PySpark, as a user's notebook would read the lake: nothing but the metastore's address.
SPARK_READER = """
import pickle, sys
from pyspark.sql import SparkSession

from pyspark.sql import Row


def plain(value):
    if isinstance(value, Row):
        return {k: plain(v) for k, v in value.asDict().items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


uri, warehouse, out, *tables = sys.argv[1:]
spark = (SparkSession.builder.master("local[1]").appName("hms-reader")
         .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.warehouse.dir", warehouse)
         .config("hive.metastore.uris", uri).enableHiveSupport().getOrCreate())
found = {"databases": sorted(r[0] for r in spark.sql("SHOW DATABASES").collect())}
for name in tables:
    df = spark.table(name)
    found[name] = (df.columns, [tuple(plain(v) for v in r) for r in df.collect()])
spark.stop()
with open(out, "wb") as f:
    pickle.dump(found, f)
"""


def _project_root_with_duckdb_engines(tmp_path: Path) -> Path:
    """The project's SQL and suites, and the demo spec with every job on DuckDB (``LAKEGLUE_PROJECT_ROOT``)."""
    root = tmp_path / "project"
    (root / "include" / "pipelines").mkdir(parents=True)
    for part in ("sql", "quality"):
        (root / "include" / part).symlink_to(INCLUDE_DIR / part)
    spec = yaml.safe_load((PIPELINES_DIR / "ecommerce.yml").read_text())
    spec["engines"] = {"bronze": "duckdb", "silver": "duckdb", "gold": "duckdb"}
    (root / "include" / "pipelines" / "ecommerce.yml").write_text(yaml.safe_dump(spec))
    return root


def _lakeglue(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "lakeglue.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"lakeglue {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def _spark_reads(metastore: Metastore, tmp_path: Path, tables: list[str]) -> dict[str, Any]:
    out = tmp_path / "spark-rows.pickle"
    env = {**os.environ, "TZ": "UTC", "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    done = subprocess.run([sys.executable, "-c", SPARK_READER, metastore.uri, (tmp_path / "spark-warehouse").as_uri(),
                           str(out), *tables], env=env, capture_output=True, text=True, timeout=600,
                          cwd=tmp_path)
    assert done.returncode == 0, f"the Spark reader failed:\n{done.stderr[-6000:]}"
    with out.open("rb") as f:
        found: dict[str, Any] = pickle.load(f)  # written by the process above
    return found


def test_spark_reads_silver_and_gold_through_the_metastore_alone(hive_metastore: Metastore, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    env = {**os.environ, "LAKEGLUE_PROFILE": "embedded", "LAKEGLUE_HOME": str(lake),
           "LAKEGLUE_CATALOG_URL": hive_metastore.uri,
           "LAKEGLUE_PROJECT_ROOT": str(_project_root_with_duckdb_engines(tmp_path)),
           "LAKEGLUE_DUCKDB_TEMP_DIRECTORY": str(tmp_path / "spill")}
    _lakeglue(env, "sample", "--reset")
    ran = _lakeglue(env, "run", "ecommerce", "--run-id", "hms_visibility")
    assert "gold: duckdb" in ran and "silver: duckdb" in ran

    settings = Settings(lake_root=str(lake), catalog_url=hive_metastore.uri,
                        duckdb_temp_directory=str(tmp_path / "spill"))
    catalog = open_catalog(settings)
    names = [f"{db}.{t}" for db, tables in TABLES.items() for t in tables]
    before = {name: catalog.get_table(*name.split(".")) for name in names}
    assert before["ecommerce_silver.orders"].partition_keys == (Column("dt", "date"),)

    spark = _spark_reads(hive_metastore, tmp_path, names)

    assert {"ecommerce_raw", "ecommerce_bronze", "ecommerce_silver", "ecommerce_gold"} <= set(spark["databases"])
    assert {name: catalog.get_table(*name.split(".")) for name in names} == before  # Spark only read
    for name in names:
        ours = run_query(f"SELECT * FROM {name}", output=None, settings=settings)
        columns, rows = spark[name]
        assert columns == ours.columns, name
        assert ours.row_count > 0 and len(rows) == ours.row_count, name
        assert sorted(rows, key=repr) == sorted(ours.rows, key=repr), name
