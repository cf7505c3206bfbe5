"""Alembic migration scripts of the SQL catalog (applied by :mod:`lakeglue.catalog.migrate`)."""
