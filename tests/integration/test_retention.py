"""Retention end to end on a real lake: DuckDB query layer, SQLite catalog, version pins, query results.

Time passes by handing the expirer a ``now`` ten days ahead (retention 7 days): every
superseded version is then old enough to go, so what stays is what the rules protect — the
current version of every table (whatever its age), a version a running reader pinned, and
live bronze batch partitions inside their attempt directories.
"""

from __future__ import annotations

import os
import posixpath
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeglue.catalog import Catalog, Column, StorageDescriptor, Table
from lakeglue.catalog.pins import VersionPins, job_inputs, pinned
from lakeglue.catalog.sql import SqlCatalog
from lakeglue.jobs.commit import plan_batch_attempt, plan_table_version, register_batch_partition, register_table
from lakeglue.pipelines import load_pipeline
from lakeglue.query import list_queries, run_query
from lakeglue.query.base import BoundQuery
from lakeglue.query.duckdb_engine import DuckDBEngine
from lakeglue.settings import Settings
from lakeglue.storage import Lake
from lakeglue.storage.retention import run_retention
from tests.support.airflow_home import AirflowHomes

DAY = 86400.0
LATER = 10 * DAY  # retention is 7 days: ten days on, every superseded version is due


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(lake_root=str(tmp_path / "lake"), catalog_url=f"sqlite:///{tmp_path / 'catalog.db'}",
                    retention_days=7, results_retention_days=30, staging_ttl_days=7, pin_ttl_hours=24 * 30)


@pytest.fixture
def lake(settings: Settings) -> Lake:
    lake = Lake(settings)
    lake.ensure_zones()
    return lake


@pytest.fixture
def catalog(settings: Settings) -> SqlCatalog:
    return SqlCatalog(settings.catalog_url)


def commit_sales(lake: Lake, catalog: Catalog, amounts: list[int]) -> Table:
    """One whole-table commit of ``gold.sales`` (a fresh v- directory), as gold jobs and CTAS do."""
    pending = plan_table_version(lake, "gold", "sales")
    lake.fs.makedirs(pending.staged, exist_ok=True)
    with lake.fs.open(f"{pending.staged}/part-0.parquet", "wb") as fh:  # local disk or S3
        pq.write_table(pa.table({"amount": pa.array(amounts, pa.int64())}), fh)
    lake.commit(pending.staged, pending.final)
    return register_table(catalog, lake, "gold", "sales", [Column("amount", "bigint")], pending.final)


def commit_batch(lake: Lake, catalog: SqlCatalog, batch: str, ids: list[int]) -> str:
    """One bronze batch attempt: ``a-<token>/batch_id=<batch>``, registered as that batch's partition."""
    pending = plan_batch_attempt(lake, "bronze", "events")
    lake.fs.makedirs(f"{pending.staged}/batch_id={batch}", exist_ok=True)
    pq.write_table(pa.table({"id": pa.array(ids, pa.int64())}), f"{pending.staged}/batch_id={batch}/part-0.parquet")
    lake.commit(pending.staged, pending.final)
    register_batch_partition(catalog, lake, "bronze", "events", [Column("id", "bigint")],
                             lake.path("curated", "bronze", "events"), pending.final, "batch_id", batch)
    return pending.final


def version_dirs(lake: Lake, layer: str, table: str) -> list[str]:
    return sorted(posixpath.basename(p) for p in lake.fs.ls(lake.path("curated", layer, table), detail=False))


def backdate(path: str, days: float) -> None:
    stamp = time.time() - days * DAY
    for dirpath, _dirs, files in os.walk(path):
        for name in [*files, "."]:
            os.utime(os.path.join(dirpath, name), (stamp, stamp))


def test_retention_removes_old_versions_keeps_current_and_pinned_and_expires_results(
        settings: Settings, lake: Lake, catalog: SqlCatalog) -> None:
    v1 = commit_sales(lake, catalog, [1])
    v2 = commit_sales(lake, catalog, [2, 2])
    reader_table = catalog.get_table("gold", "sales")  # a long query bound to v2 ...
    assert reader_table.location == v2.location
    first_attempt = commit_batch(lake, catalog, "b1", [10])
    retried = commit_batch(lake, catalog, "b1", [11])  # the batch re-run: the first attempt is superseded
    other_batch = commit_batch(lake, catalog, "b2", [20])
    old_result = run_query("SELECT count(*) AS n FROM gold.sales", settings=settings, lake=lake, catalog=catalog)
    new_result = run_query("SELECT sum(amount) AS s FROM gold.sales", settings=settings, lake=lake, catalog=catalog)
    backdate(lake.local_path(str(old_result.metadata_location)).rsplit("/", 1)[0], 25)  # 35 days old at LATER
    leftover = lake.new_staging_path("gold-sales")
    lake.write_text(f"{leftover}/part-0.parquet", "half written")

    with pinned(catalog, settings, "query/long-running", [reader_table]) as pins:  # ... still running
        v3 = commit_sales(lake, catalog, [3, 3, 3])
        report = run_retention(settings, lake, catalog, now=time.time() + LATER)

        # storage: v1 and the superseded attempt are gone; current v3, pinned v2 and live batches stay
        assert version_dirs(lake, "gold", "sales") == sorted(posixpath.basename(t.location) for t in (v2, v3))
        assert sorted(i.path for i in report.versions) == sorted([lake.fs_path(v1.location), first_attempt])
        assert version_dirs(lake, "bronze", "events") == sorted(posixpath.basename(p) for p in (retried, other_batch))
        assert report.kept_pinned == [f"{lake.fs_path(v2.location)} for gold.sales v{v2.version} "
                                      f"(run query/long-running)"]
        assert [p.version for p in pins] == [v2.version]

        # the pinned version stays readable through the query layer for the query bound to it
        engine = DuckDBEngine(settings, lake, catalog)
        in_flight = engine.execute(BoundQuery("SELECT sum(amount) AS s FROM gold.sales", (), "gold",
                                              {("gold", "sales"): reader_table}))
        assert in_flight.data.to_pylist() == [{"s": 4}]

    # catalog: no version entry points at removed data any more; v1's entry is gone, v2's is kept
    versions = catalog.get_table_versions("gold", "sales")
    assert v1.version not in [v.version for v in versions] and v2.version in [v.version for v in versions]
    assert all(lake.fs.exists(lake.fs_path(v.table.location)) for v in versions)
    assert [(r.database, r.name, r.version) for r in report.version_rows] == [("gold", "sales", v1.version)]

    # the current versions read whole through the query layer
    current = run_query("SELECT sum(amount) AS s, count(*) AS n FROM gold.sales", settings=settings, lake=lake,
                        catalog=catalog, output=None)
    assert current.rows == [(9, 3)]
    events = run_query("SELECT batch_id, id FROM bronze.events ORDER BY id", settings=settings, lake=lake,
                       catalog=catalog, output=None)
    assert events.rows == [("b1", 11), ("b2", 20)]

    # query results past results_retention_days are gone (history too); the newer one stays
    assert [i.path.rsplit("/", 1)[-1] for i in report.results] == [old_result.query_id]
    assert [q.query_id for q in list_queries(lake=lake, limit=None)] == [new_result.query_id]
    assert [i.path for i in report.staging] == [leftover] and not lake.fs.exists(leftover)

    # the pin was released when its reader finished; the next pass may remove v2
    assert VersionPins(settings.catalog_url).active() == []
    later = run_retention(settings, lake, catalog, now=time.time() + LATER)
    assert [i.path for i in later.versions] == [lake.fs_path(v2.location)]
    assert version_dirs(lake, "gold", "sales") == [posixpath.basename(v3.location)]


def test_a_lapsed_pin_no_longer_protects_and_is_purged(settings: Settings, lake: Lake, catalog: SqlCatalog) -> None:
    """A reader that died never releases its pin; after pin_ttl_hours its version is due like any other."""
    v1 = commit_sales(lake, catalog, [1])
    pins = VersionPins(settings.catalog_url)
    pins.pin("crashed-run", catalog, [("gold", "sales")], ttl=timedelta(hours=1))
    commit_sales(lake, catalog, [2])
    dry = run_retention(settings, lake, catalog, now=time.time() + LATER, dry_run=True)
    assert [i.path for i in dry.versions] == [lake.fs_path(v1.location)] and lake.fs.exists(v1.location)
    report = run_retention(settings, lake, catalog, now=time.time() + LATER)
    assert (report.pins_purged, [i.path for i in report.versions]) == (1, [lake.fs_path(v1.location)])
    assert pins.active(datetime.now(UTC)) == []


def test_recent_superseded_versions_stay(settings: Settings, lake: Lake, catalog: SqlCatalog) -> None:
    """Retention counts from when a version stopped being current, not from when its files were written."""
    v1 = commit_sales(lake, catalog, [1])
    backdate(lake.fs_path(v1.location), 30)  # written a month ago ...
    commit_sales(lake, catalog, [2])  # ... superseded just now
    report = run_retention(settings, lake, catalog)
    assert report.versions == [] and lake.fs.exists(v1.location)


def test_the_job_entry_point_pins_the_inputs_while_the_job_runs(
        settings: Settings, lake: Lake, catalog: SqlCatalog, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Both engines' entry points go through job_cli.run_from_args: the silver job's bronze inputs are
    pinned at their current versions while it runs and released when it ends."""
    import argparse

    from lakeglue.jobs.job_cli import run_from_args
    from lakeglue.jobs.metrics import JobMetrics
    from lakeglue.settings import get_settings

    catalog.ensure_database("ecommerce_bronze")
    for name in ("orders", "customers"):  # products has no bronze table yet: nothing to pin
        catalog.create_table(Table("ecommerce_bronze", name, StorageDescriptor.for_format(
            "parquet", (Column("id", "bigint"),), lake.uri(lake.path("curated", "bronze", name)))))
    seen: list[tuple[str, str, int, str]] = []

    def fake_engine(job: str, ctx: object) -> JobMetrics:
        seen.extend((p.database, p.name, p.version, p.run_id) for p in VersionPins(settings.catalog_url).active())
        return JobMetrics(job, "ecommerce", "b")

    for key, value in {"LAKEGLUE_HOME": settings.lake_root, "LAKEGLUE_CATALOG_URL": settings.catalog_url,
                       "LAKEGLUE_CONFIG": str(tmp_path / "lakeglue.yaml")}.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "lakeglue.yaml").write_text("{}\n")
    get_settings.cache_clear()
    try:
        args = argparse.Namespace(job="silver", pipeline="ecommerce", run_id="manual__1", full_refresh=False,
                                  dt_from=None, dt_to=None, metrics_out=None)
        assert run_from_args(args, fake_engine) == 0
    finally:
        get_settings.cache_clear()
    assert sorted(seen) == [("ecommerce_bronze", "customers", 1, "ecommerce/silver/manual__1"),
                            ("ecommerce_bronze", "orders", 1, "ecommerce/silver/manual__1")]
    assert VersionPins(settings.catalog_url).active() == []


def test_jobs_pin_the_tables_they_read() -> None:
    spec = load_pipeline("ecommerce")
    assert job_inputs(spec, "bronze") == []
    assert sorted(set(job_inputs(spec, "silver"))) == [("ecommerce_bronze", "customers"),
                                                       ("ecommerce_bronze", "orders"),
                                                       ("ecommerce_bronze", "products")]
    assert {db for db, _ in job_inputs(spec, "gold")} == {"ecommerce_silver"}


def test_maintenance_task_and_cli_expire_with_the_environment_settings(
        settings: Settings, lake: Lake, catalog: SqlCatalog, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The DAG's task and ``lakeglue lifecycle expire`` read the worker's settings and log every removal."""
    from lakeglue.cli import main
    from lakeglue.settings import get_settings
    from lakeglue_airflow.operators.maintenance import LakeRetentionOperator

    v1 = commit_sales(lake, catalog, [1])
    v2 = commit_sales(lake, catalog, [2])
    commit_sales(lake, catalog, [3])
    for key, value in {"LAKEGLUE_HOME": settings.lake_root, "LAKEGLUE_CATALOG_URL": settings.catalog_url,
                       "LAKEGLUE_RETENTION_DAYS": "0", "LAKEGLUE_CONFIG": str(tmp_path / "lakeglue.yaml")}.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "lakeglue.yaml").write_text("{}\n")
    get_settings.cache_clear()
    try:
        assert main(["lifecycle", "expire", "--dry-run"]) == 0
        printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("would remove")]
        assert printed[:2] == [f"would remove table version {lake.fs_path(t.location)} (0.0 days superseded)"
                               for t in (v1, v2)]
        assert lake.fs.exists(v1.location)
        done = LakeRetentionOperator(task_id="expire", dry_run="False").execute({})
    finally:
        get_settings.cache_clear()
    assert done["versions"] == [lake.fs_path(v1.location), lake.fs_path(v2.location)]
    assert done["version_rows"] == [f"gold.sales@{v1.version}", f"gold.sales@{v2.version}"]
    assert not lake.fs.exists(v1.location) and not lake.fs.exists(v2.location)


def test_retention_on_an_s3_lake_with_the_glue_catalog(moto: str, tmp_path: Path) -> None:
    """aws profile: versions are S3 prefixes (ages from LastModified), catalog versions are Glue table versions."""
    import boto3

    from lakeglue.catalog import open_catalog

    boto3.client("s3", endpoint_url=moto, region_name="us-east-1").create_bucket(Bucket="lake")
    settings = Settings(profile="aws", lake_root="s3://lake/prod", aws_endpoint_url=moto,
                        catalog_url=f"sqlite:///{tmp_path / 'pins.db'}", retention_days=7)
    lake, catalog = Lake(settings), open_catalog(settings)
    v1 = commit_sales(lake, catalog, [1])
    commit_sales(lake, catalog, [2])
    v3 = commit_sales(lake, catalog, [3])
    assert [v.version for v in catalog.get_table_versions("gold", "sales")] == [1, 2, 3]

    fresh = run_retention(settings, lake, catalog)  # superseded just now: nothing is due yet
    assert (fresh.versions, fresh.version_rows) == ([], [])
    report = run_retention(settings, lake, catalog, now=time.time() + LATER)
    assert len(report.versions) == 2 and lake.fs_path(v1.location) in [i.path for i in report.versions]
    assert [posixpath.basename(p) for p in lake.fs.ls(lake.path("curated", "gold", "sales"), detail=False)] == [
        posixpath.basename(v3.location)]
    assert [v.version for v in catalog.get_table_versions("gold", "sales")] == [3]


@pytest.mark.slow
@pytest.mark.airflow
def test_the_generated_maintenance_dag_runs_in_airflow(settings: Settings, lake: Lake, catalog: SqlCatalog,
                                                       tmp_path: Path, airflow_homes: AirflowHomes) -> None:
    """`airflow dags test lakeglue_maintenance` on the generated file: the task renders its params and expires."""
    import shutil
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    v1 = commit_sales(lake, catalog, [1])
    v2 = commit_sales(lake, catalog, [2])
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(root / "dags" / "lakeglue_maintenance.py", dags)
    binary = Path(sys.executable).parent / "airflow"
    run_env = {**os.environ, "AIRFLOW_HOME": str(airflow_homes.new(tmp_path / "airflow")),
               "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
               "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "LAKEGLUE_HOME": settings.lake_root, "LAKEGLUE_CATALOG_URL": settings.catalog_url,
               "LAKEGLUE_RETENTION_DAYS": "0", "LAKEGLUE_CONFIG": str(tmp_path / "lakeglue.yaml")}
    (tmp_path / "lakeglue.yaml").write_text("{}\n")
    for dry_run, v1_left in (("true", True), ("false", False)):
        ran = subprocess.run([str(binary), "dags", "test", "lakeglue_maintenance", "-c", f'{{"dry_run": {dry_run}}}'],
                             env=run_env, capture_output=True, text=True, timeout=300, cwd=root)
        out = ran.stdout + ran.stderr
        assert ran.returncode == 0 and "state=success" in out.replace("'", "").replace(" ", ""), out[-6000:]
        assert ("would remove" if v1_left else "removed") + f" table version {lake.fs_path(v1.location)}" in out
        assert lake.fs.exists(v1.location) is v1_left
    assert lake.fs.exists(v2.location)
