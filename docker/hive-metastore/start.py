"""Start the compose profile's Hive Metastore: Hive 2.3 from pyspark's jars, on Postgres, S3A for ``s3://``.

The recipe checked on this kind of machine (../shared notes; tests/support/hms.py does the same for the
tests): the schema is created once by DataNucleus' SchemaTool (letting DataNucleus create tables lazily
deadlocks inside Postgres), then ``HiveMetaStore`` runs with the async logger off (its disruptor jar is not
shipped) and HikariCP (BoneCP is not shipped). The metastore creates missing table and partition
directories, so it reaches MinIO through S3A with the credentials of its environment.

Settings (environment): HMS_DB_HOST, HMS_DB_PORT, HMS_DB_NAME, HMS_DB_USER, HMS_DB_PASSWORD,
HMS_WAREHOUSE_DIR, LAKEGLUE_AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (read by S3A).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

SPARK_JARS = Path(os.environ.get("SPARK_HOME", "/opt/spark")) / "jars"
JDBC_JAR = "/usr/share/java/postgresql.jar"
CONF_DIR = Path("/tmp/hive-metastore-conf")


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        sys.exit(f"hive-metastore: {name} is not set")
    return value


def jdbc_url() -> str:
    return f"jdbc:postgresql://{env('HMS_DB_HOST', 'postgres')}:{env('HMS_DB_PORT', '5432')}/{env('HMS_DB_NAME')}"


def connection_properties() -> dict[str, str]:
    return {"javax.jdo.option.ConnectionURL": jdbc_url(),
            "javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
            "javax.jdo.option.ConnectionUserName": env("HMS_DB_USER"),
            "javax.jdo.option.ConnectionPassword": env("HMS_DB_PASSWORD")}


def schema_exists() -> bool:
    import psycopg

    with psycopg.connect(host=env("HMS_DB_HOST", "postgres"), port=int(env("HMS_DB_PORT", "5432")),
                         dbname=env("HMS_DB_NAME"), user=env("HMS_DB_USER"), password=env("HMS_DB_PASSWORD")) as conn:
        return conn.execute("select to_regclass('public.\"DBS\"') is not null").fetchone() == (True,)


def create_schema() -> None:
    metastore_jar = next(SPARK_JARS.glob("hive-metastore-*.jar"))
    work = CONF_DIR / "schematool"
    work.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(metastore_jar) as zf:
        (work / "package.jdo").write_bytes(zf.read("package.jdo"))
    props = {"javax.jdo.PersistenceManagerFactoryClass": "org.datanucleus.api.jdo.JDOPersistenceManagerFactory",
             **connection_properties(), "datanucleus.schema.autoCreateAll": "true",
             "datanucleus.identifierFactory": "datanucleus1", "datanucleus.rdbms.useLegacyNativeValueStrategy": "true",
             "datanucleus.storeManagerType": "rdbms"}
    (work / "schematool.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    subprocess.run(["java", "-cp", f"{SPARK_JARS}/*:{JDBC_JAR}", "org.datanucleus.store.schema.SchemaTool",
                    "-create", "-api", "JDO", "-props", "schematool.properties", "package.jdo"],
                   cwd=work, check=True)


def hive_site() -> str:
    properties = {
        **connection_properties(),
        "datanucleus.schema.autoCreateAll": "false",
        "datanucleus.connectionPoolingType": "HikariCP",
        "hive.metastore.schema.verification": "false",
        "hive.async.log.enabled": "false",
        "hive.metastore.disallow.incompatible.col.type.changes": "false",
        "hive.stats.autogather": "false",
        "hive.metastore.warehouse.dir": env("HMS_WAREHOUSE_DIR", "s3a://lakeglue/warehouse"),
        "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.s3a.endpoint": env("LAKEGLUE_AWS_ENDPOINT_URL"),
        "fs.s3a.path.style.access": "true",
        "fs.s3a.aws.credentials.provider":
            "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider",
    }
    body = "".join(f"  <property><name>{escape(k)}</name><value>{escape(v)}</value></property>\n"
                   for k, v in properties.items())
    return f"<configuration>\n{body}</configuration>\n"


def main() -> None:
    CONF_DIR.mkdir(parents=True, exist_ok=True)
    if not schema_exists():
        create_schema()
    (CONF_DIR / "hive-site.xml").write_text(hive_site())
    os.execvp("java", ["java", "-Xmx512m", "-cp", f"{CONF_DIR}:{SPARK_JARS}/*:{JDBC_JAR}",
                       "org.apache.hadoop.hive.metastore.HiveMetaStore", "-p", "9083"])


if __name__ == "__main__":
    main()
