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
from lakeglue.storage.paths import check_name, check_subpath

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
#: Package custom silver steps live in (``include/pipeline_steps/``): it ships with the engine to Spark/Glue.
STEPS_PACKAGE = "pipeline_steps"
STEP_FUNCTION = re.compile(rf"^{STEPS_PACKAGE}(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")
STEP_ENGINES = ("spark", "duckdb")
LAYERS = ("raw", "bronze", "silver", "gold")


class SpecError(ValueError):
    """A pipeline spec is invalid; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Strict):
    zone: Literal["raw"] = "raw"
    prefix: str
    excludes: list[str] = Field(default_factory=lambda: ["**/_SUCCESS", "**/_temporary/**", "**/*.crc", "**/.*"])

    @field_validator("prefix")
    @classmethod
    def _relative(cls, value: str) -> str:
        check_subpath(value, "source prefix", "source.prefix")  # a folder of the raw zone, never above it
        return value


Engine = Literal["spark", "duckdb", "auto"]


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
    #: Jobs of the event-driven DAG whose engine differs from the pipeline's ``engines`` (the others
    #: keep theirs): an event batch is a few small files, where ``duckdb`` or ``auto`` skips a JVM start.
    engines: dict[Literal["bronze", "silver", "gold"], Engine] = Field(default_factory=dict)

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
    #: For files: ``encoding`` (the files' character encoding, over the catalog's ``serialization.encoding``);
    #: for CSV also ``null_markers`` (a JSON list of strings read as NULL, over the catalog's markers).
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


class SilverStepSpec(_Strict):
    """A custom Python step of a silver table: ``module:function`` per engine (docs/engines.md).

    ``spark`` takes and returns a pyspark DataFrame; ``duckdb`` takes a DuckDBPyRelation and returns
    a relation or a pyarrow.Table. A step with one implementation is engine-specific: the pipeline
    must then run silver on that engine (``auto`` needs both). Functions live in the
    ``pipeline_steps`` package (include/pipeline_steps/), which ships with the engine's code zip.
    """

    name: str
    spark: str | None = None
    duckdb: str | None = None

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"step name {value!r} must be a lower-case identifier (letters, digits, _)")
        return value

    @field_validator("spark", "duckdb")
    @classmethod
    def _function_path(cls, value: str | None) -> str | None:
        if value is not None and not STEP_FUNCTION.match(value):
            raise ValueError(f"{value!r} is not '{STEPS_PACKAGE}.<module>:<function>' (step functions live in the "
                             f"{STEPS_PACKAGE} package under include/, which ships with the engine)")
        return value

    @model_validator(mode="after")
    def _some_engine(self) -> SilverStepSpec:
        if not self.engines:
            raise ValueError(f"step {self.name!r} needs a function for at least one engine (spark, duckdb)")
        return self

    @property
    def engines(self) -> tuple[str, ...]:
        """The engines this step has an implementation for."""
        return tuple(e for e in STEP_ENGINES if getattr(self, e))

    def function_for(self, engine: str) -> str | None:
        return getattr(self, engine) if engine in STEP_ENGINES else None


class SilverTableSpec(_Strict):
    """A silver table: typed ``columns`` from bronze ``from``, deduplicated by ``key`` (latest by
    ``order_by``), optionally exploded and partitioned. ``steps`` are custom Python functions run, in
    order, on the typed rows of the batch before dedupe and the write (see :class:`SilverStepSpec`)."""

    from_: str = Field(alias="from")
    key: list[str]
    order_by: list[str] = Field(default_factory=lambda: ["_ingested_at"])
    partition_by: list[str] = Field(default_factory=list)
    keep_new_columns: bool = False
    explode: ExplodeSpec | None = None
    columns: dict[str, ColumnSpec]
    steps: list[SilverStepSpec] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("partition_by")
    @classmethod
    def _partition_names(cls, value: list[str]) -> list[str]:
        for name in value:
            check_name(name, "partition column", "partition_by")  # each becomes a folder name
        return value

    @model_validator(mode="after")
    def _keys_are_columns(self) -> SilverTableSpec:
        for field_name in ("key", "partition_by"):
            missing = [c for c in getattr(self, field_name) if c not in self.columns]
            if missing:
                raise ValueError(f"{field_name} names {missing}, which are not in columns")
        names = [step.name for step in self.steps]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"steps: names must be unique; repeated: {repeated}")
        return self

    def steps_missing(self, engine: str) -> list[SilverStepSpec]:
        """Steps with no implementation for ``engine`` (engine-specific steps of the other engine)."""
        return [step for step in self.steps if step.function_for(engine) is None]


class QualitySpec(_Strict):
    table: str
    suite: str
    layer: Literal["silver", "gold"] = "silver"


class GoldTableSpec(_Strict):
    sql: str
    partition_by: list[str] = Field(default_factory=list)

    @field_validator("partition_by")
    @classmethod
    def _partition_names(cls, value: list[str]) -> list[str]:
        for name in value:
            check_name(name, "partition column", "partition_by")  # each becomes a folder name
        return value


class EnginesSpec(_Strict):
    """Which engine runs each job: Spark for big data, DuckDB for single-node batches, or ``auto``
    (chosen per run by the input size against a threshold setting)."""

    bronze: Engine = "spark"
    #: Custom silver ``steps`` with one engine's function pin silver to that engine (``auto`` needs both).
    silver: Engine = "spark"
    gold: Engine = "spark"


class QuerySpec(_Strict):
    name: str
    sql: str


class AlertTargetSpec(_Strict):
    """Where one alert goes, through an Airflow notifier: ``smtp`` (the SMTP provider's ``SmtpNotifier``)
    or ``slack_webhook`` (the Slack provider's ``SlackWebhookNotifier``).

    ``conn_id`` names the Airflow connection that holds the server, login and password, or the
    webhook URL: secrets live in Airflow's connections (or its secrets backend), never in a spec.
    """

    type: Literal["smtp", "slack_webhook"]
    conn_id: str
    #: Recipients of an ``smtp`` alert (the sender is the connection's ``from_email``).
    to: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _recipients(self) -> AlertTargetSpec:
        if self.type == "smtp" and not self.to:
            raise ValueError("an smtp alert needs 'to' (a list of recipients)")
        if self.type == "slack_webhook" and self.to:
            raise ValueError("a slack_webhook alert posts to its connection's webhook; drop 'to'")
        return self


class AlertsSpec(_Strict):
    """Notifications of a pipeline's runs; every message links the run's report in the Data Lake UI."""

    #: A task failed for good (after its retries), the quality gate's error rules included.
    on_failure: list[AlertTargetSpec] = Field(default_factory=list)
    #: The quality gate passed but some ``warning`` rules failed.
    on_quality_warning: list[AlertTargetSpec] = Field(default_factory=list)


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
    alerts: AlertsSpec = Field(default_factory=AlertsSpec)

    @field_validator("name", "database")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"{value!r} must be a lower-case identifier (letters, digits, _)")
        return value

    @field_validator("bronze", "silver", "gold")
    @classmethod
    def _table_names(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        for name in value:
            check_name(name, "table", f"the keys of {info.field_name}")  # curated/<layer>/<table>/ folders
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
            _check_step_engines(name, silver, self.engines.silver)
            if "silver" in self.events.engines:
                _check_step_engines(name, silver, self.events.engines["silver"])
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

    def engines_for(self, event: bool) -> EnginesSpec:
        """The engines of the scheduled/manual DAG, or of the event-driven one (``events.engines``)."""
        update: dict[str, Any] = {job: engine for job, engine in self.events.engines.items()}
        return self.engines.model_copy(update=update) if event else self.engines

    def database_for(self, layer: str) -> str:
        """Catalog database of a layer: ``<database>_<layer>`` (Glue users keep one per zone)."""
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; layers are {LAYERS}")
        return f"{self.database}_{layer}"

    def source_key(self, table: str) -> str:
        """Ledger source name of a raw table: ``<pipeline>/<table>``."""
        return f"{self.name}/{table}"


def _check_step_engines(table: str, silver: SilverTableSpec, configured: str) -> None:
    """An engine-specific step only runs on its engine: ``engines.silver`` must be that engine."""
    for engine in STEP_ENGINES if configured == "auto" else (configured,):
        for step in silver.steps_missing(engine):
            why = "auto, which may pick duckdb or spark" if configured == "auto" else engine
            raise ValueError(f"silver.{table}.steps.{step.name} has no {engine} function (it is "
                             f"{'/'.join(step.engines)}-specific) but engines.silver is {why}: add "
                             f"'{engine}: {STEPS_PACKAGE}.<module>:<function>' to the step or set engines.silver "
                             f"to {step.engines[0]}")


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
