"""The hostile corpus through crawl → bronze → silver on both engines, record by record.

Per case and engine, three promises (issue 15):

(a) the job does not fail because of another file — cases share table folders, so one bad
    file failing its table's job fails every neighbour's case too;
(b) the accounting adds up: records read = bronze rows + bronze quarantine, bronze rows =
    silver rows + silver quarantine + duplicates dropped, and the metrics match the data;
(c) every record of the case is exactly where the table below says: a silver row with these
    values, a quarantine record with this reason, or a duplicate dropped — nothing else, nowhere else.

``EXPECTED`` (one entry per case, at the top) is the contract; the choices it encodes are
explained in each case's docstring in ``corpus.py``. Each table runs as its own job (a spec
with that table only), so a failing table does not hide the outcome of the others. In short:
a top-level JSON array line is quarantined (not exploded); bare NaN/Infinity are accepted; a
lone CR ends a line; dates outside years 1..9999 are quarantined by silver; a zero-byte .gz is
empty, a truncated .gz is quarantined whole; ragged CSV rows are quarantined (not padded); a
text integer beyond bigint is catalogued decimal(38,0); a multi-member zip reads every member;
whitespace-only lines (tabs too) are no records; a file grown after the crawl is re-read by the
next run, its re-read rows replacing the first run's in silver.

Run: ``pytest tests/faults`` (both engines; ``-k duckdb`` for DuckDB alone). With
``LAKEGLUE_FAULTS_ISOLATE=1`` every case gets a lake of its own, which shows how each case
fares alone while a neighbour still sinks the shared table or crawl.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from lakeglue import records
from lakeglue.catalog.sql import SqlCatalog
from lakeglue.crawler import CrawlerConfig, config_for_pipeline, crawl
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.metrics import JobMetrics, TableMetrics
from lakeglue.ledger import NEW, Ledger
from lakeglue.pipelines.spec import PipelineSpec, spec_from_dict
from lakeglue.settings import Settings, load_settings
from lakeglue.storage import Lake
from tests.faults import corpus
from tests.faults.corpus import CSV_LAKE, JSON_LAKE

pytestmark = pytest.mark.slow

# ==============================================================================================
# Expectations: adjust here.
# ==============================================================================================
#: CSV records carry no line number on either engine (docs/engines.md: a quoted value may span
#: lines); set True when they do, and the quarantine/bronze rows are compared by line too.
CSV_RECORD_LINES = False
#: The size recorded for a record over the limit is the line's bytes without its terminator.
#: A file quarantined whole counts in ``files_quarantined``, not in ``rows_read``/``rows_quarantined``.
UNDECODABLE = re.compile(r"undecodable: not valid UTF-8( at byte \d+)?")
UNREADABLE = re.compile(r"unreadable file: .+")
RAGGED = "CSV record does not have the 3 fields of the header"
#: Run 1 reads the growing file as it is when bronze reads it (the appended line included).
GROWN_LINES_READ_FIRST = 3
#: What the crawler must catalogue for the raw tables (column → type; table parameters).
WIDE_RAW_TYPES = {"id": "bigint", "k": "bigint", "n": "decimal(38,0)", "m": "decimal(38,0)"}
NULLS_RAW_TYPES = {"id": "bigint", "qty": "bigint", "price": "double"}
LATIN1_ENCODINGS = {"ISO-8859-1", "WINDOWS-1252"}  # indistinguishable for these bytes; both decode alike


@dataclass(frozen=True)
class Row:
    """Loaded: a silver row from (file, line) with these values (other declared columns NULL)."""

    file: str
    line: int | None
    values: dict[str, Any]


@dataclass(frozen=True)
class Bronze:
    """Quarantined by bronze: reason (exact, or a pattern), raw text and size when given."""

    file: str
    line: int | None
    reason: str | re.Pattern[str]
    raw: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Whole:
    """A file quarantined whole by bronze (no line); its size is checked against the file written."""

    file: str
    reason: str | re.Pattern[str]


@dataclass(frozen=True)
class Silver:
    """A bronze row quarantined by silver typing (exact reason)."""

    file: str
    line: int | None
    reason: str


@dataclass(frozen=True)
class Dup:
    """A bronze row that lost silver's dedupe to another row of its key."""

    file: str
    line: int | None


Outcome = Row | Bronze | Whole | Silver | Dup


def row(file: str, line: int | None, **values: Any) -> Outcome:
    return Row(file, line, values)


def _random_lines() -> list[Outcome]:
    return [Bronze("random.bin.jsonl", n, UNDECODABLE, raw=records.escape_bytes(b))
            for n, b in enumerate(corpus.random_lines(), start=1)]


def _too_large() -> Bronze:
    size = len(json.dumps({"id": 162, "name": "y" * corpus.REJECTED_LONG_NAME}).encode())
    return Bronze("long.jsonl", 3, records.record_too_large(size, corpus.MAX_RECORD_BYTES), size=size)


#: The columns of the odd keys: ``records.safe_names`` over every key of the record, in order (a
#: fallback name counts the key's position among all of them).
ODD_KEY_COLUMNS = records.safe_names(["id", *corpus.ODD_KEYS, "nest"])[1:-1]


def _keys_row(n: int) -> Outcome:
    columns = ODD_KEY_COLUMNS
    return Row("keys.jsonl", n, {"id": n, **{c: f"{k}#{n}" for c, k in zip(columns, corpus.ODD_KEYS, strict=True)},
                                 "nest_x_y": f"nested#{n}", "nest_z": f"z#{n}"})


def _wide() -> list[Outcome]:
    out: list[Outcome] = []
    for line, (i, k, n, m) in enumerate(corpus.wide_rows(), start=2):
        if int(m) > 2**63 - 1:
            out.append(Silver("wide.csv", line, f"column m: value '{m}' is not a valid bigint"))
        else:
            out.append(row("wide.csv", line, id=i, k=int(k), n=Decimal(n), m=int(m)))
    return out


def _nulls() -> list[Outcome]:
    out: list[Outcome] = []
    for i, _marker in enumerate(corpus.NULL_MARKERS):
        out.append(row("nulls.csv", 2 * i + 2, id=2 * i + 1, qty=None, price=i + 0.5))
        out.append(row("nulls.csv", 2 * i + 3, id=2 * i + 2, qty=i, price=None))
    return [*out, row("nulls.csv", 12, id=11, qty=7, price=2.25), row("nulls.csv", 13, id=12, qty=8, price=3.0)]


NAMES = ["a.json", "[a].json", "*.json", "?.json", "{x}.json", "%41.json"]
EXPECTED: dict[str, list[Outcome]] = {
    # -- JSON lake, table events (id, name, amount, day) ------------------------------------------
    "non_utf8": [row("good-1.jsonl", 1, id=100, name="first"), row("good-1.jsonl", 2, id=101, name="second"),
                 *_random_lines(),
                 row("good-2.jsonl", 1, id=102, name="third"),
                 Bronze("good-2.jsonl", 2, UNDECODABLE, raw=records.escape_bytes(b'{"id": 103, "name": "caf\xe9"}')),
                 row("good-2.jsonl", 3, id=104, name="é")],
    "names": [row(n, 1, id=110 + i, name=n) for i, n in enumerate(NAMES)],
    "bom": [row("bom.jsonl", 1, id=120, name="bom"), row("bom.jsonl", 2, id=121)],
    "line_endings": [row("crlf.jsonl", 1, id=130), row("crlf.jsonl", 2, id=131),
                     *(row("mixed.jsonl", n, id=131 + n) for n in (1, 2, 3, 4))],
    "empty_files": [row("nonempty.jsonl", 1, id=140, name="beside empties")],
    "top_level_array": [Bronze("array.json", 1, records.NOT_OBJECT,
                               raw='[{"id": 150, "name": "in array"}, {"id": 151}]')],
    "long_lines": [row("long.jsonl", 1, id=160, name="before"),
                   row("long.jsonl", 2, id=161, name="x" * corpus.ACCEPTED_LONG_NAME),
                   _too_large(), row("long.jsonl", 4, id=163, name="after")],
    "nan_infinity": [row("nan.jsonl", 1, id=170, amount=math.nan), row("nan.jsonl", 2, id=171, amount=math.inf),
                     row("nan.jsonl", 3, id=172, amount=-math.inf), row("nan.jsonl", 4, id=173, amount=math.nan),
                     row("nan.jsonl", 5, id=174, amount=2.5)],
    "dates": [row("dates.jsonl", 1, id=180, day="2026-02-28"),
              Silver("dates.jsonl", 2, "column day: value '2026-02-30' is not a valid date"),
              Silver("dates.jsonl", 3, "column day: value '0000-01-01' is not a valid date"),
              Silver("dates.jsonl", 4, "column day: value '10000-01-01' is not a valid date"),
              row("dates.jsonl", 5, id=184, day="1500-06-15"), row("dates.jsonl", 6, id=185, day="9999-12-31")],
    "gzip": [row("good.jsonl.gz", 1, id=190), row("good.jsonl.gz", 2, id=191),
             Whole("truncated.jsonl.gz", UNREADABLE), Whole("zero.jsonl.gz", UNREADABLE)],
    "symlink": [row("linked.jsonl", 1, id=200, name="via link"), row("linked.jsonl", 2, id=201)],
    "duplicates": [Dup("dupes.jsonl", 1), row("dupes.jsonl", 2, id=210, name="new")],
    # -- JSON lake, other tables ----------------------------------------------------------------
    "json_keys": [_keys_row(1), _keys_row(2)],
    "deep_nesting": [row("deep.jsonl", 1, id=1, leaf="leaf#1"), row("deep.jsonl", 2, id=2, leaf="leaf#2")],
    "grows_while_read": [row("grow.jsonl", 1, id=1, name="one"), row("grow.jsonl", 2, id=2, name="two"),
                         row("grow.jsonl", 3, id=3, name="three")][:GROWN_LINES_READ_FIRST],
    # -- CSV lake (line = the record's physical line; compared only with CSV_RECORD_LINES) --------
    "latin1_csv": [row("latin1.csv", i + 1, id=i, name=n, city=c) for i, n, c in corpus.LATIN1_ROWS],
    "null_markers": _nulls(),
    "wide_integers": _wide(),
    "zip_single": [row("one.zip", 2, id=1, name="alpha"), row("one.zip", 3, id=2, name="beta")],
    "zip_multi": [row("plain.csv", 2, id=10, name="plain"), Whole("multi.zip", UNREADABLE)],
    "csv_shapes": [row("good.csv", 2, id=1, name="a", qty=1), row("good.csv", 3, id=2, name="b", qty=2),
                   row("bom.csv", 2, id=3, name="c", qty=3),
                   row("crlf.csv", 2, id=4, name="d", qty=4), row("crlf.csv", 3, id=5, name="e", qty=5),
                   *(row("mixed.csv", n - 4, id=n, name="fgh"[n - 6], qty=n) for n in (6, 7, 8)),
                   row("ragged.csv", 2, id=9, name="i", qty=9),
                   Bronze("ragged.csv", 3, RAGGED, raw="10,j"), Bronze("ragged.csv", 4, RAGGED, raw="11,k,11,extra"),
                   row("ragged.csv", 5, id=12, name="l", qty=12)],
    "csv_headers": [row("dup.csv", 2, id=1, name="a", name_2="b", col3="c", qty=5, qty_2=6),
                    row("dup.csv", 3, id=2, name="d", name_2="e", col3="f", qty=7, qty_2=8)],
}

#: What the crawler must write into the raw table: the exact column names, in order, per case ...
RAW_NAMES: dict[str, list[str]] = {
    "json_keys": ["id", *ODD_KEY_COLUMNS, "nest"],
    # CSV headers are folded to lower snake case as Glue does (crawler.names.sanitize_name), then deduped
    # in order; the original header of each renamed column is kept in its parameters.
    "csv_headers": ["id", "name", "name_2", "col3", "qty", "qty_2"],
}
#: ... and the types of some columns.
RAW_TYPES: dict[str, dict[str, str]] = {"wide_integers": WIDE_RAW_TYPES, "null_markers": NULLS_RAW_TYPES}
#: Raw tables the query engines cannot read (``lakeglue.unreadable``: zips); every other must be readable.
RAW_UNREADABLE = {"zip_single", "zip_multi"}

# -- the pipeline specs: one bronze and one silver table per raw table -----------------------------
_EVENTS = {"id": {"type": "bigint"}, "name": {"type": "string"}, "amount": {"type": "double"},
           "day": {"type": "date"}}
SILVER_COLUMNS: dict[str, dict[str, dict[str, str]]] = {
    "events": _EVENTS,
    "keys": {"id": {"type": "bigint"}, **{c: {"type": "string"} for c in ODD_KEY_COLUMNS},
             "nest_x_y": {"type": "string", "expr": "nest.x_y"}, "nest_z": {"type": "string", "expr": "nest.Z"}},
    "deep": {"id": {"type": "bigint"},
             "leaf": {"type": "string", "expr": ".".join(["d"] * corpus.DEEP) + ".v"}},
    "growing": {"id": {"type": "bigint"}, "name": {"type": "string"}},
    "latin1": {"id": {"type": "bigint"}, "name": {"type": "string"}, "city": {"type": "string"}},
    "nulls": {"id": {"type": "bigint"}, "qty": {"type": "int"}, "price": {"type": "double"}},
    "wide_ints": {"id": {"type": "bigint"}, "k": {"type": "bigint"}, "n": {"type": "decimal(38,0)"},
                  "m": {"type": "bigint"}},
    "zipped": {"id": {"type": "bigint"}, "name": {"type": "string"}},
    "shapes": {"id": {"type": "bigint"}, "name": {"type": "string"}, "qty": {"type": "int"}},
    "headers": {"id": {"type": "bigint"}, "name": {"type": "string"}, "name_2": {"type": "string"},
                "col3": {"type": "string"}, "qty": {"type": "int"}, "qty_2": {"type": "int"}},
}


def pipeline_spec(lake: str, tables: list[str]) -> PipelineSpec:
    fmt = "json" if lake == JSON_LAKE else "csv"
    options = {} if fmt == "json" else {"options": {"header": "true"}}
    return spec_from_dict({
        "name": lake, "database": lake, "source": {"prefix": lake},
        "bronze": {t: {"format": fmt, **options} for t in tables},
        "silver": {t: {"from": t, "key": ["id"], "columns": SILVER_COLUMNS[t]} for t in tables},
    }, check_files=False)


# ==============================================================================================
# Running a lake
# ==============================================================================================
#: ``LAKEGLUE_FAULTS_ISOLATE=1``: every case in a lake of its own, to see which cases pass alone while a
#: neighbour still sinks their shared table or crawl (slower: one crawl and job pair per case).
ISOLATE = os.environ.get("LAKEGLUE_FAULTS_ISOLATE", "") not in ("", "0")
STARTED = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


@dataclass
class TableRun:
    """What one table's jobs left behind (read right after its run)."""

    batch: str = ""
    error: str = ""
    bronze: TableMetrics | None = None
    silver: TableMetrics | None = None
    bronze_rows: list[tuple[str, int | None]] = field(default_factory=list)  # of this batch
    bronze_total: int = 0  # bronze rows of every batch: what a silver rebuild reads
    silver_rows: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    silver_batches: list[str] = field(default_factory=list)  # the bronze batch of each silver row
    bronze_quarantine: list[dict[str, Any]] = field(default_factory=list)
    silver_quarantine: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LakeRun:
    lake: str
    engine: str
    root: Path
    settings: Settings
    crawl_error: str = ""
    crawl_notes: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): errors and skipped files
    files: dict[str, list[str]] = field(default_factory=dict)  # case → files it wrote (relative to table)
    sizes: dict[tuple[str, str], int] = field(default_factory=dict)  # (table, file) → bytes
    tables: dict[str, TableRun] = field(default_factory=dict)
    raw_tables: dict[str, Any] = field(default_factory=dict)
    #: the growing file's second run: ledger entry after the re-crawl, and the table after run 2
    grown_entry: Any = None
    grown: TableRun | None = None

    @property
    def lake_obj(self) -> Lake:
        return Lake(self.settings)

    def table_dir(self, table: str) -> str:
        return self.lake_obj.path("raw", self.lake, table)


def _error(exc: BaseException) -> str:
    """One line: the exception and where it was raised (the last frame in lakeglue)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "lakeglue" in f.filename]
    where = f" [{Path(frames[-1].filename).name}:{frames[-1].lineno}]" if frames else ""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:400]}{where}"


def _run_jobs(engine: str, spark: Any, ctx: JobContext) -> tuple[JobMetrics, JobMetrics]:
    if engine == "spark":
        from lakeglue.jobs.spark.bronze import run_bronze
        from lakeglue.jobs.spark.silver import run_silver

        return run_bronze(spark, ctx), run_silver(spark, ctx)
    from lakeglue.jobs.duckdb.entrypoint import run_job

    return run_job("bronze", ctx), run_job("silver", ctx)


def build_lake(root: Path, lake: str, cases: list[corpus.Case], engine: str, spark: Any) -> LakeRun:
    """Write ``cases`` into a new lake, crawl it once, then run bronze and silver table by table."""
    (root / "lakeglue.yaml").write_text("{}\n")  # no developer's lakeglue.yaml leaks in
    env = {"LAKEGLUE_CONFIG": str(root / "lakeglue.yaml"), "LAKEGLUE_PROFILE": "embedded",
           "LAKEGLUE_HOME": str(root / "lake"), "LAKEGLUE_DUCKDB_TEMP_DIRECTORY": str(root / "spill"),
           "LAKEGLUE_SPARK_SHUFFLE_PARTITIONS": "2"}
    if lake == JSON_LAKE:  # the record limit as an operator sets it
        env["LAKEGLUE_MAX_RECORD_BYTES"] = str(corpus.MAX_RECORD_BYTES)
    settings = load_settings(env)
    run = LakeRun(lake, engine, root, settings)
    lake_obj = Lake(settings)
    lake_obj.ensure_zones()
    raw_root = Path(lake_obj.path("raw"))
    for c in cases:
        run.files[c.name] = corpus.write_case(c, raw_root)
        for name in run.files[c.name]:
            run.sizes[(c.table, name)] = (raw_root / lake / c.table / name).stat().st_size
    tables = list(dict.fromkeys(c.table for c in cases))
    full = pipeline_spec(lake, tables)
    catalog, ledger = SqlCatalog(settings.catalog_url), Ledger(settings.catalog_url)
    try:
        result = crawl(crawler_config(full), lake=lake_obj, catalog=catalog, ledger=ledger)
        run.crawl_notes = [(str(p), str(r)) for p, r in [*result.errors, *result.skipped]]
    except Exception as exc:
        run.crawl_error = f"crawl failed: {_error(exc)}"
        return run
    for table in tables:
        if catalog.table_exists(full.database_for("raw"), table):
            run.raw_tables[table] = catalog.get_table(full.database_for("raw"), table)
        spec = pipeline_spec(lake, [table])
        growing = table == "growing"
        if growing:
            with (raw_root / lake / table / "grow.jsonl").open("ab") as fh:  # after the crawl, before bronze
                fh.write(corpus.GROWN_LINE)
        run.tables[table] = _run_table(run, spec, table, "b1", STARTED, engine, spark, catalog, ledger, lake_obj)
        if growing and not run.tables[table].error:
            crawl(crawler_config(full), lake=lake_obj, catalog=catalog, ledger=ledger)
            run.grown_entry = next((e for e in ledger.entries(spec.source_key(table))
                                    if e.path.endswith("/grow.jsonl")), None)
            run.grown = _run_table(run, spec, table, "b2", STARTED.replace(hour=7), engine, spark, catalog, ledger,
                                   lake_obj)
    return run


def crawler_config(spec: PipelineSpec) -> CrawlerConfig:
    """The pipeline's crawler, sampling every file: the events folder holds ~25 files, more than the
    default sample of 10, and a column seen only in an unsampled file would not be in the raw table
    (Glue's behaviour too) — a case would then fail for the sampling, not for its own file."""
    return config_for_pipeline(spec, sample_files_per_folder=249)


def _run_table(run: LakeRun, spec: PipelineSpec, table: str, batch: str, started: datetime, engine: str,
               spark: Any, catalog: SqlCatalog, ledger: Ledger, lake: Lake) -> TableRun:
    out = TableRun(batch=batch)
    ctx = JobContext(spec=spec, settings=run.settings, lake=lake, catalog=catalog, ledger=ledger, batch_id=batch,
                     started_at=started)
    try:
        bronze, silver = _run_jobs(engine, spark, ctx)
        out.bronze, out.silver = bronze.tables[0], silver.tables[0]
    except Exception as exc:
        out.error = _error(exc)
        return out
    try:
        _read_outputs(run, spec, table, batch, out)
    except Exception as exc:
        out.error = f"reading the outputs failed: {_error(exc)}"
    return out


def _read_outputs(run: LakeRun, spec: PipelineSpec, table: str, batch: str, out: TableRun) -> None:
    from lakeglue.jobs.duckdb.catalog_io import read_table
    from lakeglue.jobs.duckdb.session import connect
    from lakeglue.jobs.duckdb.types import quote_ident

    lake, catalog = run.lake_obj, SqlCatalog(run.settings.catalog_url)
    con = connect(run.settings)
    try:
        every = []
        if catalog.table_exists(spec.database_for("bronze"), table):
            rel = read_table(con, catalog, lake, spec.database_for("bronze"), table)
            every = con.execute(f"SELECT _source_file, _line, _batch_id FROM ({rel.sql})").fetchall()
        out.bronze_rows = [(run_source(run, table, s), n) for s, n, b in every if b == batch]
        out.bronze_total = len(every)
        if catalog.table_exists(spec.database_for("silver"), table):
            rel = read_table(con, catalog, lake, spec.database_for("silver"), table)
            present = set(rel.names)
            select = []
            for name, col in SILVER_COLUMNS[table].items():
                if name not in present:
                    select.append(f"'<no column {name}>'")
                elif col["type"] in ("date", "timestamp"):  # as text: years Python cannot hold still compare
                    select.append(f"CAST({quote_ident(name)} AS VARCHAR)")
                else:
                    select.append(quote_ident(name))
            found = con.execute(f"SELECT _source_file, _batch_id, {', '.join(select)} FROM ({rel.sql})").fetchall()
            out.silver_rows = [(run_source(run, table, r[0]), tuple(r[2:])) for r in found]
            out.silver_batches = [r[1] for r in found]
    finally:
        con.close()
    out.bronze_quarantine = _quarantine(run, table, "bronze", batch)
    out.silver_quarantine = _quarantine(run, table, "silver", "all")


def _quarantine(run: LakeRun, table: str, layer: str, batch: str) -> list[dict[str, Any]]:
    folder = Path(run.lake_obj.path("quarantine", run.lake, layer, table, f"_batch_id={batch}"))
    found = [json.loads(line) for f in sorted(folder.rglob("*.json")) for line in f.read_text().splitlines()]
    for r in found:
        r["source_file"] = run_source(run, table, r.get("source_file") or "")
    return found


def run_source(run: LakeRun, table: str, uri: str) -> str:
    """A ``_source_file`` URI as the file's name in its table folder (URI-decoded); a zip member as its archive."""
    return relative_name(run, table, unquote(re.sub(r"^file:/+", "/", uri)))


def relative_name(run: LakeRun, table: str, path: str) -> str:
    prefix = run.table_dir(table).rstrip("/") + "/"
    rel = path[len(prefix):] if path.startswith(prefix) else path
    archive = re.match(r"^(.*?\.zip)(?:[!#/:].*)?$", rel)
    return archive.group(1) if archive else rel


class Lakes:
    """Each (lake, engine) built once, on first use; the Spark session only when a Spark case runs."""

    def __init__(self, factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> None:
        self.factory, self.request = factory, request
        self.runs: dict[tuple[str, str], LakeRun] = {}

    def get(self, case: corpus.Case, engine: str) -> LakeRun:
        """The lake ``case`` was run in: its whole lake, or (isolated) a lake of its own."""
        group = case.name if ISOLATE else case.lake
        if (group, engine) not in self.runs:
            spark = self.request.getfixturevalue("spark") if engine == "spark" else None
            root = self.factory.mktemp(f"faults-{group}-{engine}")
            cases = [c for c in corpus.CASES.values() if c.lake == case.lake and (c.name == group or not ISOLATE)]
            self.runs[(group, engine)] = build_lake(root, case.lake, cases, engine, spark)
        return self.runs[(group, engine)]

    def all_of(self, lake: str, engine: str) -> list[LakeRun]:
        """Every lake run of ``lake``'s cases (one, or one per case when isolated)."""
        return list({id(r): r for r in (self.get(c, engine) for c in corpus.CASES.values() if c.lake == lake)}
                    .values())

    def cleanup(self) -> None:
        for run in self.runs.values():
            shutil.rmtree(run.root, ignore_errors=True)


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Lakes]:
    built = Lakes(tmp_path_factory, request)
    yield built
    built.cleanup()


# ==============================================================================================
# Comparing
# ==============================================================================================
def _value(v: Any) -> Any:
    """Comparable and printable: NaN equal to NaN, long strings as their length and digest, floats exact."""
    import hashlib

    if isinstance(v, float) and math.isnan(v):
        return "<NaN>"
    if isinstance(v, str) and len(v) > 120:
        return f"<str of {len(v)} chars, sha1 {hashlib.sha1(v.encode()).hexdigest()[:12]}>"
    return v


def _line(table_format: str, line: int | None) -> int | None:
    return line if table_format == "json" or CSV_RECORD_LINES else None


def _reason_ok(expected: str | re.Pattern[str], actual: str) -> bool:
    return bool(expected.fullmatch(actual)) if isinstance(expected, re.Pattern) else expected == actual


def _table_problems(run: LakeRun, table: str, t: TableRun, duplicates: int | None = None) -> list[str]:
    """(b): the accounting invariant and the metrics against the data. Silver rebuilds an unpartitioned
    table from every bronze batch (``rows_read``: all of them); its account is over the new batch's
    rows: each became a silver row, a silver quarantine record, or a duplicate that lost the dedupe."""
    problems: list[str] = []
    b, s = t.bronze, t.silver
    assert b is not None and s is not None
    if b.skipped_reason:
        problems.append(f"bronze skipped: {b.skipped_reason}")
    if s.skipped_reason and t.bronze_total:  # with no bronze row at all there is no bronze table to read
        problems.append(f"silver skipped: {s.skipped_reason}")
    try:
        records.BronzeAccount(b.files_read, b.files_quarantined, b.rows_read, b.rows_written,
                              b.rows_quarantined).check(table)
    except records.AccountingError as exc:
        problems.append(str(exc))
    try:
        records.SilverAccount(len(t.bronze_rows), t.silver_batches.count(t.batch),
                              sum(q.get("batch_id") == t.batch for q in t.silver_quarantine),
                              s.rows_duplicate).check(table)
    except records.AccountingError as exc:
        problems.append(str(exc))
    whole = [q for q in t.bronze_quarantine if q["reason"].startswith("unreadable file:")]
    actual = {"bronze rows_written": len(t.bronze_rows),
              "bronze rows_quarantined": len(t.bronze_quarantine) - len(whole),
              "bronze files_quarantined": len(whole), "silver rows_read": t.bronze_total,
              "silver rows_written": len(t.silver_rows), "silver rows_quarantined": len(t.silver_quarantine)}
    reported = {"bronze rows_written": b.rows_written, "bronze rows_quarantined": b.rows_quarantined,
                "bronze files_quarantined": b.files_quarantined, "silver rows_read": s.rows_read,
                "silver rows_written": s.rows_written, "silver rows_quarantined": s.rows_quarantined}
    if duplicates is not None:
        actual["silver rows_duplicate"], reported["silver rows_duplicate"] = duplicates, s.rows_duplicate
    for key, value in reported.items():
        if value != actual[key]:
            problems.append(f"metric {key} = {value}, but the data says {actual[key]}")
    return problems


def _case_problems(run: LakeRun, case: corpus.Case, t: TableRun, expected: list[Outcome]) -> list[str]:
    """(c): the case's records, exactly where ``expected`` puts them."""
    fmt = "json" if run.lake == JSON_LAKE else "csv"
    mine = set(run.files[case.name])
    problems: list[str] = []
    columns, table = list(SILVER_COLUMNS[case.table]), case.table

    def compare(what: str, want: list[Any], got: list[Any]) -> None:
        missing, extra = Counter(want) - Counter(got), Counter(got) - Counter(want)
        if missing or extra:
            problems.append(f"{what}: missing {sorted(missing.elements(), key=repr)}, "
                            f"unexpected {sorted(extra.elements(), key=repr)}")

    in_bronze = [o for o in expected if isinstance(o, Row | Silver | Dup)]
    compare("bronze rows (file, line)", [(o.file, _line(fmt, o.line)) for o in in_bronze],
            [r for r in t.bronze_rows if r[0] in mine])
    compare("silver rows", [(o.file, tuple(_value(o.values.get(c)) for c in columns))
                            for o in expected if isinstance(o, Row)],
            [(f, tuple(_value(v) for v in values)) for f, values in t.silver_rows if f in mine])
    compare("silver quarantine (file, line, reason)",
            [(o.file, _line(fmt, o.line), o.reason) for o in expected if isinstance(o, Silver)],
            [(q["source_file"], q.get("line"), q["reason"]) for q in t.silver_quarantine if q["source_file"] in mine])
    want_bronze = [o for o in expected if isinstance(o, Bronze | Whole)]
    got_bronze = [q for q in t.bronze_quarantine if q["source_file"] in mine]
    unmatched = list(got_bronze)
    for o in want_bronze:
        line = None if isinstance(o, Whole) else _line(fmt, o.line)
        size = run.sizes[(table, o.file)] if isinstance(o, Whole) else o.size
        raw = None if isinstance(o, Whole) else o.raw
        hit = next((q for q in unmatched if q["source_file"] == o.file and q.get("line") == line
                    and _reason_ok(o.reason, q["reason"]) and (raw is None or q.get("raw") == raw)
                    and (size is None or q.get("size") == size)), None)
        if hit is None:
            near = [(q.get("line"), q["reason"][:120], _value(q.get("raw")), q.get("size"))
                    for q in unmatched if q["source_file"] == o.file]
            reason = o.reason.pattern if isinstance(o.reason, re.Pattern) else o.reason
            problems.append(f"bronze quarantine: no record {o.file}:{line} reason {reason!r}"
                            f"{f' raw {_value(raw)!r}' if raw is not None else ''}"
                            f"{f' size {size}' if size is not None else ''}; the file's records: {near}")
        else:
            unmatched.remove(hit)
    if unmatched:
        extra = [(q["source_file"], q.get("line"), q["reason"][:120]) for q in unmatched]
        problems.append(f"bronze quarantine: unexpected {extra}")
    return problems


def _fail_if(problems: list[str], header: str, doc: str = "") -> None:
    """Fail with the first problem on the first line (pytest's short summary shows it), then all of them."""
    if problems:
        lines = [f"{header}: {problems[0]}", *(f"  - {p}" for p in problems[1:])]
        pytest.fail("\n".join([*lines, f"  (case: {doc})"] if doc else lines), pytrace=False)


# ==============================================================================================
# Tests
# ==============================================================================================
def _engine_params() -> list[Any]:
    return [pytest.param("duckdb"), pytest.param("spark", marks=pytest.mark.spark)]


def _case_names() -> list[str]:
    assert set(EXPECTED) == set(corpus.CASES), "every case of the corpus has its expectations, and only those"
    return list(corpus.CASES)


@pytest.mark.parametrize("engine", _engine_params())
@pytest.mark.parametrize("name", _case_names())
def test_case(lakes: Lakes, name: str, engine: str) -> None:
    """(a) no failure from any file of the table, (b) the accounting, (c) every record where expected."""
    case = corpus.CASES[name]
    run, table = lakes.get(case, engine), case.table
    if run.crawl_error:
        pytest.fail(run.crawl_error, pytrace=False)
    t = run.tables[table]
    if t.error:
        pytest.fail(f"{table} ({engine}): {t.error}", pytrace=False)
    problems = _raw_problems(run, case)
    problems += _table_problems(run, table, t, duplicates=_table_duplicates(run, table))
    problems += _case_problems(run, case, t, EXPECTED[name])
    notes = [f"{Path(p).name}: {r[:200]}" for p, r in run.crawl_notes
             if Path(p).parent.name == table and Path(p).name in run.files[name]]
    if problems and notes:
        problems.append(f"(the crawler said: {notes})")
    _fail_if(problems, f"{name} on {engine} (table {table})", case.doc)


def _table_duplicates(run: LakeRun, table: str) -> int:
    return sum(isinstance(o, Dup) for c in run.files if corpus.CASES[c].table == table for o in EXPECTED[c])


def _raw_problems(run: LakeRun, case: corpus.Case) -> list[str]:
    """What the crawler catalogued for the case's table: every table exists; named columns and parameters."""
    table = case.table
    raw = run.raw_tables.get(table)
    if raw is None:
        return [f"the crawler made no raw table {run.lake}_raw.{table} ({run.crawl_error or 'no error'})"]
    problems = []
    if (records.UNREADABLE_PARAM in raw.parameters) != (case.name in RAW_UNREADABLE):
        problems.append(f"raw table {records.UNREADABLE_PARAM} = {raw.parameters.get(records.UNREADABLE_PARAM)!r}, "
                        f"expected {'a reason' if case.name in RAW_UNREADABLE else 'none'}")
    got = {c.name: c.type for c in raw.columns}
    if case.name in RAW_NAMES and list(got) != RAW_NAMES[case.name]:
        problems.append(f"raw columns are {list(got)}, expected {RAW_NAMES[case.name]}")
    typed = RAW_TYPES.get(case.name, {})
    if any(got.get(k) != v for k, v in typed.items()):
        problems.append(f"raw column types {({k: got.get(k) for k in typed})}, expected {typed}")
    params = raw.parameters
    if case.name == "json_keys":
        want = {c: k for c, k in zip(ODD_KEY_COLUMNS, corpus.ODD_KEYS, strict=True) if c != k}
        want["nest.x_y"] = "x y"
        if records.original_names(params) != want:
            problems.append(f"{records.ORIGINAL_NAMES_PARAM} = {records.original_names(params)}, expected {want}")
    if case.name == "latin1_csv" and records.table_encoding(params) not in LATIN1_ENCODINGS:
        problems.append(f"{records.ENCODING_PARAM} = {params.get(records.ENCODING_PARAM)!r}, "
                        f"expected one of {sorted(LATIN1_ENCODINGS)}")
    if case.name == "null_markers":
        markers = set(records.null_markers(params))
        if not {"NA", "N/A", "\\N", "-"} <= markers <= set(records.NULL_MARKER_CANDIDATES):
            problems.append(f"null markers {sorted(markers)}, expected NA, N/A, \\N, - (and maybe '')")
    return problems


@pytest.mark.parametrize("engine", _engine_params())
@pytest.mark.parametrize("lake", [JSON_LAKE, CSV_LAKE])
def test_nothing_comes_from_nowhere(lakes: Lakes, lake: str, engine: str) -> None:
    """Every bronze row and quarantine record of every table traces to a file some case wrote."""
    problems = []
    for run in lakes.all_of(lake, engine):
        for table, t in run.tables.items():
            known = {f for c in run.files if corpus.CASES[c].table == table for f in run.files[c]}
            strays = sorted(({r[0] for r in t.bronze_rows} | {q["source_file"] for q in t.bronze_quarantine}
                             | {r[0] for r in t.silver_rows} | {q["source_file"] for q in t.silver_quarantine})
                            - known)
            if strays:
                problems.append(f"{table}: records from {strays}")
    _fail_if(problems, f"{lake} on {engine}")


@pytest.mark.parametrize("engine", _engine_params())
def test_grown_file_is_read_again_by_the_next_run(lakes: Lakes, engine: str) -> None:
    """The growing file (see ``corpus.case_grows_while_read``): after the next crawl the ledger has it
    as new with its grown size, the next bronze reads it whole, and silver keeps each key once — the
    re-read rows, newer, replace the first run's (none of the new batch's rows is a duplicate)."""
    run = lakes.get(corpus.CASES["grows_while_read"], engine)
    table = "growing"
    first = run.tables[table]
    if first.error:
        pytest.fail(f"run 1: {first.error}", pytrace=False)
    problems = []
    entry, size = run.grown_entry, Path(run.table_dir(table), "grow.jsonl").stat().st_size
    if entry is None or entry.state != NEW or entry.size != size:
        problems.append(f"after the re-crawl the ledger has {entry}, expected state new with size {size}")
    second = run.grown
    assert second is not None
    if second.error:
        pytest.fail(f"run 2: {second.error}", pytrace=False)
    assert second.bronze is not None
    if (second.bronze.files_read, second.bronze.rows_read) != (1, 3):
        problems.append(f"run 2 bronze read {second.bronze.files_read} files, {second.bronze.rows_read} records; "
                        "expected the grown file whole: 1 file, 3 records")
    problems += _table_problems(run, table, second, duplicates=0)
    got = sorted((values, batch) for (_, values), batch in zip(second.silver_rows, second.silver_batches, strict=True))
    if got != [((1, "one"), "b2"), ((2, "two"), "b2"), ((3, "three"), "b2")]:
        problems.append(f"silver after run 2 (values, bronze batch): {got}")
    _fail_if(problems, f"growing file on {engine}", corpus.CASES["grows_while_read"].doc)
