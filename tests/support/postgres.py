"""The real Postgres at 127.0.0.1:5432 as a JDBC ("RDS") source for tests, or a skip that says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lakeglue.settings import POSTGRES_JDBC_JAR

TEST_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def jdbc_source_connection() -> Any:
    """An autocommit psycopg connection to the test database; skips when the JDBC driver or server is missing."""
    psycopg = pytest.importorskip("psycopg")
    if not Path(POSTGRES_JDBC_JAR).exists():
        pytest.skip(f"the Postgres JDBC driver {POSTGRES_JDBC_JAR} is missing "
                    "(apt-get install libpostgresql-jdbc-java)")
    try:
        return psycopg.connect(TEST_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
