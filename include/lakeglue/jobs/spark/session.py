"""The one place Spark sessions are made, so every job and test gets the same settings.

Under ``spark-submit`` the master comes from the command line (local[*], a cluster URL,
Glue/EMR); elsewhere (tests, the CLI) it comes from ``settings.spark_master``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from lakeglue.settings import POSTGRES_JDBC_JAR, Settings, get_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def under_spark_submit() -> bool:
    """True when spark-submit started this Python driver: its JVM is already up and its gateway port is
    in the environment (``PythonRunner`` sets it), and that JVM's ``--master`` must win.

    ``SparkConf().contains("spark.master")`` cannot tell: before a SparkContext exists, a Python
    ``SparkConf`` does not see the JVM's properties, so the master of the command line (a standalone
    cluster, say) was silently replaced by ``settings.spark_master``.
    """
    return "PYSPARK_GATEWAY_PORT" in os.environ


def build_spark(app_name: str, settings: Settings | None = None) -> SparkSession:
    from pyspark.sql import SparkSession

    settings = settings or get_settings()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(app_name)
    if not under_spark_submit():
        # Not under spark-submit: this process is the driver and its local executors run Python
        # UDFs in workers, which must be this interpreter (pyspark, pyarrow, the job's packages),
        # not whatever ``python3`` comes first on PATH (pyspark reads only the variable here).
        builder = builder.master(settings.spark_master)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (builder
               .config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
               .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
               .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
               .config("spark.sql.legacy.timeParserPolicy", "CORRECTED")
               # partition values are typed by the catalog, not guessed from folder names
               .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
               .config("spark.driver.memory", os.environ.get("LAKEGLUE_SPARK_DRIVER_MEMORY", "2g")))
    if os.path.exists(POSTGRES_JDBC_JAR):
        builder = builder.config("spark.jars", POSTGRES_JDBC_JAR)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
