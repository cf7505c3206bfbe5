"""A real Hive Metastore (Thrift server) for the tests, started from the jars the pyspark wheel ships.

What it takes, checked in ../shared/hms-notes.md: Hive 2.3.10's ``HiveMetaStore`` main class from
``pyspark/jars``, backed by a throwaway database on the test Postgres (127.0.0.1:5432), with
``hive.async.log.enabled=false`` (the LMAX disruptor jar is not shipped) and the schema created
beforehand by DataNucleus' ``SchemaTool`` (letting DataNucleus create tables lazily deadlocks
inside Postgres on the first partitioned table).

Start-up cost is kept small: the schema is created once into a template database whose name
carries the metastore jar's version (``lakeglue_hms_template_<version>``), and every metastore
gets a copy of it (``CREATE DATABASE … TEMPLATE``: a fraction of a second instead of ~4 s of
SchemaTool). The template is built under a temporary name and renamed when complete, so a
crashed build never leaves a half-made template behind. The JVM runs with the C1 compiler
only and a small heap, which brings the port up in about 5 s.

One metastore per test session (the ``hive_metastore`` fixture in ``tests/conftest.py``); the
process is stopped by its pid and its database dropped when the session ends.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from lakeglue.settings import POSTGRES_JDBC_JAR
from tests.support.jvm import TEST_JVM_OPTIONS
from tests.support.net import free_port
from tests.support.postgres import ADMIN_DSN

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
#: How long the metastore may take to answer its first Thrift call (a loaded 2-core machine).
START_TIMEOUT_S = 180.0
#: Serialises template builds across concurrent test sessions on the same server.
TEMPLATE_LOCK_KEY = 0x1A4E_6C0E


@dataclass(frozen=True)
class Metastore:
    """A running metastore: ``uri`` is what ``LAKEGLUE_CATALOG_URL`` and Spark's ``hive.metastore.uris`` take.

    Hive 2.3's metastore has no bind-host setting: it listens on every interface, on a free port.
    """

    host: str
    port: int
    database: str
    workdir: Path
    pid: int

    @property
    def uri(self) -> str:
        return f"thrift://{self.host}:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "metastore.out"


def spark_jars_dir() -> Path:
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        pytest.skip("pyspark is not installed: the Hive Metastore jars come from its wheel")
    return Path(spec.origin).parent / "jars"


def metastore_jar(jars: Path) -> Path:
    found = sorted(jars.glob("hive-metastore-*.jar"))
    if not found:
        pytest.skip(f"no hive-metastore-*.jar in {jars}: this pyspark wheel ships no Hive Metastore")
    return found[-1]


def _require_tools() -> tuple[Path, Path]:
    from shutil import which

    if which("java") is None:
        pytest.skip("java is not on the PATH: the Hive Metastore is a JVM server")
    if not Path(POSTGRES_JDBC_JAR).exists():
        pytest.skip(f"the Postgres JDBC driver {POSTGRES_JDBC_JAR} is missing "
                    "(apt-get install libpostgresql-jdbc-java)")
    jars = spark_jars_dir()
    return jars, metastore_jar(jars)


def _jdbc_url(database: str) -> str:
    return f"jdbc:postgresql://{PG_HOST}:{PG_PORT}/{database}"


def _admin() -> Any:
    psycopg = pytest.importorskip("psycopg")
    try:
        return psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")


def _database_exists(admin: Any, name: str) -> bool:
    return admin.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is not None


def _schema_tool(jars: Path, jar: Path, database: str, workdir: Path) -> None:
    """Create the metastore's tables in ``database`` from the JDO mapping inside the metastore jar."""
    import zipfile

    workdir.mkdir(parents=True, exist_ok=True)
    jdo = workdir / "package.jdo"
    with zipfile.ZipFile(jar) as zf:
        jdo.write_bytes(zf.read("package.jdo"))
    props = workdir / "schematool.properties"
    props.write_text("\n".join([
        "javax.jdo.PersistenceManagerFactoryClass=org.datanucleus.api.jdo.JDOPersistenceManagerFactory",
        f"javax.jdo.option.ConnectionURL={_jdbc_url(database)}",
        "javax.jdo.option.ConnectionDriverName=org.postgresql.Driver",
        f"javax.jdo.option.ConnectionUserName={PG_USER}",
        "javax.jdo.option.ConnectionPassword=",
        "datanucleus.schema.autoCreateAll=true",
        "datanucleus.identifierFactory=datanucleus1",
        "datanucleus.rdbms.useLegacyNativeValueStrategy=true",
        "datanucleus.storeManagerType=rdbms",
    ]) + "\n")
    done = subprocess.run(
        ["java", "-XX:TieredStopAtLevel=1", "-cp", f"{jars}/*:{POSTGRES_JDBC_JAR}",
         "org.datanucleus.store.schema.SchemaTool", "-create", "-api", "JDO", "-props", str(props), str(jdo)],
        capture_output=True, text=True, timeout=300, cwd=workdir)
    if done.returncode != 0 or "completed successfully" not in done.stdout + done.stderr:
        raise RuntimeError(f"DataNucleus SchemaTool failed for {database}:\n"
                           f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def template_name(jar: Path) -> str:
    """The schema template for this metastore version, e.g. ``lakeglue_hms_template_2_3_10``."""
    version = jar.stem.removeprefix("hive-metastore-")
    return "lakeglue_hms_template_" + "".join(c if c.isalnum() else "_" for c in version).lower()


def create_metastore_database(jars: Path, jar: Path, workdir: Path) -> str:
    """A new, uniquely named Postgres database holding an empty metastore schema."""
    template = template_name(jar)
    name = f"lakeglue_test_hms_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute("select pg_advisory_lock(%s)", (TEMPLATE_LOCK_KEY,))
        try:
            if not _database_exists(admin, template):
                building = f"{template}_building_{uuid.uuid4().hex[:8]}"
                admin.execute(f'CREATE DATABASE "{building}"')
                try:
                    _schema_tool(jars, jar, building, workdir / "schematool")
                    admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
                except BaseException:
                    admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                    raise
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            admin.execute("select pg_advisory_unlock(%s)", (TEMPLATE_LOCK_KEY,))
    return name


def drop_database(name: str) -> None:
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _hive_site(database: str, warehouse: Path, port: int) -> str:
    properties = {
        "javax.jdo.option.ConnectionURL": _jdbc_url(database),
        "javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
        "javax.jdo.option.ConnectionUserName": PG_USER,
        "javax.jdo.option.ConnectionPassword": "",
        "datanucleus.schema.autoCreateAll": "true",
        "hive.metastore.schema.verification": "false",
        "hive.metastore.warehouse.dir": warehouse.as_uri(),
        "hive.metastore.port": str(port),
        # REQUIRED: the default pool (BoneCP) is not shipped; the ACID listener of every drop needs a pool
        "datanucleus.connectionPoolingType": "HikariCP",
        # REQUIRED: the async logger needs the LMAX disruptor jar, which pyspark does not ship
        "hive.async.log.enabled": "false",
        # lakeglue evolves schemas (drifted columns, widened types); the default refuses some changes
        "hive.metastore.disallow.incompatible.col.type.changes": "false",
        # statistics are lakeglue's table parameters, not a listing of the data by the metastore
        "hive.stats.autogather": "false",
    }
    body = "".join(f"  <property><name>{escape(k)}</name><value>{escape(v)}</value></property>\n"
                   for k, v in properties.items())
    return f"<configuration>\n{body}</configuration>\n"


def _answers(host: str, port: int) -> bool:
    from lakeglue.catalog.hms import thrift_client

    try:
        socket.create_connection((host, port), timeout=2).close()  # quiet probe: thrift logs refused connects
    except OSError:
        return False
    try:
        with thrift_client(host, port, timeout_s=10) as client:
            client.get_all_databases()
        return True
    except Exception:  # not up yet: connection refused, reset, or a half-started server
        return False


def remove_empty_trees(root: Path, keep: set[str]) -> None:
    """Remove the directories below ``root`` not in ``keep`` that hold no file at any depth.

    The metastore creates the directory of every location it is given (``file:///lake/...`` in the
    contract suite becomes ``/lake/...``); what it made for the tests goes again. Files are never
    touched, so nothing anyone wrote is lost.
    """
    for entry in root.iterdir():
        if entry.name in keep or entry.is_symlink() or not entry.is_dir():
            continue
        try:
            for dirpath, _, _ in sorted(os.walk(entry), key=lambda w: -len(w[0])):
                os.rmdir(dirpath)
        except OSError:
            continue  # not empty (or not ours to remove): leave it


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=20)


def _start(workdir: Path, jars: Path, database: str) -> tuple[subprocess.Popen[bytes], int, Any]:
    """Start the JVM on a free port and wait for its first Thrift answer; another port if the chosen
    one was taken between probing and binding (the metastore has no "port 0")."""
    conf, tmp = workdir / "conf", workdir / "tmp"  # hive.log lands in <java.io.tmpdir>/<user>/
    conf.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)
    for _ in range(3):
        port = free_port()
        (conf / "hive-site.xml").write_text(_hive_site(database, workdir / "warehouse", port))
        log = workdir / "metastore.out"
        out = log.open("wb")
        proc = subprocess.Popen(
            ["java", "-Xms64m", "-Xmx512m", *TEST_JVM_OPTIONS.split(),
             f"-Djava.io.tmpdir={tmp}", "-cp", f"{conf}:{jars}/*:{POSTGRES_JDBC_JAR}",
             "org.apache.hadoop.hive.metastore.HiveMetaStore", "-p", str(port)],
            stdout=out, stderr=subprocess.STDOUT, cwd=workdir, env={**os.environ, "HADOOP_USER_NAME": "lakeglue"})
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        else:
            return proc, port, out
        _stop(proc)
        out.close()
        tail = log.read_text(errors="replace")[-4000:]
        if "Address already in use" not in tail:
            raise RuntimeError(f"the Hive Metastore did not come up on port {port} "
                               f"(exit code {proc.returncode}); log tail:\n{tail}")
    raise RuntimeError(f"the Hive Metastore found no free port in 3 tries; last log tail:\n{tail}")


@contextmanager
def running_metastore(workdir: Path) -> Iterator[Metastore]:
    """Start a metastore on a free loopback port over a fresh Postgres database; stop it afterwards."""
    jars, jar = _require_tools()
    workdir.mkdir(parents=True, exist_ok=True)
    top_level = {p.name for p in Path("/").iterdir()}
    database = create_metastore_database(jars, jar, workdir)
    try:
        proc, port, out = _start(workdir, jars, database)
        try:
            yield Metastore("127.0.0.1", port, database, workdir, proc.pid)
        finally:
            _stop(proc)
            out.close()
    finally:
        drop_database(database)
        remove_empty_trees(Path("/"), top_level)


if __name__ == "__main__":  # start one by hand: python -m tests.support.hms
    import signal
    import sys
    import tempfile

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the JVM and drop the database on kill too

    started = time.monotonic()
    with running_metastore(Path(tempfile.mkdtemp(prefix="lakeglue-hms-"))) as ms:
        print(f"{ms.uri} up after {time.monotonic() - started:.1f}s (pg database {ms.database}, log {ms.log}); "
              "Ctrl-C or SIGTERM stops it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
