"""The catalog statements Athena users type, recognised and parsed before the query path sees them.

``CREATE DATABASE|SCHEMA``, ``DROP DATABASE|SCHEMA|TABLE|VIEW``, ``CREATE EXTERNAL TABLE``,
``CREATE [OR REPLACE] VIEW``, ``SHOW DATABASES|SCHEMAS|TABLES|VIEWS|COLUMNS|PARTITIONS|CREATE
TABLE``, ``DESCRIBE``, ``MSCK REPAIR TABLE`` and ``ALTER TABLE … ADD|DROP PARTITION`` become
one of the small statement records below; :mod:`lakeglue.query.ddl_run` runs them on the
catalog. sqlglot parses what it models (CREATE/DROP DATABASE, DROP TABLE/VIEW, CREATE VIEW,
and the Hive ``CREATE EXTERNAL TABLE`` with ROW FORMAT / STORED AS / LOCATION / TBLPROPERTIES
in its ``athena`` dialect). sqlglot 30 turns SHOW …, MSCK REPAIR and ALTER TABLE ADD PARTITION
into an opaque ``Command``, so those are read by the small classifier here (anchored regular
expressions on the statement's leading keywords; partition specs are parsed by sqlglot).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from lakeglue.query.base import QueryError
from lakeglue.sql_dialect import SOURCE_DIALECT

#: Hive DDL (ROW FORMAT, STORED AS, TBLPROPERTIES) is sqlglot's ``athena`` dialect; queries stay Trino.
DDL_DIALECT = "athena"

_IDENT = r'(?:`[^`]+`|"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_NAME = rf"(?P<name>{_IDENT}(?:\s*\.\s*{_IDENT}){{0,2}})"
_STRING = r"'(?P<pattern>(?:[^']|'')*)'"
_COMMENTS = re.compile(r"^\s*(?:--[^\n]*\n|/\*.*?\*/|\s+)*", re.S)

_LEADING = re.compile(
    r"^(?:CREATE\s+(?:DATABASE|SCHEMA|EXTERNAL\s+TABLE|(?:OR\s+REPLACE\s+)?VIEW)\b"
    r"|DROP\s+(?:DATABASE|SCHEMA|TABLE|VIEW)\b|SHOW\b|DESCRIBE\b|DESC\b|MSCK\b|ALTER\s+TABLE\b)", re.I)
_SHOW_DATABASES = re.compile(rf"^SHOW\s+(?:DATABASES|SCHEMAS)(?:\s+(?P<like>LIKE\s+)?{_STRING})?$", re.I)
_SHOW_TABLES = re.compile(rf"^SHOW\s+(?P<what>TABLES|VIEWS)(?:\s+(?:IN|FROM)\s+(?P<db>{_IDENT}))?"
                          rf"(?:\s+(?P<like>LIKE\s+)?{_STRING})?$", re.I)
_SHOW_COLUMNS = re.compile(rf"^SHOW\s+COLUMNS\s+(?:IN|FROM)\s+{_NAME}(?:\s+(?:IN|FROM)\s+(?P<db>{_IDENT}))?$", re.I)
_SHOW_PARTITIONS = re.compile(rf"^SHOW\s+PARTITIONS\s+{_NAME}$", re.I)
_SHOW_CREATE = re.compile(rf"^SHOW\s+CREATE\s+(?P<what>TABLE|VIEW)\s+{_NAME}$", re.I)
_DESCRIBE = re.compile(rf"^DESC(?:RIBE)?\s+(?:(?:EXTENDED|FORMATTED)\s+)?{_NAME}$", re.I)
_MSCK = re.compile(rf"^MSCK\s+REPAIR\s+TABLE\s+{_NAME}$", re.I)
_ALTER = re.compile(rf"^ALTER\s+TABLE\s+{_NAME}\s+(?P<action>ADD|DROP)\s+(?P<ifx>IF\s+(?:NOT\s+)?EXISTS\s+)?"
                    r"(?P<rest>PARTITION\b.*)$", re.I | re.S)
_PARTITION = re.compile(r"\s*,?\s*PARTITION\s*\((?P<spec>(?:[^()']|'(?:[^']|'')*')*)\)"
                        r"(?:\s+LOCATION\s+'(?P<location>(?:[^']|'')*)')?", re.I)


@dataclass(frozen=True)
class TableName:
    database: str | None
    name: str

    def resolve(self, default: str | None, statement: str) -> tuple[str, str]:
        owner = self.database or default
        if not owner:
            raise QueryError(f"{statement}: table {self.name} has no database: write it as <database>.{self.name} "
                             "or pass database=")
        return owner.lower(), self.name.lower()


@dataclass(frozen=True)
class CreateDatabase:
    name: str
    if_not_exists: bool = False
    comment: str = ""
    location: str = ""
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DropDatabase:
    name: str
    if_exists: bool = False
    cascade: bool = False


@dataclass(frozen=True)
class DropTable:
    table: TableName
    if_exists: bool = False
    view: bool = False


@dataclass(frozen=True)
class ShowDatabases:
    pattern: str | None = None
    like: bool = False


@dataclass(frozen=True)
class ShowTables:
    database: str | None = None
    pattern: str | None = None
    like: bool = False
    views_only: bool = False


@dataclass(frozen=True)
class ShowColumns:
    table: TableName


@dataclass(frozen=True)
class ShowPartitions:
    table: TableName


@dataclass(frozen=True)
class ShowCreate:
    table: TableName


@dataclass(frozen=True)
class Describe:
    table: TableName


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    comment: str = ""


@dataclass(frozen=True)
class CreateExternalTable:
    table: TableName
    columns: tuple[ColumnSpec, ...]
    partition_keys: tuple[ColumnSpec, ...]
    location: str
    #: ``parquet``, ``csv`` or ``json``: what ROW FORMAT / STORED AS amount to.
    classification: str
    serde: str
    serde_parameters: dict[str, str]
    properties: dict[str, str]
    comment: str = ""
    if_not_exists: bool = False


@dataclass(frozen=True)
class CreateView:
    table: TableName
    select: exp.Query
    select_sql: str
    or_replace: bool = False


@dataclass(frozen=True)
class RepairTable:
    table: TableName


@dataclass(frozen=True)
class PartitionSpec:
    values: dict[str, str]
    location: str = ""


@dataclass(frozen=True)
class AlterPartitions:
    table: TableName
    action: Literal["ADD", "DROP"]
    partitions: tuple[PartitionSpec, ...]
    #: ADD IF NOT EXISTS / DROP IF EXISTS
    tolerant: bool = False


Statement = (CreateDatabase | DropDatabase | DropTable | ShowDatabases | ShowTables | ShowColumns | ShowPartitions
             | ShowCreate | Describe | CreateExternalTable | CreateView | RepairTable | AlterPartitions)

# -- helpers ---------------------------------------------------------------------------------


def _strip(sql: str) -> str:
    """The statement without leading comments, surrounding blanks and a trailing ``;``."""
    text = _COMMENTS.sub("", sql, count=1).strip()
    return text[:-1].rstrip() if text.endswith(";") else text


def _unquote(ident: str) -> str:
    ident = ident.strip()
    if ident[:1] == "`" and ident[-1:] == "`":
        return ident[1:-1]
    if ident[:1] == '"' and ident[-1:] == '"':
        return ident[1:-1].replace('""', '"')
    return ident


def _split_name(text: str) -> TableName:
    parts = [_unquote(p) for p in re.findall(_IDENT, text)]
    if len(parts) == 3:  # awsdatacatalog.db.table
        parts = parts[1:]
    return TableName(parts[0] if len(parts) == 2 else None, parts[-1])


def _literal(text: str | None) -> str | None:
    return None if text is None else text.replace("''", "'")


def _name_of(node: exp.Expression | None) -> TableName:
    if isinstance(node, exp.Schema):
        node = node.this
    if not isinstance(node, exp.Table) or not node.name:
        raise QueryError("cannot tell which table the statement names")
    return TableName(node.db or None, node.name)


def _database_name(node: exp.Expression | None) -> str:
    """``CREATE SCHEMA x`` puts x in the table's db slot, ``CREATE DATABASE x`` in its name."""
    if not isinstance(node, exp.Table):
        raise QueryError("cannot tell which database the statement names")
    return (node.name or node.db).lower()


def _text(node: exp.Expression | None) -> str:
    if node is None:
        return ""
    if isinstance(node, exp.Literal):
        return str(node.this)
    return node.name if isinstance(node, exp.Identifier | exp.Var) else node.sql(dialect=DDL_DIALECT)


def hive_type(kind: exp.DataType) -> str:
    """A column type as Glue stores it: lower-case Hive (``struct<a:int,b:array<string>>``)."""
    return kind.sql(dialect="hive").lower().replace(", ", ",").replace(": ", ":")


def _parse(sql: str, dialect: str) -> exp.Expr:
    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        raise QueryError(f"SQL syntax error at line {first.get('line')}, column {first.get('col')}: "
                         f"{first.get('description', exc)}") from exc
    if len(trees) != 1:
        raise QueryError(f"expected exactly one SQL statement, got {len(trees)}; run statements one at a time")
    tree = trees[0]
    if isinstance(tree, exp.Command):
        raise QueryError(f"this form of {tree.name.upper()} is not supported: {sql[:120]}")
    return tree


# -- statements ------------------------------------------------------------------------------


_DBPROPERTIES = re.compile(r"\s+WITH\s+DBPROPERTIES\s*\((?P<props>(?:[^()']|'(?:[^']|'')*')*)\)\s*$", re.I)
_PROPERTY = re.compile(r"\s*'(?P<key>(?:[^']|'')*)'\s*=\s*'(?P<value>(?:[^']|'')*)'\s*(?:,|$)")


def _dbproperties(text: str) -> tuple[str, dict[str, str]]:
    """Hive's trailing ``WITH DBPROPERTIES ('k'='v', …)``, which sqlglot 30 does not parse: cut off and read here."""
    match = _DBPROPERTIES.search(text)
    if match is None:
        return text, {}
    props = match.group("props")
    found = {_literal(m.group("key")) or "": _literal(m.group("value")) or "" for m in _PROPERTY.finditer(props)}
    if sum(len(m.group(0)) for m in _PROPERTY.finditer(props)) != len(props):
        raise QueryError(f"cannot read DBPROPERTIES ({props}): write ('key'='value', …)")
    return text[:match.start()], found


def _create_database(tree: exp.Create, extra: dict[str, str]) -> CreateDatabase:
    comment = location = ""
    properties: dict[str, str] = dict(extra)
    props = tree.args.get("properties")
    for prop in props.expressions if props is not None else []:
        if isinstance(prop, exp.SchemaCommentProperty):
            comment = _text(prop.this)
        elif isinstance(prop, exp.LocationProperty):
            location = _text(prop.this)
        elif isinstance(prop, exp.Property):
            properties[_text(prop.this)] = _text(prop.args.get("value"))
    return CreateDatabase(_database_name(tree.this), bool(tree.args.get("exists")), comment, location, properties)


def _columns(schema: exp.Expression | None) -> tuple[ColumnSpec, ...]:
    out = []
    for col in schema.expressions if schema is not None else []:
        if not isinstance(col, exp.ColumnDef) or col.args.get("kind") is None:
            raise QueryError(f"column definition {col.sql(dialect=DDL_DIALECT)} needs a name and a type")
        comment = ""
        for constraint in col.args.get("constraints") or []:
            if isinstance(constraint.args.get("kind"), exp.CommentColumnConstraint):
                comment = _text(constraint.args["kind"].this)
        out.append(ColumnSpec(col.name.lower(), hive_type(col.args["kind"]), comment))
    return tuple(out)


JSON_SERDES = ("org.openx.data.jsonserde.JsonSerDe", "org.apache.hive.hcatalog.data.JsonSerDe")
CSV_SERDES = ("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", "org.apache.hadoop.hive.serde2.OpenCSVSerde")
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def _create_external(tree: exp.Create) -> CreateExternalTable:
    if not isinstance(tree.this, exp.Schema) or not tree.this.expressions:
        raise QueryError("CREATE EXTERNAL TABLE needs its columns: CREATE EXTERNAL TABLE db.t (col type, …) …")
    location = comment = serde = stored = ""
    partition_keys: tuple[ColumnSpec, ...] = ()
    serde_params: dict[str, str] = {}
    properties: dict[str, str] = {}
    props = tree.args.get("properties")
    for prop in props.expressions if props is not None else []:
        if isinstance(prop, exp.ExternalProperty):
            continue
        if isinstance(prop, exp.LocationProperty):
            location = _text(prop.this)
        elif isinstance(prop, exp.SchemaCommentProperty):
            comment = _text(prop.this)
        elif isinstance(prop, exp.PartitionedByProperty):
            partition_keys = _columns(prop.this)
        elif isinstance(prop, exp.RowFormatDelimitedProperty):
            serde = CSV_SERDES[0]
            for arg, key in (("fields", "field.delim"), ("escaped", "escape.delim"), ("lines", "line.delim"),
                             ("collection_items", "collection.delim"), ("map_keys", "mapkey.delim"),
                             ("null", "serialization.null.format")):
                if prop.args.get(arg) is not None:
                    serde_params[key] = _text(prop.args[arg])
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            serde = _text(prop.this)
            for item in (prop.args.get("serde_properties") or exp.SerdeProperties()).expressions:
                serde_params[_text(item.this)] = _text(item.args.get("value"))
        elif isinstance(prop, exp.FileFormatProperty):
            value = prop.this
            if isinstance(value, exp.InputOutputFormat):
                stored = _text(value.args.get("input_format")).upper()
            else:
                stored = _text(value).upper()
        elif isinstance(prop, exp.Property):
            properties[_text(prop.this)] = _text(prop.args.get("value"))
        else:
            raise QueryError(f"CREATE EXTERNAL TABLE: {prop.sql(dialect=DDL_DIALECT)} is not supported")
    if not location:
        raise QueryError("CREATE EXTERNAL TABLE needs LOCATION '<folder in the lake>': an external table's data "
                         "stays where it is")
    classification = _classification(stored, serde)
    if classification == "parquet" and not serde:
        serde = PARQUET_SERDE
    if classification == "csv" and serde in ("", CSV_SERDES[0]) and "field.delim" not in serde_params:
        serde, serde_params["field.delim"] = CSV_SERDES[0], "\u0001"  # Hive's default text table: ^A-separated
    if classification == "csv" and serde == CSV_SERDES[0] and "field.delim" in serde_params:
        serde_params.setdefault("serialization.format", serde_params["field.delim"])
    return CreateExternalTable(_name_of(tree.this), _columns(tree.this), partition_keys, location, classification,
                               serde, serde_params, properties, comment, bool(tree.args.get("exists")))


def _classification(stored: str, serde: str) -> str:
    """``parquet`` / ``csv`` / ``json`` from STORED AS and the SerDe, as Glue's classification parameter."""
    if stored in ("PARQUET", "ORG.APACHE.HADOOP.HIVE.QL.IO.PARQUET.MAPREDPARQUETINPUTFORMAT") or serde == PARQUET_SERDE:
        return "parquet"
    if serde in JSON_SERDES:
        return "json"
    if stored in ("", "TEXTFILE", "ORG.APACHE.HADOOP.MAPRED.TEXTINPUTFORMAT") and serde in ("", *CSV_SERDES):
        return "csv"
    raise QueryError(f"CREATE EXTERNAL TABLE: {'STORED AS ' + stored if stored else ''} "
                     f"{'SERDE ' + serde if serde else ''} is not supported; lakeglue reads STORED AS PARQUET, "
                     "TEXTFILE (ROW FORMAT DELIMITED or OpenCSVSerde) and the JSON SerDes "
                     f"({', '.join(JSON_SERDES)})")


def _create_view(tree: exp.Create) -> CreateView:
    select = tree.expression
    if not isinstance(select, exp.Query):
        raise QueryError("CREATE VIEW needs AS SELECT …")
    return CreateView(_name_of(tree.this), select, select.sql(dialect=SOURCE_DIALECT), bool(tree.args.get("replace")))


def _partition_specs(rest: str) -> tuple[PartitionSpec, ...]:
    specs = []
    pos = 0
    for match in _PARTITION.finditer(rest):
        if match.start() != pos:
            break
        pos = match.end()
        values: dict[str, str] = {}
        for item in _parse(f"SELECT {match.group('spec')}", SOURCE_DIALECT).expressions:
            if not isinstance(item, exp.EQ) or not isinstance(item.this, exp.Column):
                raise QueryError(f"partition spec ({match.group('spec')}) must be key = value pairs")
            value = item.expression
            if not isinstance(value, exp.Literal):
                raise QueryError(f"partition value {value.sql()} must be a literal")
            values[item.this.name.lower()] = str(value.this)
        specs.append(PartitionSpec(values, _literal(match.group("location")) or ""))
    if not specs or rest[pos:].strip():
        raise QueryError(f"cannot read the partition list {rest[pos:pos + 80]!r}: write PARTITION (key = 'value', …) "
                         "[LOCATION '…'] [PARTITION (…) …]")
    return tuple(specs)


def parse_ddl(sql: str) -> Statement | None:
    """The catalog statement in ``sql``, or None if it is not one (then it is a query, CTAS or INSERT)."""
    text = _strip(sql)
    if not _LEADING.match(text):
        return None
    head = text.split(None, 2)
    verb = head[0].upper()
    if verb == "SHOW":
        return _show(text)
    if verb in ("DESCRIBE", "DESC", "MSCK"):
        match = (_MSCK if verb == "MSCK" else _DESCRIBE).match(text)
        if match:
            name = _split_name(match.group("name"))
            return RepairTable(name) if verb == "MSCK" else Describe(name)
        raise QueryError(f"cannot read {verb} statement {text[:120]!r}: write {verb} "
                         f"{'REPAIR TABLE ' if verb == 'MSCK' else ''}[database.]table")
    if verb == "ALTER":
        match = _ALTER.match(text)
        if not match:
            raise QueryError("ALTER TABLE supports ADD [IF NOT EXISTS] PARTITION (…) [LOCATION '…'] and DROP "
                             "[IF EXISTS] PARTITION (…); tables change through the crawler or CTAS")
        return AlterPartitions(_split_name(match.group("name")), match.group("action").upper(),  # type: ignore[arg-type]
                               _partition_specs(match.group("rest")), bool(match.group("ifx")))
    kind = head[1].upper()
    dbproperties: dict[str, str] = {}
    if verb == "CREATE" and kind in ("DATABASE", "SCHEMA"):
        text, dbproperties = _dbproperties(text)
    tree = _parse(text, SOURCE_DIALECT if kind in ("OR", "VIEW") else DDL_DIALECT)
    if isinstance(tree, exp.Drop):
        target = (tree.args.get("tables") or [tree.this])[0]  # sqlglot 30 keeps DROP's targets in "tables"
        if kind in ("DATABASE", "SCHEMA"):
            return DropDatabase(_database_name(target), bool(tree.args.get("exists")), bool(tree.args.get("cascade")))
        return DropTable(_name_of(target), bool(tree.args.get("exists")), view=kind == "VIEW")
    if isinstance(tree, exp.Create):
        if kind in ("DATABASE", "SCHEMA"):
            return _create_database(tree, dbproperties)
        if tree.kind == "VIEW":
            return _create_view(tree)
        if tree.kind == "TABLE" and tree.expression is None:
            return _create_external(tree)
    raise QueryError(f"cannot read the statement {text[:120]!r}")


def _show(text: str) -> Statement:
    match = _SHOW_DATABASES.match(text)
    if match:
        return ShowDatabases(_literal(match.group("pattern")), bool(match.group("like")))
    match = _SHOW_TABLES.match(text)
    if match:
        db = _unquote(match.group("db")) if match.group("db") else None
        return ShowTables(db, _literal(match.group("pattern")), bool(match.group("like")),
                          views_only=match.group("what").upper() == "VIEWS")
    match = _SHOW_COLUMNS.match(text)
    if match:
        name = _split_name(match.group("name"))
        if match.group("db"):
            name = TableName(_unquote(match.group("db")), name.name)
        return ShowColumns(name)
    for pattern, make in ((_SHOW_PARTITIONS, ShowPartitions), (_SHOW_CREATE, ShowCreate)):
        match = pattern.match(text)
        if match:
            return make(_split_name(match.group("name")))
    raise QueryError(f"unsupported SHOW statement {text[:80]!r}; lakeglue answers SHOW DATABASES|SCHEMAS, SHOW "
                     "TABLES|VIEWS [IN db] ['pattern'], SHOW COLUMNS IN t, SHOW PARTITIONS t, SHOW CREATE TABLE|VIEW t")
