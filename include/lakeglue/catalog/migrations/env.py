"""Alembic environment for the catalog: online only, catalog tables only, own version table.

Normally :func:`lakeglue.catalog.migrate.upgrade_catalog` passes an open connection (already
holding the migration lock) in ``config.attributes["connection"]``. A developer generating a
new revision passes a URL instead::

    from alembic import command
    from lakeglue.catalog.migrate import alembic_config
    command.revision(alembic_config(url="sqlite:////tmp/catalog.db"), "what changes", autogenerate=True)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context
from alembic.config import Config

from lakeglue.catalog.migrate import VERSION_TABLE
from lakeglue.catalog.sql import metadata

CATALOG_TABLES = frozenset(metadata.tables)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave the ledger's and quality history's tables (same database) alone."""
    if type_ == "table":
        return name in CATALOG_TABLES
    table = getattr(obj, "table", None)
    return table is None or table.name in CATALOG_TABLES


def run_migrations(connection: sa.engine.Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
                      include_object=include_object, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def main(config: Config) -> None:
    if context.is_offline_mode():
        raise RuntimeError("lakeglue's catalog migrations run online only (they read existing rows to backfill)")
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        run_migrations(conn)
    engine.dispose()


# Alembic executes this file inside a migration run, where ``context.config`` exists; a module
# scan (the engine-isolation test imports every lakeglue module) must find nothing to run.
_config = getattr(context, "config", None)
if _config is not None:
    main(_config)
