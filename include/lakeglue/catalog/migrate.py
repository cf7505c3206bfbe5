"""Schema migrations of the SQL catalog, applied with Alembic when a catalog is opened.

Why on open: the catalog is a SQLite file inside the lake (or a Postgres database) that
outlives any one lakeglue version, and every process opens it (CLI, Airflow tasks, Spark
drivers). Upgrading there means a newer lakeglue never meets an older schema.

Three things make this safe on a shared database:

* Alembic only manages the catalog's tables and keeps its revision in its own table
  (``lg_catalog_alembic_version``): the ingestion ledger and the quality history live in
  the same database and create their own tables.
* Migrations run under a database-level lock (``BEGIN EXCLUSIVE`` on SQLite, a transaction
  advisory lock on Postgres), so processes that open a fresh catalog at the same moment
  migrate it once; the others wait, then find it at head.
* A catalog created before migrations existed (``metadata.create_all``; no version table)
  is recognised by its tables, checked column by column, and *stamped* as the baseline
  revision instead of being created again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lakeglue.catalog.base import CatalogError

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "lg_catalog_alembic_version"
def _migrations_dir() -> Path:
    """The migration scripts as a real directory, which Alembic needs.

    When the engine runs from a shipped zip (spark-submit --py-files, Glue --extra-py-files)
    the scripts are zip members; they are extracted once to a temporary directory.
    """
    here = Path(__file__).resolve().with_name("migrations")
    if here.is_dir():
        return here
    text = str(here)
    archive, sep, member = text.partition(".zip/")
    if not sep:
        return here
    import tempfile
    import zipfile

    target = Path(tempfile.mkdtemp(prefix="lakeglue-migrations-"))
    with zipfile.ZipFile(archive + ".zip") as zf:
        for name in zf.namelist():
            if name.startswith(member + "/") and not name.endswith("/"):
                out = target / name[len(member) + 1:]
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(zf.read(name))
    return target


MIGRATIONS_DIR = _migrations_dir()
BASELINE_REVISION = "0001_baseline"
#: The tables (and their columns) that ``metadata.create_all`` made before migrations existed.
BASELINE_COLUMNS: dict[str, frozenset[str]] = {
    "lg_databases": frozenset({"name", "body", "create_time"}),
    "lg_tables": frozenset({"database", "name", "version", "body", "update_time"}),
    "lg_table_versions": frozenset({"database", "name", "version", "body", "archived_at"}),
    "lg_partitions": frozenset({"database", "table_name", "values_key", "body"}),
}
#: Postgres advisory lock key ("lakeglue" in ASCII) held while migrating.
_PG_LOCK_KEY = 0x6C616B65676C7565
_THREAD_LOCK = threading.Lock()


class SchemaError(CatalogError):
    """The catalog database's schema cannot be brought to this lakeglue's revision."""


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic config built in code (no alembic.ini): script location, and the connection
    or URL that ``migrations/env.py`` should use."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def known_revisions() -> tuple[str, ...]:
    """Every revision this lakeglue ships, oldest first; the last one is head."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return tuple(reversed([s.revision for s in script.walk_revisions()]))


def head_revision() -> str:
    return known_revisions()[-1]


def current_revision(conn: Connection) -> str | None:
    """The revision recorded in the catalog database, ``None`` if it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade_catalog(engine: Engine) -> str:
    """Bring the catalog schema at ``engine`` to head; returns the revision it is at.

    The common case (already at head) costs one query and takes no lock.
    """
    head = head_revision()
    with engine.connect() as conn:
        if current_revision(conn) == head:
            return head
    with _THREAD_LOCK, _migration_transaction(engine) as conn:
        revision = current_revision(conn)
        if revision == head:  # another process migrated while we waited for the lock
            return head
        where = engine.url.render_as_string(hide_password=True)
        if revision is not None and revision not in known_revisions():
            raise SchemaError(
                f"catalog database {where} is at schema revision {revision!r}, which this lakeglue does not "
                f"know (its newest is {head!r}): it was migrated by a newer lakeglue; upgrade lakeglue")
        from alembic import command

        config = alembic_config(conn)
        if revision is None and _has_baseline_tables(conn, where):
            command.stamp(config, BASELINE_REVISION)
        command.upgrade(config, "head")
    return head


def _has_baseline_tables(conn: Connection, where: str) -> bool:
    """True for a catalog made by ``create_all`` before migrations; refuses a half-made one."""
    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names()) & set(BASELINE_COLUMNS)
    if not present:
        return False
    for table, expected in BASELINE_COLUMNS.items():
        if table not in present:
            raise SchemaError(
                f"catalog database {where} has {', '.join(sorted(present))} but no {table}: it is neither "
                f"empty nor a lakeglue catalog; point LAKEGLUE_CATALOG_URL at another database or repair it")
        columns = {c["name"] for c in inspector.get_columns(table)}
        missing = sorted(expected - columns)
        if missing:
            raise SchemaError(f"catalog database {where}: table {table} lacks column(s) {', '.join(missing)} "
                              f"of the baseline schema; it was not created by lakeglue")
    return True


@contextmanager
def _migration_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the database's own lock for the whole migration."""
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        # pysqlite starts transactions lazily and commits before DDL; a dedicated engine with
        # the driver's transaction handling off lets us issue BEGIN EXCLUSIVE ourselves.
        locked = sa.create_engine(engine.url, poolclass=sa.pool.NullPool,
                                  connect_args={"timeout": 60, "isolation_level": None})

        @sa.event.listens_for(locked, "begin")
        def _begin_exclusive(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN EXCLUSIVE")

        try:
            with locked.begin() as conn:
                yield conn
        finally:
            locked.dispose()
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        yield conn
