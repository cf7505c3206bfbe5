"""One module per schema revision; Alembic loads them by path, oldest first."""
