"""The real Postgres at 127.0.0.1:5432 as a JDBC ("RDS") source for tests, or a skip that says why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def throwaway_catalog_url() -> Iterator[str]:
    """A SQLAlchemy URL of a new, uniquely named Postgres database, dropped afterwards; skips when the
    server is not reachable. For tests that race processes or locks on a real server."""
    import uuid

    from lakeglue.catalog.sql import _ENGINES

    psycopg = pytest.importorskip("psycopg")
    name = f"lakeglue_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        try:
            yield url
        finally:
            engine = _ENGINES.pop(url, None)
            if engine is not None:
                engine.dispose()
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
