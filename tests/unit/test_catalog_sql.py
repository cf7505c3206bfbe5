"""The catalog contract on SQLite, and the SQL backend's own concern: Alembic schema migrations.

The contract itself is in ``tests/support/catalog_contract.py`` (shared with Postgres and Glue).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from lakeglue.catalog import Catalog
from lakeglue.catalog.migrate import (
    VERSION_TABLE,
    SchemaError,
    alembic_config,
    current_revision,
    head_revision,
    known_revisions,
)
from lakeglue.catalog.sql import SqlCatalog, engine_for, metadata
from lakeglue.ledger import Ledger
from tests.support.catalog_contract import DB, CatalogContract, create_legacy_catalog

CATALOG_TABLES = {"lg_databases", "lg_tables", "lg_table_versions", "lg_partitions", "lg_table_parameters"}


class TestSqliteCatalog(CatalogContract):
    @pytest.fixture
    def catalog(self, tmp_path: Path) -> Iterator[SqlCatalog]:
        yield SqlCatalog(f"sqlite:///{tmp_path / 'catalog.db'}")

    def second_writer(self, catalog: Catalog) -> Catalog:
        assert isinstance(catalog, SqlCatalog)
        return SqlCatalog(catalog.url)


def test_open_catalog_outside_aws_is_sql_at_the_configured_url(tmp_path: Path) -> None:
    from lakeglue.catalog import open_catalog
    from lakeglue.settings import Settings

    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    catalog = open_catalog(Settings(lake_root=str(tmp_path / "lake"), catalog_url=url))
    assert isinstance(catalog, SqlCatalog) and isinstance(catalog, Catalog)
    assert catalog.url == url


def test_sql_catalog_needs_a_url() -> None:
    with pytest.raises(ValueError, match=re.escape("SqlCatalog needs a SQLAlchemy URL")):
        SqlCatalog("")


def test_sqlite_file_is_created_with_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "catalog.db"
    SqlCatalog(f"sqlite:///{path}").ensure_database(DB)
    assert path.is_file()


# -- migrations ---------------------------------------------------------------------------------
def _tables(url: str) -> set[str]:
    with engine_for(url).connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def _revision_rows(url: str) -> list[str]:
    with engine_for(url).connect() as conn:
        return list(conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def test_revisions_shipped() -> None:
    assert known_revisions() == ("0001_baseline", "0002_table_parameters")
    assert head_revision() == "0002_table_parameters"


def test_fresh_database_is_migrated_to_head_with_its_own_version_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    catalog = SqlCatalog(url)
    assert catalog.schema_revision == "0002_table_parameters"
    assert _tables(url) == CATALOG_TABLES | {VERSION_TABLE}  # no plain "alembic_version" to clash with
    assert _revision_rows(url) == ["0002_table_parameters"]
    SqlCatalog(url)  # reopening is a no-op
    assert _revision_rows(url) == ["0002_table_parameters"]


def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    """The migration scripts and ``sql.metadata`` describe the same schema (autogenerate finds nothing)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    SqlCatalog(url)
    with engine_for(url).connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_object": lambda obj, name, type_, *_: type_ != "table" or name in CATALOG_TABLES})
        assert compare_metadata(context, metadata) == []


def test_legacy_catalog_is_stamped_then_upgraded_keeping_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    v1, v2 = create_legacy_catalog(url)
    Ledger(url)  # creates another module's table (the ingestion ledger) in the same database
    before = _tables(url)
    assert VERSION_TABLE not in before and "lg_ingestion_ledger" in before

    catalog = SqlCatalog(url)

    assert _revision_rows(url) == ["0002_table_parameters"]
    assert _tables(url) == before | {"lg_table_parameters", VERSION_TABLE}
    assert catalog.get_table(DB, "orders") == v2
    assert [(v.version, v.table) for v in catalog.get_table_versions(DB, "orders")] == [(1, v1), (2, v2)]
    assert [p.values for p in catalog.get_partitions(DB, "orders")] == [("2026-11-01",)]
    # 0002 backfilled the parameter index from the existing bodies
    assert catalog.search_tables(parameters={"recordCount": "3", "UPDATED_BY_CRAWLER": "raw_crawler"}) == [v2]
    updated = catalog.update_table(v2.evolve(description="after migration"))
    assert updated.version == 3


def test_half_made_catalog_is_refused_not_stamped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    with engine_for(url).begin() as conn:
        conn.execute(sa.text("CREATE TABLE lg_tables (database VARCHAR(255), name VARCHAR(255))"))
    with pytest.raises(SchemaError, match=re.escape(
            "has lg_tables but no lg_databases: it is neither empty nor a lakeglue catalog")):
        SqlCatalog(url)
    assert VERSION_TABLE not in _tables(url)


def test_catalog_from_a_newer_lakeglue_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    SqlCatalog(url)
    with engine_for(url).begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '0099_future'"))
    with pytest.raises(SchemaError, match=re.escape(
            "is at schema revision '0099_future', which this lakeglue does not know "
            "(its newest is '0002_table_parameters'): it was migrated by a newer lakeglue")):
        SqlCatalog(url)


def test_downgrade_to_base_and_upgrade_again(tmp_path: Path) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    SqlCatalog(url).ensure_database(DB)
    with engine_for(url).begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert _tables(url) == {VERSION_TABLE}
    with engine_for(url).connect() as conn:
        assert current_revision(conn) is None
    catalog = SqlCatalog(url)
    assert _tables(url) == CATALOG_TABLES | {VERSION_TABLE}
    assert catalog.list_databases() == []


def test_processes_opening_a_fresh_catalog_together_migrate_it_once(tmp_path: Path) -> None:
    """Separate processes (Airflow tasks) race to open a new catalog; BEGIN EXCLUSIVE serialises them."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    code = ("import sys; from lakeglue.catalog.sql import SqlCatalog; "
            "c = SqlCatalog(sys.argv[1]); c.ensure_database('db_' + sys.argv[2]); print(c.schema_revision)")
    procs = [subprocess.Popen([sys.executable, "-c", code, url, str(i)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(4)]
    deadline = time.monotonic() + 60
    results = [p.communicate(timeout=max(1.0, deadline - time.monotonic())) for p in procs]
    assert [(p.returncode, out.strip()) for p, (out, _) in zip(procs, results, strict=True)] == [
        (0, "0002_table_parameters")] * 4, [err for _, err in results]
    assert _revision_rows(url) == ["0002_table_parameters"]
    assert [d.name for d in SqlCatalog(url).list_databases()] == ["db_0", "db_1", "db_2", "db_3"]
