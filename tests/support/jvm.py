"""JVM options of every Java process the tests start (Spark drivers, executors and daemons, the metastore).

A test's JVM runs a short job on small data on two shared cores: C2's compiler threads spent
about half the JVM's CPU there (silver on the sample data, local[2]: 46 s of JVM CPU with the
default JIT, 24 s with C1 only), and the serial GC suits the small heaps.
"""

from __future__ import annotations

#: The C1 JIT only and the serial GC.
TEST_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def spark_java_option_lines() -> list[str]:
    """``spark-defaults.conf`` lines giving drivers and executors :data:`TEST_JVM_OPTIONS`."""
    return [f"spark.driver.extraJavaOptions {TEST_JVM_OPTIONS}", f"spark.executor.extraJavaOptions {TEST_JVM_OPTIONS}"]
