"""What every query engine (DuckDB, Trino, Athena) promises the query runner.

The runner owns everything engine-independent — parsing and checking the SQL, resolving
catalog tables, query ids, writing results and metadata — so an engine only has to turn
Trino-dialect SQL plus the catalog tables it reads into an Arrow table. Engines are
looked up by name and imported lazily, so choosing DuckDB never imports a Trino client
or boto3.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeglue.catalog import Catalog, Table
    from lakeglue.settings import Settings
    from lakeglue.storage.zones import Lake


class QueryError(Exception):
    """A query could not be run; the message says which table, placeholder or SQL position is wrong."""

    def __init__(self, message: str, query_id: str | None = None) -> None:
        super().__init__(message)
        self.query_id = query_id


@dataclass(frozen=True)
class BoundQuery:
    """A checked statement: the original SQL, its parameters and the catalog tables it reads.

    ``tables`` maps the lower-case ``(database, table)`` the SQL reads (bare names already
    resolved against the default database) to the catalog definition; the target of a
    CTAS / INSERT is not in it. ``query_id`` lets engines that keep their own result
    files (Athena) put them next to lakeglue's.
    """

    sql: str
    params: tuple[Any, ...]
    database: str | None
    tables: dict[tuple[str, str], Table]
    query_id: str = ""
    #: The statement as the column check qualified it against ``tables``, handed once to the translator
    #: (which then need not parse and qualify it again); empty when there is none to hand over. Not an
    #: ``__init__`` argument, so ``dataclasses.replace(bound, sql=…)`` starts with none (another text).
    qualified: list[Any] = field(default_factory=list, init=False, compare=False, repr=False)


@dataclass
class EngineResult:
    """Rows as Arrow (types preserved for Parquet output) plus what the engine can tell about the scan."""

    data: pa.Table
    #: Column types in the Trino/Athena vocabulary (``bigint``, ``varchar``, ``decimal(18,2)``).
    types: list[str]
    #: The SQL the engine actually ran (after transpilation), for error messages and metadata.
    engine_sql: str
    stats: dict[str, Any] = field(default_factory=dict)


class QueryEngine(Protocol):
    name: str
    #: True when the engine runs CTAS / INSERT INTO itself against a catalog it shares with
    #: lakeglue (Athena on Glue, Trino on the Hive Metastore); False when lakeglue runs the
    #: SELECT on the engine and writes + registers the table (DuckDB).
    native_writes: bool

    def execute(self, query: BoundQuery) -> EngineResult: ...

    def explain(self, query: BoundQuery, analyze: bool = False) -> str: ...


#: Engine name → "module:Class"; modules are imported only when that engine is used.
ENGINES: dict[str, str] = {
    "duckdb": "lakeglue.query.duckdb_engine:DuckDBEngine",
    "trino": "lakeglue.query.trino_engine:TrinoEngine",
    "athena": "lakeglue.query.athena:AthenaEngine",
}

#: The SQL engine each deployment profile uses (README "Profiles" table).
PROFILE_ENGINES: dict[str, str] = {"embedded": "duckdb", "compose": "trino", "aws": "athena"}


def engine_for_profile(profile: str) -> str:
    """The engine a profile queries with; the profile is the only switch, never the caller's code."""
    try:
        return PROFILE_ENGINES[profile]
    except KeyError:
        raise QueryError(f"no query engine for profile {profile!r}; profiles: {', '.join(PROFILE_ENGINES)}") from None


def get_engine(name: str, settings: Settings, lake: Lake, catalog: Catalog | None = None,
               **options: Any) -> QueryEngine:
    """Instantiate the engine called ``name``; unknown names list the ones that exist.

    ``options`` are engine-specific (Athena: ``client``, ``workgroup``, ``output_location``;
    Trino: ``connection``, ``host`` …) and override what ``settings.extra`` says.
    """
    target = ENGINES.get(name)
    if target is None:
        raise QueryError(f"unknown query engine {name!r}; engines: {', '.join(sorted(ENGINES))}")
    module_name, _, class_name = target.partition(":")
    engine_cls = getattr(importlib.import_module(module_name), class_name)
    engine: QueryEngine = engine_cls(settings=settings, lake=lake, catalog=catalog, **options)
    return engine
