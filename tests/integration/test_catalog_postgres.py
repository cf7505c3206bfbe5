"""The catalog contract (``tests/unit/test_catalog_sql.py``) on the real PostgreSQL server.

Each run creates a throwaway database ``lakeglue_test_<random>`` and drops it afterwards,
so the suite never touches data of anyone else using the server.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from lakeglue.catalog.sql import _ENGINES, SqlCatalog, metadata

pytestmark = pytest.mark.postgres

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _load_contract() -> ModuleType:
    """Import the contract by path: tests/ is not a package, and pytest may not have imported it yet."""
    path = Path(__file__).resolve().parents[1] / "unit" / "test_catalog_sql.py"
    spec = importlib.util.spec_from_file_location("lakeglue_catalog_contract", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


contract = _load_contract()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    name = f"lakeglue_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url
        finally:
            engine = _ENGINES.pop(url, None)  # engine_for caches per URL: close its pool before dropping
            if engine is not None:
                engine.dispose()
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class TestPostgresCatalog(contract.CatalogContract):  # type: ignore[name-defined]
    @pytest.fixture
    def catalog(self, postgres_url: str) -> Iterator[SqlCatalog]:
        catalog = SqlCatalog(postgres_url)
        yield catalog
        with catalog.engine.begin() as conn:  # each test starts from an empty catalog
            conn.execute(sa.text("TRUNCATE " + ", ".join(t.name for t in metadata.sorted_tables)))


def test_postgres_tables_live_in_the_throwaway_database(postgres_url: str) -> None:
    catalog = SqlCatalog(postgres_url)
    with catalog.engine.connect() as conn:
        database = conn.execute(sa.text("select current_database()")).scalar_one()
        tables = set(conn.execute(sa.text(
            "select tablename from pg_tables where schemaname = 'public'")).scalars())
    assert database == postgres_url.rsplit("/", 1)[1]
    assert {"lg_databases", "lg_tables", "lg_table_versions", "lg_partitions"} <= tables
