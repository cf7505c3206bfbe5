"""The pipeline spec: one YAML file describes a pipeline from raw files to queries.

The DAG factory, the CLI and the jobs all read the same validated object, so a typo in a
spec fails loudly — naming the file and the field — before anything runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from lakeglue.settings import PIPELINES_DIR, QUALITY_DIR, SQL_DIR

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
LAYERS = ("raw", "bronze", "silver", "gold")


class SpecError(ValueError):
    """A pipeline spec is invalid; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Strict):
    zone: Literal["raw"] = "raw"
    prefix: str
    excludes: list[str] = Field(default_factory=lambda: ["**/_SUCCESS", "**/_temporary/**", "**/*.crc", "**/.*"])


class EventSpec(_Strict):
    """How new raw files start a run (the ``<name>_on_new_files`` DAG); see README "Event-driven pipelines".

    ``poll`` lists the raw prefix (local disk or S3, whichever the profile's lake is);
    ``sqs`` reads S3 event notifications from ``queue_url`` and, every ``reconcile_seconds``,
    lists the prefix as a safety net for notifications that never arrive.
    """

    enabled: bool = False
    mode: Literal["poll", "sqs"] = "poll"
    poll_seconds: Annotated[float, Field(gt=0)] = 10.0
    #: A batch is released when this many new files wait ...
    min_files: Annotated[int | None, Field(ge=1)] = None
    #: ... or when nothing new arrived (and no waiting file changed) for this long ...
    quiet_seconds: Annotated[float, Field(ge=0)] = 10.0
    #: ... or when the oldest waiting file has waited this long.
    max_wait_seconds: Annotated[float | None, Field(gt=0)] = 300.0
    max_files: Annotated[int, Field(ge=1)] = 1000
    #: An announcement no run claimed within this time is made again (its event was lost).
    reannounce_after_seconds: Annotated[float, Field(gt=0)] = 900.0
    queue_url: str | None = None
    aws_conn_id: str = "aws_default"
    reconcile_seconds: Annotated[float | None, Field(gt=0)] = 600.0

    @model_validator(mode="after")
    def _consistent(self) -> EventSpec:
        if self.mode == "sqs" and not self.queue_url:
            raise ValueError("mode 'sqs' needs queue_url (the SQS queue S3 sends notifications to)")
        if self.mode == "poll" and self.queue_url:
            raise ValueError("queue_url is only used with mode 'sqs'")
        if self.max_wait_seconds is not None and self.max_wait_seconds < self.quiet_seconds:
            raise ValueError(f"max_wait_seconds ({self.max_wait_seconds}) is shorter than "
                             f"quiet_seconds ({self.quiet_seconds})")
        if self.min_files is not None and self.min_files > self.max_files:
            raise ValueError(f"min_files ({self.min_files}) exceeds max_files ({self.max_files})")
        return self


class BronzeTableSpec(_Strict):
    format: Literal["csv", "json", "parquet", "jdbc"]
    #: Reader options; for ``jdbc``: ``url`` (jdbc:postgresql://…), ``dbtable``, ``user``, ``password``.
    #: ``${VAR}`` in a value is replaced by the environment variable VAR when the job runs.
    options: dict[str, str] = Field(default_factory=dict)
    #: For table sources: the column whose high-water mark is the job bookmark (e.g. ``updated_at``).
    bookmark_column: str | None = None
    #: Columns whose type differs between files, with the types seen (a DynamicFrame "choice"):
    #: bronze keeps every variant, silver resolves it by the column's ``resolve`` rule.
    choices: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _jdbc_needs_url_and_table(self) -> BronzeTableSpec:
        if self.format == "jdbc":
            missing = [k for k in ("url", "dbtable") if not self.options.get(k)]
            if missing:
                raise ValueError(f"a jdbc source needs options {missing}")
        elif self.bookmark_column:
            raise ValueError("bookmark_column is for jdbc sources; file sources are bookmarked by the ledger")
        return self


ChoiceRule = Literal["cast", "project", "make_cols", "make_struct"]


class ColumnSpec(_Strict):
    #: Hive type of the silver column; ``choice`` for ``make_cols``/``make_struct`` (types come from the variants).
    type: str
    #: Optional expression in Trino/Athena SQL over the bronze row (transpiled per engine).
    expr: str | None = None
    #: How a choice column (declared in bronze ``choices``) is resolved, as Glue's ``resolveChoice``:
    #: ``cast`` every variant to ``type`` (uncastable values are quarantined), ``project`` keeps only the
    #: variant of ``type``, ``make_cols`` makes ``<name>_<variant>`` columns, ``make_struct`` one struct.
    resolve: ChoiceRule | None = None

    @model_validator(mode="after")
    def _choice_type(self) -> ColumnSpec:
        if self.resolve in ("make_cols", "make_struct") and self.type != "choice":
            raise ValueError(f"resolve: {self.resolve} takes its types from the variants; set type: choice")
        if self.type == "choice" and self.resolve not in ("make_cols", "make_struct"):
            raise ValueError("type: choice needs resolve: make_cols or make_struct")
        if self.resolve and self.expr:
            raise ValueError("a column with resolve reads the choice column itself; drop expr")
        return self


class ExplodeSpec(_Strict):
    column: str
    #: Name of the 1-based position column of the exploded element.
    position: str = "pos"
    #: Alias that column expressions use for the exploded element.
    alias: str = "item"


class SilverTableSpec(_Strict):
    from_: str = Field(alias="from")
    key: list[str]
    order_by: list[str] = Field(default_factory=lambda: ["_ingested_at"])
    partition_by: list[str] = Field(default_factory=list)
    keep_new_columns: bool = False
    explode: ExplodeSpec | None = None
    columns: dict[str, ColumnSpec]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _keys_are_columns(self) -> SilverTableSpec:
        for field_name in ("key", "partition_by"):
            missing = [c for c in getattr(self, field_name) if c not in self.columns]
            if missing:
                raise ValueError(f"{field_name} names {missing}, which are not in columns")
        return self


class QualitySpec(_Strict):
    table: str
    suite: str
    layer: Literal["silver", "gold"] = "silver"


class GoldTableSpec(_Strict):
    sql: str
    partition_by: list[str] = Field(default_factory=list)


Engine = Literal["spark", "duckdb", "auto"]


class EnginesSpec(_Strict):
    """Which engine runs each job: Spark for big data, DuckDB for single-node batches, or ``auto``
    (chosen per run by the input size against a threshold setting)."""

    bronze: Engine = "spark"
    silver: Engine = "spark"
    gold: Engine = "spark"


class QuerySpec(_Strict):
    name: str
    sql: str


class PipelineSpec(_Strict):
    name: str
    description: str = ""
    owner: str = "data-eng"
    tags: list[str] = Field(default_factory=list)
    schedule: str | None = None
    retries: int = 1
    database: str
    source: SourceSpec
    events: EventSpec = Field(default_factory=EventSpec)
    engines: EnginesSpec = Field(default_factory=EnginesSpec)
    bronze: dict[str, BronzeTableSpec]
    silver: dict[str, SilverTableSpec] = Field(default_factory=dict)
    quality: list[QualitySpec] = Field(default_factory=list)
    gold: dict[str, GoldTableSpec] = Field(default_factory=dict)
    queries: list[QuerySpec] = Field(default_factory=list)

    @field_validator("name", "database")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"{value!r} must be a lower-case identifier (letters, digits, _)")
        return value

    @model_validator(mode="after")
    def _references_resolve(self, info: ValidationInfo) -> PipelineSpec:
        for name, silver in self.silver.items():
            if silver.from_ not in self.bronze:
                raise ValueError(f"silver.{name}.from is {silver.from_!r}, not a bronze table "
                                 f"(bronze tables: {sorted(self.bronze)})")
            choices = self.bronze[silver.from_].choices
            for column, col_spec in silver.columns.items():
                if col_spec.resolve and column not in choices:
                    raise ValueError(f"silver.{name}.columns.{column}.resolve: {column!r} is not declared in "
                                     f"bronze.{silver.from_}.choices")
        for i, q in enumerate(self.quality):
            tables = self.silver if q.layer == "silver" else self.gold
            if q.table not in tables:
                raise ValueError(f"quality[{i}].table {q.table!r} is not a {q.layer} table")
        if (info.context or {}).get("check_files") is False:
            return self  # DAG parsing: no file-system access; `lakeglue dags check` does these checks
        for i, q in enumerate(self.quality):
            if not (QUALITY_DIR / q.suite).is_file():
                raise ValueError(f"quality[{i}].suite: {QUALITY_DIR / q.suite} does not exist")
        for name, gold in self.gold.items():
            if not (SQL_DIR / gold.sql).is_file():
                raise ValueError(f"gold.{name}.sql: {SQL_DIR / gold.sql} does not exist")
        for i, query in enumerate(self.queries):
            if not (SQL_DIR / query.sql).is_file():
                raise ValueError(f"queries[{i}].sql: {SQL_DIR / query.sql} does not exist")
        return self

    def database_for(self, layer: str) -> str:
        """Catalog database of a layer: ``<database>_<layer>`` (Glue users keep one per zone)."""
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; layers are {LAYERS}")
        return f"{self.database}_{layer}"

    def source_key(self, table: str) -> str:
        """Ledger source name of a raw table: ``<pipeline>/<table>``."""
        return f"{self.name}/{table}"


def spec_from_dict(data: dict[str, Any], source: str = "<dict>", check_files: bool = True) -> PipelineSpec:
    """Validate an already-loaded spec (generated DAG files embed theirs, so parsing does no I/O)."""
    try:
        return PipelineSpec.model_validate(data, context={"check_files": check_files})
    except ValidationError as exc:
        problems = "; ".join(
            f"field {'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors())
        raise SpecError(f"{source}: {problems}") from None


def load_spec_data(name_or_path: str | Path, pipelines_dir: Path = PIPELINES_DIR) -> tuple[Path, dict[str, Any]]:
    """Read a spec file (by pipeline name or path) into a plain mapping."""
    path = Path(name_or_path)
    if not path.suffix:
        path = pipelines_dir / f"{name_or_path}.yml"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(pipelines_dir.glob("*.yml")))
        raise SpecError(f"pipeline spec {path} not found (known pipelines: {known or 'none'})")
    try:
        data: Any = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping at the top level")
    return path, data


def load_pipeline(name_or_path: str | Path, pipelines_dir: Path = PIPELINES_DIR) -> PipelineSpec:
    path, data = load_spec_data(name_or_path, pipelines_dir)
    return spec_from_dict(data, source=str(path))


def list_pipelines(pipelines_dir: Path = PIPELINES_DIR) -> list[Path]:
    return sorted(pipelines_dir.glob("*.yml"))
