"""The catalog contract (``tests/support/catalog_contract.py``) and migrations on the real PostgreSQL server.

Each database used here is a throwaway ``lakeglue_test_<random>`` created for the test run
and dropped afterwards, so the suite never touches data of anyone else using the server.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from lakeglue.catalog import Catalog
from lakeglue.catalog.migrate import VERSION_TABLE
from lakeglue.catalog.sql import _ENGINES, SqlCatalog, metadata
from lakeglue.ledger import Ledger
from tests.support.catalog_contract import DB, CatalogContract, create_legacy_catalog

pytestmark = pytest.mark.postgres

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="module")
def new_postgres_database() -> Iterator[Callable[[], str]]:
    """A factory of empty throwaway databases; all are dropped when the module ends."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    created: list[str] = []

    def create() -> str:
        name = f"lakeglue_test_{uuid.uuid4().hex[:12]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    with admin:
        try:
            yield create
        finally:
            for name in created:
                url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
                engine = _ENGINES.pop(url, None)  # engine_for caches per URL: close its pool before dropping
                if engine is not None:
                    engine.dispose()
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def postgres_url(new_postgres_database: Callable[[], str]) -> str:
    return new_postgres_database()


class TestPostgresCatalog(CatalogContract):
    @pytest.fixture
    def catalog(self, postgres_url: str) -> Iterator[SqlCatalog]:
        catalog = SqlCatalog(postgres_url)
        yield catalog
        with catalog.engine.begin() as conn:  # each test starts from an empty catalog
            conn.execute(sa.text("TRUNCATE " + ", ".join(t.name for t in metadata.sorted_tables)))

    def second_writer(self, catalog: Catalog) -> Catalog:
        assert isinstance(catalog, SqlCatalog)
        return SqlCatalog(catalog.url)


def _tables(catalog: SqlCatalog) -> set[str]:
    with catalog.engine.connect() as conn:
        return set(conn.execute(sa.text("select tablename from pg_tables where schemaname = 'public'")).scalars())


def test_postgres_tables_live_in_the_throwaway_database(postgres_url: str) -> None:
    catalog = SqlCatalog(postgres_url)
    with catalog.engine.connect() as conn:
        database = conn.execute(sa.text("select current_database()")).scalar_one()
        revision = conn.execute(sa.text(f"select version_num from {VERSION_TABLE}")).scalars().all()
    assert database == postgres_url.rsplit("/", 1)[1]
    assert {"lg_databases", "lg_tables", "lg_table_versions", "lg_partitions", "lg_table_parameters",
            VERSION_TABLE} <= _tables(catalog)
    assert revision == ["0002_table_parameters"]


def test_legacy_postgres_catalog_is_stamped_then_upgraded(new_postgres_database: Callable[[], str]) -> None:
    url = new_postgres_database()
    v1, v2 = create_legacy_catalog(url)
    Ledger(url)  # the ingestion ledger's table shares the database and must be left alone

    catalog = SqlCatalog(url)

    assert _tables(catalog) == {"lg_databases", "lg_tables", "lg_table_versions", "lg_partitions",
                                "lg_table_parameters", "lg_ingestion_ledger", VERSION_TABLE}
    assert catalog.schema_revision == "0002_table_parameters"
    assert [(v.version, v.table) for v in catalog.get_table_versions(DB, "orders")] == [(1, v1), (2, v2)]
    assert catalog.search_tables("ord", parameters={"recordCount": "3"}) == [v2]


def test_processes_opening_a_fresh_postgres_catalog_together_migrate_it_once(
        new_postgres_database: Callable[[], str]) -> None:
    """The migration holds a transaction-level advisory lock: racing processes wait, then find head."""
    url = new_postgres_database()
    code = ("import sys; from lakeglue.catalog.sql import SqlCatalog; "
            "c = SqlCatalog(sys.argv[1]); c.ensure_database('db_' + sys.argv[2]); print(c.schema_revision)")
    procs = [subprocess.Popen([sys.executable, "-c", code, url, str(i)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(3)]
    deadline = time.monotonic() + 60
    results = [p.communicate(timeout=max(1.0, deadline - time.monotonic())) for p in procs]
    assert [(p.returncode, out.strip()) for p, (out, _) in zip(procs, results, strict=True)] == [
        (0, "0002_table_parameters")] * 3, [err for _, err in results]
    catalog = SqlCatalog(url)
    with catalog.engine.connect() as conn:
        assert conn.execute(sa.text(f"select version_num from {VERSION_TABLE}")).scalars().all() == [
            "0002_table_parameters"]
    assert [d.name for d in catalog.list_databases()] == ["db_0", "db_1", "db_2"]
