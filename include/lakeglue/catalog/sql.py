"""SQLAlchemy catalog backend: a SQLite file for the embedded profile, Postgres when a URL is set.

Objects are stored as JSON bodies keyed by name: the model stays in one place
(:mod:`lakeglue.catalog.model`) and the relational side only indexes what it must look
up (names, versions, table parameters for search). Table updates are optimistic:
``UPDATE … WHERE version = :expected`` so two writers can never lose an update silently.
The schema is owned by Alembic (:mod:`lakeglue.catalog.migrate`); ``metadata`` below is
what the migrations produce, and a test checks the two never drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lakeglue.catalog.base import AlreadyExists, ConcurrentModification, EntityNotFound, SqlWrite
from lakeglue.catalog.common import CatalogOps, check_partition_arity, run_writes_apart, table_conflict
from lakeglue.catalog.migrate import upgrade_catalog
from lakeglue.catalog.model import (
    Database,
    Partition,
    Table,
    TableVersion,
    storage_from_dict,
    table_from_dict,
    to_dict,
)

metadata = sa.MetaData()

databases_t = sa.Table(
    "lg_databases", metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
)
tables_t = sa.Table(
    "lg_tables", metadata,
    sa.Column("database", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
)
table_versions_t = sa.Table(
    "lg_table_versions", metadata,
    sa.Column("database", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
)
partitions_t = sa.Table(
    "lg_partitions", metadata,
    sa.Column("database", sa.String(255), primary_key=True),
    sa.Column("table_name", sa.String(255), primary_key=True),
    sa.Column("values_key", sa.String(1024), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
)
table_parameters_t = sa.Table(
    "lg_table_parameters", metadata,
    sa.Column("database", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_lg_table_parameters_key", "key"),
)

_ENGINES: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """One engine per URL per process; SQLite gets WAL and a busy timeout for concurrent tasks."""
    if url not in _ENGINES:
        if url.startswith("sqlite"):
            if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
                # the catalog file lives in the lake, which may not exist yet on a fresh machine
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": 30})

            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()
        else:
            engine = sa.create_engine(url, pool_pre_ping=True)
        _ENGINES[url] = engine
    return _ENGINES[url]


_COLUMNS_CHECKED: set[tuple[str, str]] = set()


def add_missing_columns(engine: Engine, table: sa.Table) -> None:
    """Add the nullable columns a bookkeeping table gained since a database created it.

    The ledger and bookmark tables are created with ``create_all``, which never alters an
    existing table; an older SQLite file or Postgres schema gets the new columns here (with
    their server default, if any) the first time a newer lakeglue opens it.
    """
    if (engine.url.render_as_string(), table.name) in _COLUMNS_CHECKED:
        return  # once per process: ledgers are opened on every sensor poke
    present = {c["name"] for c in sa.inspect(engine).get_columns(table.name)}
    for column in table.columns:
        if column.name in present:
            continue
        kind = column.type.compile(engine.dialect)
        default = column.server_default
        clause = f" DEFAULT '{default.arg}'" if isinstance(default, sa.DefaultClause) and isinstance(default.arg, str) \
            else ""
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}{clause}"))
        except sa.exc.DBAPIError:  # a concurrent process added it first
            if column.name not in {c["name"] for c in sa.inspect(engine).get_columns(table.name)}:
                raise
    _COLUMNS_CHECKED.add((engine.url.render_as_string(), table.name))


def _now() -> datetime:
    return datetime.now(UTC)


def _values_key(values: Sequence[str]) -> str:
    return json.dumps(list(values))


class SqlCatalog(CatalogOps):
    """The :class:`~lakeglue.catalog.base.Catalog` protocol over SQLAlchemy Core."""

    def __init__(self, url: str) -> None:
        if not url:
            raise ValueError("SqlCatalog needs a SQLAlchemy URL (LAKEGLUE_CATALOG_URL)")
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine = engine_for(url)
        #: The schema revision the catalog database is at (always head after opening).
        self.schema_revision = upgrade_catalog(self.engine)

    # -- databases -------------------------------------------------------------------------
    def create_database(self, database: Database) -> Database:
        stored = Database(database.name, database.description, database.location_uri,
                          dict(database.parameters), database.create_time or _now())
        message = f"database {database.name!r} already exists"
        try:
            with self.engine.begin() as conn:
                if conn.execute(sa.select(databases_t.c.name).where(databases_t.c.name == database.name)).first():
                    raise AlreadyExists(message)
                conn.execute(databases_t.insert().values(
                    name=stored.name, body=json.dumps(to_dict(stored)), create_time=stored.create_time))
        except sa.exc.IntegrityError as exc:  # a concurrent creator won between our check and insert
            raise AlreadyExists(message) from exc
        return stored

    def get_database(self, name: str) -> Database:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(databases_t.c.body).where(databases_t.c.name == name)).first()
        if row is None:
            raise EntityNotFound(f"database {name!r} not found")
        return _database_from_body(row.body)

    def list_databases(self) -> list[Database]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(databases_t.c.body).order_by(databases_t.c.name)).all()
        return [_database_from_body(r.body) for r in rows]

    def delete_database(self, name: str) -> None:
        with self.engine.begin() as conn:
            for t, col in ((partitions_t, partitions_t.c.database), (table_versions_t, table_versions_t.c.database),
                           (table_parameters_t, table_parameters_t.c.database), (tables_t, tables_t.c.database)):
                conn.execute(t.delete().where(col == name))
            if conn.execute(databases_t.delete().where(databases_t.c.name == name)).rowcount == 0:
                raise EntityNotFound(f"database {name!r} not found")

    # -- tables ----------------------------------------------------------------------------
    def create_table(self, table: Table) -> Table:
        self.get_database(table.database)
        now = _now()
        stored = table.evolve(version=1, create_time=table.create_time or now, update_time=now)
        message = f"table {table.qualified_name} already exists"
        try:
            with self.engine.begin() as conn:
                exists = conn.execute(sa.select(tables_t.c.name).where(
                    tables_t.c.database == table.database, tables_t.c.name == table.name)).first()
                if exists:
                    raise AlreadyExists(message)
                conn.execute(tables_t.insert().values(database=table.database, name=table.name, version=1,
                                                      body=json.dumps(to_dict(stored)), update_time=now))
                _write_parameters(conn, stored)
        except sa.exc.IntegrityError as exc:  # a concurrent creator won between our check and insert
            raise AlreadyExists(message) from exc
        return stored

    def get_table(self, database: str, name: str) -> Table:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(tables_t.c.body).where(
                tables_t.c.database == database, tables_t.c.name == name)).first()
        if row is None:
            raise EntityNotFound(f"table {database}.{name} not found")
        return table_from_dict(json.loads(row.body))

    def table_exists(self, database: str, name: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(tables_t.c.name).where(
                tables_t.c.database == database, tables_t.c.name == name)).first() is not None

    def list_tables(self, database: str) -> list[Table]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(tables_t.c.body).where(tables_t.c.database == database)
                                .order_by(tables_t.c.name)).all()
        return [table_from_dict(json.loads(r.body)) for r in rows]

    def search_tables(self, text: str | None = None, parameters: Mapping[str, str | None] | None = None,
                      database: str | None = None) -> list[Table]:
        """Tables whose name contains ``text`` (any case) and that carry every given parameter
        (``None`` as value: the key only needs to be present), in database/name order."""
        query = sa.select(tables_t.c.body)
        if database:
            query = query.where(tables_t.c.database == database)
        if text:
            query = query.where(sa.func.lower(tables_t.c.name).contains(text.lower(), autoescape=True))
        for key, value in (parameters or {}).items():
            match = sa.select(table_parameters_t.c.key).where(
                table_parameters_t.c.database == tables_t.c.database, table_parameters_t.c.name == tables_t.c.name,
                table_parameters_t.c.key == key)
            if value is not None:
                match = match.where(table_parameters_t.c.value == value)
            query = query.where(match.exists())
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(tables_t.c.database, tables_t.c.name)).all()
        return [table_from_dict(json.loads(r.body)) for r in rows]

    def update_table(self, table: Table, expected_version: int | None = None) -> Table:
        """Replace a table's definition, archiving the current one as a version.

        ``expected_version`` defaults to ``table.version`` (the version the caller read);
        if another writer committed in between, :class:`ConcurrentModification` is raised.
        """
        expected = table.version if expected_version is None else expected_version
        now = _now()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(tables_t.c.body, tables_t.c.version).where(
                tables_t.c.database == table.database, tables_t.c.name == table.name)).first()
            if row is None:
                raise EntityNotFound(f"table {table.qualified_name} not found")
            current = table_from_dict(json.loads(row.body))
            stored = table.evolve(version=row.version + 1, create_time=current.create_time, update_time=now)
            result = conn.execute(tables_t.update().where(
                tables_t.c.database == table.database, tables_t.c.name == table.name,
                tables_t.c.version == expected).values(
                    version=stored.version, body=json.dumps(to_dict(stored)), update_time=now))
            if result.rowcount != 1:
                raise ConcurrentModification(
                    f"table {table.qualified_name} is at version {row.version}, the update was based on "
                    f"version {expected}; re-read the table and apply the change again")
            conn.execute(table_versions_t.insert().values(
                database=table.database, name=table.name, version=current.version,
                body=row.body, archived_at=now))
            _write_parameters(conn, stored)
        return stored

    def swap_table(self, table: Table, partitions: Sequence[Partition], *, expected_version: int | None = None,
                   replace_partitions: bool = True, writes: Sequence[SqlWrite] = ()) -> Table:
        """The new version, its partitions and the job's bookkeeping in ONE transaction.

        ``expected_version`` is the version the job planned from (0: the table must not exist;
        ``None``: whatever is current). The version check is the ``UPDATE … WHERE version =``
        itself (or the primary key, for a new table), so it holds across processes and on
        SQLite; on a mismatch :class:`ConcurrentModification` is raised and nothing is written.
        ``writes`` on this database run inside the transaction, others right after it.
        """
        check_partition_arity(partitions, {(table.database, table.name): len(table.partition_keys)})
        if any((p.database, p.table) != (table.database, table.name) for p in partitions):
            raise ValueError(f"swap_table({table.qualified_name}) got partitions of another table")
        inside = [w for w in writes if engine_for(w.url) is self.engine]
        now = _now()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(tables_t.c.body, tables_t.c.version).where(
                tables_t.c.database == table.database, tables_t.c.name == table.name)).first()
            current = 0 if row is None else int(row.version)
            if expected_version is not None and current != expected_version:
                raise table_conflict(table.qualified_name, expected_version, current)
            if row is None:
                if conn.execute(sa.select(databases_t.c.name).where(
                        databases_t.c.name == table.database)).first() is None:
                    raise EntityNotFound(f"database {table.database!r} not found")
                stored = table.evolve(version=1, create_time=table.create_time or now, update_time=now)
                try:
                    conn.execute(tables_t.insert().values(database=table.database, name=table.name, version=1,
                                                          body=json.dumps(to_dict(stored)), update_time=now))
                except sa.exc.IntegrityError as exc:  # a concurrent creator inserted the table first
                    raise table_conflict(table.qualified_name, 0, None) from exc
            else:
                previous = table_from_dict(json.loads(row.body))
                stored = table.evolve(version=current + 1, create_time=previous.create_time, update_time=now)
                # the compare-and-swap: a writer that committed since our read makes this match nothing
                if conn.execute(tables_t.update().where(
                        tables_t.c.database == table.database, tables_t.c.name == table.name,
                        tables_t.c.version == current).values(
                            version=stored.version, body=json.dumps(to_dict(stored)),
                            update_time=now)).rowcount != 1:
                    raise table_conflict(table.qualified_name, current, None)
                conn.execute(table_versions_t.insert().values(
                    database=table.database, name=table.name, version=current, body=row.body, archived_at=now))
            _write_parameters(conn, stored)
            if replace_partitions:
                conn.execute(partitions_t.delete().where(partitions_t.c.database == table.database,
                                                         partitions_t.c.table_name == table.name))
            else:
                for p in partitions:
                    conn.execute(partitions_t.delete().where(self._partition_where(p)))
            if partitions:
                conn.execute(partitions_t.insert(), [self._partition_row(p) for p in partitions])
            for write in inside:
                write.apply(conn)
        run_writes_apart([w for w in writes if w not in inside])
        return stored

    def delete_table(self, database: str, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(partitions_t.delete().where(partitions_t.c.database == database,
                                                     partitions_t.c.table_name == name))
            conn.execute(table_versions_t.delete().where(table_versions_t.c.database == database,
                                                         table_versions_t.c.name == name))
            conn.execute(table_parameters_t.delete().where(table_parameters_t.c.database == database,
                                                           table_parameters_t.c.name == name))
            if conn.execute(tables_t.delete().where(tables_t.c.database == database,
                                                    tables_t.c.name == name)).rowcount == 0:
                raise EntityNotFound(f"table {database}.{name} not found")

    # -- versions --------------------------------------------------------------------------
    def get_table_versions(self, database: str, name: str) -> list[TableVersion]:
        """All versions, oldest first, the current one last."""
        current = self.get_table(database, name)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table_versions_t).where(
                table_versions_t.c.database == database, table_versions_t.c.name == name)
                .order_by(table_versions_t.c.version)).all()
        versions = [TableVersion(r.version, table_from_dict(json.loads(r.body)), r.archived_at) for r in rows]
        versions.append(TableVersion(current.version, current, None))
        return versions

    def get_table_version(self, database: str, name: str, version: int) -> TableVersion:
        current = self.get_table(database, name)
        if version == current.version:
            return TableVersion(current.version, current, None)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table_versions_t).where(
                table_versions_t.c.database == database, table_versions_t.c.name == name,
                table_versions_t.c.version == version)).first()
        if row is None:
            return super().get_table_version(database, name, version)  # raises, listing the versions there are
        return TableVersion(row.version, table_from_dict(json.loads(row.body)), row.archived_at)

    # -- partitions ------------------------------------------------------------------------
    def _check_partitions(self, partitions: Sequence[Partition]) -> None:
        counts = {(p.database, p.table): 0 for p in partitions}
        for database, table in counts:
            counts[(database, table)] = len(self.get_table(database, table).partition_keys)
        check_partition_arity(partitions, counts)

    def _partition_row(self, p: Partition) -> dict[str, Any]:
        stored = Partition(p.database, p.table, tuple(p.values), p.storage, dict(p.parameters),
                           p.create_time or _now())
        return {"database": p.database, "table_name": p.table, "values_key": _values_key(p.values),
                "body": json.dumps(to_dict(stored))}

    @staticmethod
    def _partition_where(p: Partition | tuple[str, str, Sequence[str]]) -> sa.ColumnElement[bool]:
        database, table, values = (p.database, p.table, p.values) if isinstance(p, Partition) else p
        return sa.and_(partitions_t.c.database == database, partitions_t.c.table_name == table,
                       partitions_t.c.values_key == _values_key(values))

    def batch_create_partitions(self, partitions: Sequence[Partition]) -> int:
        """Create all partitions or none: one that already exists fails the whole batch."""
        if not partitions:
            return 0
        self._check_partitions(partitions)
        with self.engine.begin() as conn:
            for p in partitions:
                if conn.execute(sa.select(partitions_t.c.values_key).where(self._partition_where(p))).first():
                    raise AlreadyExists(f"partition {list(p.values)} of {p.database}.{p.table} already exists")
            conn.execute(partitions_t.insert(), [self._partition_row(p) for p in partitions])
        return len(partitions)

    def batch_update_partitions(self, partitions: Sequence[Partition]) -> int:
        """Replace existing partitions, all or none: a missing one fails the whole batch."""
        if not partitions:
            return 0
        self._check_partitions(partitions)
        with self.engine.begin() as conn:
            for p in partitions:
                row = conn.execute(sa.select(partitions_t.c.body).where(self._partition_where(p))).first()
                if row is None:
                    raise EntityNotFound(f"partition {list(p.values)} of {p.database}.{p.table} not found")
                kept = p if p.create_time else Partition(
                    p.database, p.table, p.values, p.storage, p.parameters, _partition_from_body(row.body).create_time)
                conn.execute(partitions_t.update().where(self._partition_where(p))
                             .values(body=self._partition_row(kept)["body"]))
        return len(partitions)

    def batch_upsert_partitions(self, partitions: Sequence[Partition]) -> int:
        if not partitions:
            return 0
        self._check_partitions(partitions)
        with self.engine.begin() as conn:
            for p in partitions:
                conn.execute(partitions_t.delete().where(self._partition_where(p)))
            conn.execute(partitions_t.insert(), [self._partition_row(p) for p in partitions])
        return len(partitions)

    def replace_partitions(self, database: str, table: str, partitions: Sequence[Partition]) -> None:
        """Swap the whole partition set in one transaction (used when a table is rewritten)."""
        self._check_partitions(partitions)
        with self.engine.begin() as conn:
            conn.execute(partitions_t.delete().where(partitions_t.c.database == database,
                                                     partitions_t.c.table_name == table))
            if partitions:
                conn.execute(partitions_t.insert(), [self._partition_row(p) for p in partitions])

    def get_partition(self, database: str, table: str, values: Sequence[str]) -> Partition:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(partitions_t.c.body).where(
                self._partition_where((database, table, values)))).first()
        if row is None:
            raise EntityNotFound(f"partition {list(values)} of {database}.{table} not found")
        return _partition_from_body(row.body)

    def get_partitions(self, database: str, table: str) -> list[Partition]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(partitions_t.c.body).where(
                partitions_t.c.database == database, partitions_t.c.table_name == table)).all()
        return sorted((_partition_from_body(r.body) for r in rows), key=lambda p: p.values)

    def batch_delete_partitions(self, database: str, table: str, values: Sequence[tuple[str, ...]]) -> int:
        deleted = 0
        with self.engine.begin() as conn:
            for v in values:
                deleted += conn.execute(partitions_t.delete().where(
                    self._partition_where((database, table, v)))).rowcount
        return deleted


def _write_parameters(conn: sa.Connection, table: Table) -> None:
    """Mirror a table's parameters into the search index, in the caller's transaction."""
    conn.execute(table_parameters_t.delete().where(table_parameters_t.c.database == table.database,
                                                   table_parameters_t.c.name == table.name))
    if table.parameters:
        conn.execute(table_parameters_t.insert(), [
            {"database": table.database, "name": table.name, "key": k, "value": v}
            for k, v in table.parameters.items()])


def _database_from_body(body: str) -> Database:
    d = json.loads(body)
    ct = d.get("create_time")
    return Database(d["name"], d.get("description", ""), d.get("location_uri", ""), dict(d.get("parameters", {})),
                    datetime.fromisoformat(ct) if ct else None)


def _partition_from_body(body: str) -> Partition:
    d = json.loads(body)
    ct = d.get("create_time")
    return Partition(d["database"], d["table"], tuple(d["values"]), storage_from_dict(d.get("storage", {})),
                     dict(d.get("parameters", {})), datetime.fromisoformat(ct) if ct else None)
