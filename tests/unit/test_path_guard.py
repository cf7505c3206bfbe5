"""The path guard: no name that reaches a path can make lakeglue write outside its lake.

Every way a name becomes a folder is tried with hostile names — CTAS and INSERT INTO targets,
partition columns and values, pipeline spec keys, batch and run ids, the staging and commit
steps, crawler folder names. Each is refused with an error naming the name and where it came
from, or (partition values, which are data) stored as one Hive-escaped folder and read back
exactly. After each attempt the file system is compared with a snapshot: nothing appeared
next to or above the lake.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakeglue.catalog.sql import SqlCatalog
from lakeglue.jobs.batches import batch_id_from_run_id
from lakeglue.jobs.commit import partition_path, plan_table_version
from lakeglue.jobs.quarantine import quarantine_dir
from lakeglue.pipelines.spec import SpecError, load_spec_data, spec_from_dict
from lakeglue.query import QueryError
from lakeglue.query.runner import run_query
from lakeglue.settings import Settings
from lakeglue.storage.paths import (
    UnsafePathError,
    check_name,
    escape_partition_value,
    partition_folder,
    unescape_partition_value,
)
from lakeglue.storage.zones import Lake

#: Partition values that are hostile as folder names but perfectly good data.
EVIL_VALUES = ["../../../../../outside", "a/b", "..", ".", "50%=half", "x\\y", "tab\tnew\nline", "dt=1/dt=2",
               "%2e%2e%2f", "ü €", ":*?\"<>|#{[]}^'"]


class Box:
    """A lake five folders deep in ``tmp_path``: a ``../../../../..`` escape still lands inside ``tmp_path``,
    where :meth:`outside` sees it."""

    def __init__(self, tmp_path: Path) -> None:
        self.top = tmp_path
        self.parent = tmp_path / "a" / "b" / "c" / "d"
        self.root = self.parent / "lake"
        self.settings = Settings(lake_root=str(self.root), catalog_url=f"sqlite:///{self.parent / 'catalog.db'}")
        self.lake = Lake(self.settings)
        self.lake.ensure_zones()
        self.catalog = SqlCatalog(self.settings.catalog_url)
        self.catalog.ensure_database("ecommerce_gold")
        self.before = self.outside()

    def outside(self) -> set[str]:
        """Every file and folder under ``tmp_path`` that is not inside the lake (the catalog file excepted)."""
        found = set()
        for dirpath, dirnames, filenames in os.walk(self.top):
            for name in dirnames + filenames:
                path = Path(dirpath, name)
                if path == self.root or self.root in path.parents or path.name.startswith("catalog.db"):
                    continue
                found.add(str(path.relative_to(self.top)))
        return found

    def assert_nothing_outside(self) -> None:
        assert self.outside() == self.before, "something was written outside the lake"
        assert sorted(p.name for p in self.parent.iterdir() if not p.name.startswith("catalog.db")) == ["lake"]

    def run(self, sql: str) -> list[tuple[object, ...]]:
        return run_query(sql, catalog=self.catalog, lake=self.lake, settings=self.settings, output=None).rows


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    b = Box(tmp_path)
    yield b
    b.assert_nothing_outside()


# -- CTAS / INSERT INTO ----------------------------------------------------------------------

@pytest.mark.parametrize(("sql", "message"), [
    ('CREATE TABLE ecommerce_gold."../../../../../outside" AS SELECT 1 AS a',
     r"table name '\.\./\.\./\.\./\.\./\.\./outside' \(from CREATE TABLE target \(line 1, column \d+\)\) cannot be "
     r"used as a folder of the lake"),
    ('CREATE TABLE ecommerce_gold."/tmp/abs" AS SELECT 1 AS a', r"table name '/tmp/abs' \(from CREATE TABLE"),
    ('CREATE TABLE ecommerce_gold."" AS SELECT 1 AS a', r"table name is empty|table name '' "),
    ('CREATE TABLE "..".t AS SELECT 1 AS a', r"database name '\.\.' \(from CREATE TABLE target"),
    ('CREATE TABLE ecommerce_gold.t WITH (partitioned_by = ARRAY[\'../../../../../p\']) '
     'AS SELECT 1 AS a, 2 AS "../../../../../p"',
     r"partition column name '\.\./\.\./\.\./\.\./\.\./p' \(from CREATE TABLE … WITH \(partitioned_by = …\)\)"),
    ('INSERT INTO ecommerce_gold."../../../../../outside" SELECT 1 AS a',
     r"table name '\.\./\.\./\.\./\.\./\.\./outside' \(from INSERT INTO target"),
])
def test_ctas_and_insert_refuse_names_that_leave_the_lake(box: Box, sql: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        box.run(sql)
    assert not box.catalog.list_tables("ecommerce_gold")
    assert not list(Path(box.lake.path("curated")).rglob("*.parquet"))


def test_ctas_partition_values_are_hive_escaped_and_read_back_exactly(box: Box) -> None:
    rows = " UNION ALL ".join(f"SELECT {i} AS n, '{v.replace(chr(39), chr(39) * 2)}' AS k"
                              for i, v in enumerate(EVIL_VALUES))
    box.run(f"CREATE TABLE ecommerce_gold.evil WITH (partitioned_by = ARRAY['k']) AS {rows}")
    table = box.catalog.get_table("ecommerce_gold", "evil")
    version = Path(table.location.removeprefix("file://"))
    folders = sorted(p.name for p in version.iterdir())
    # one folder per value, directly in the version directory, each the Hive escape of the value
    assert folders == sorted(f"k={escape_partition_value(v)}" for v in EVIL_VALUES)
    assert "k=..%2F..%2F..%2F..%2F..%2Foutside" in folders and "k=a%2Fb" in folders and "k=50%25%3Dhalf" in folders
    parts = box.catalog.get_partitions("ecommerce_gold", "evil")
    assert sorted(p.values[0] for p in parts) == sorted(EVIL_VALUES)  # the catalog keeps the data, not the escape
    assert all(Path(p.location.removeprefix("file://")).parent == version for p in parts)
    assert sorted(box.run("SELECT k, n FROM ecommerce_gold.evil")) == sorted(
        (v, i) for i, v in enumerate(EVIL_VALUES))
    assert box.run("SELECT n FROM ecommerce_gold.evil WHERE k = '../../../../../outside'") == [(0,)]


def test_insert_into_escapes_new_partition_values_and_keeps_existing_ones(box: Box) -> None:
    box.run("CREATE TABLE ecommerce_gold.t WITH (partitioned_by = ARRAY['k']) AS SELECT 1 AS n, 'a/b' AS k")
    box.run("INSERT INTO ecommerce_gold.t VALUES (2, 'a/b'), (3, '../../../../../../x'), (4, '..')")
    assert sorted(box.run("SELECT k, n FROM ecommerce_gold.t")) == [
        ("..", 4), ("../../../../../../x", 3), ("a/b", 1), ("a/b", 2)]
    locations = [p.location for p in box.catalog.get_partitions("ecommerce_gold", "t")]
    curated = box.lake.path("curated")
    assert all(posixpath.normpath(loc.removeprefix("file://")).startswith(curated + "/") for loc in locations)


def test_empty_and_null_partition_values_are_refused_with_the_column(box: Box) -> None:
    with pytest.raises(QueryError, match="partition column k is an empty string in some rows"):
        box.run("CREATE TABLE ecommerce_gold.t WITH (partitioned_by = ARRAY['k']) AS SELECT 1 AS n, '' AS k")
    assert not box.catalog.list_tables("ecommerce_gold")


# -- the lake's own paths --------------------------------------------------------------------

def test_lake_path_refuses_parent_parts_urls_and_control_characters(box: Box) -> None:
    lake = box.lake
    for parts in (("gold", "../../../../../outside"), ("..",), ("gold/../../x",), ("s3://other-bucket/x",),
                  ("a\x00b",), (".",)):
        with pytest.raises(UnsafePathError, match="path part of the curated zone"):
            lake.path("curated", *parts)
    # a leading '/' means the zone's root, as before; it never reaches the file system's root
    assert lake.path("raw", "/orders/") == f"{box.root}/raw/orders"
    with pytest.raises(UnsafePathError, match=r"path part of the staging zone 'tmp/\.\./\.\./x'"):
        lake.path("staging", "tmp/../../x")
    with pytest.raises(UnsafePathError):
        lake.new_staging_path("../../../../../outside")
    with pytest.raises(UnsafePathError):
        plan_table_version(lake, "gold", "../../../../../outside")


def test_commit_only_moves_from_staging_into_a_zone(box: Box) -> None:
    lake = box.lake
    staged = lake.new_staging_path("gold-t")
    lake.write_text(posixpath.join(staged, "part.parquet"), "x")
    for final in (posixpath.join(lake.path("curated", "gold"), "../../../../../outside"),
                  str(box.top / "elsewhere"), lake.path("staging", "tmp", "other")):
        with pytest.raises(UnsafePathError):
            lake.commit(staged, final)
    with pytest.raises(UnsafePathError, match="outside the staging zone"):
        lake.commit(str(box.top / "a"), lake.path("curated", "gold", "t", "v-1"))
    assert Path(staged, "part.parquet").read_text() == "x"  # nothing moved
    assert (box.top / "a").is_dir()
    with pytest.raises(UnsafePathError, match="is outside the"):
        lake.write_text(posixpath.join(lake.path("results"), "../../../../../outside.json"), "{}")
    with pytest.raises(UnsafePathError, match="is outside the"):
        lake.link_tree(staged, str(box.top / "linked"))


def test_partition_path_refuses_keys_and_folders_that_are_not_one_folder(box: Box) -> None:
    root = box.lake.path("curated", "gold", "t")
    with pytest.raises(UnsafePathError, match=r"partition column name '\.\./k'"):
        partition_path(root, ["../k"], ["1"])
    with pytest.raises(UnsafePathError, match="partition folder 'k=a/b'"):
        partition_path(root, ["k"], ["a/b"])
    assert partition_path(root, ["k"], ["a%2Fb"]) == f"{root}/k=a%2Fb"  # an engine's escaped folder passes
    assert partition_folder(root, ["k"], ["../x"]) == f"{root}/k=..%2Fx"


# -- batch ids and run ids -------------------------------------------------------------------

def test_batch_ids_from_run_ids_are_plain_names(box: Box) -> None:
    assert batch_id_from_run_id("manual__2026-11-23T10:00:00+00:00") == "manual__2026-11-23T10_00_00_00_00"
    assert batch_id_from_run_id("../../../../../outside") == "outside"
    assert batch_id_from_run_id("--x--") == "x"
    with pytest.raises(ValueError, match=r"run id '\.\./\.\.' has no usable characters"):
        batch_id_from_run_id("../..")


@pytest.mark.parametrize("run_id", ["..", "../../../../../outside", "a/b", ""])
def test_quarantine_refuses_a_run_id_that_is_not_one_folder(box: Box, run_id: str) -> None:
    with pytest.raises(UnsafePathError, match=r"batch id / run id .*\(from quarantine folder\)"):
        quarantine_dir(box.lake, "ecommerce", "quality", "ecommerce_silver.orders", run_id)
    with pytest.raises(UnsafePathError, match=r"table '\.\./\.\.' \(from quarantine folder\)"):
        quarantine_dir(box.lake, "ecommerce", "bronze", "../..", "run1")
    # a raw Airflow run id (':' and '+') is one folder and stays allowed
    path = quarantine_dir(box.lake, "ecommerce", "quality", "ecommerce_silver.orders", "manual__2026-11-01T00:00+00:00")
    assert path.startswith(box.lake.path("quarantine") + "/")


def test_a_quality_run_with_a_run_id_that_is_not_one_folder_writes_nothing(box: Box) -> None:
    import pandas as pd

    from lakeglue.quality.runner import check_dataframe
    from lakeglue.quality.suite import load_suite
    from lakeglue.settings import QUALITY_DIR

    suite = load_suite(QUALITY_DIR / "ecommerce_orders.yml")
    before = sorted(p for p in box.root.rglob("*"))
    with pytest.raises(UnsafePathError, match=r"run id '\.\.' \(from quality run of ecommerce_silver\.orders\)"):
        check_dataframe(suite, pd.DataFrame({"order_id": [1]}), "ecommerce_silver.orders", box.catalog, box.settings,
                        "..", pipeline="ecommerce")
    assert sorted(p for p in box.root.rglob("*")) == before


# -- pipeline spec keys ----------------------------------------------------------------------

def _spec(mutate: str) -> dict[str, object]:
    _, data = load_spec_data("ecommerce")
    data = json.loads(json.dumps(data))
    if mutate == "bronze":
        data["bronze"]["../../../../../outside"] = data["bronze"].pop("orders")
        for silver in data["silver"].values():
            if silver["from"] == "orders":
                silver["from"] = "../../../../../outside"
    elif mutate == "silver":
        data["silver"]["../x"] = data["silver"].pop(next(iter(data["silver"])))
        data["quality"] = []
    elif mutate == "gold":
        data["gold"]["/abs"] = data["gold"].pop(next(iter(data["gold"])))
        data["quality"] = [q for q in data["quality"] if q.get("layer") != "gold"]
    elif mutate == "silver_partition":
        silver = next(iter(data["silver"].values()))
        silver["columns"]["../p"] = {"type": "string"}
        silver["partition_by"] = ["../p"]
    elif mutate == "gold_partition":
        next(iter(data["gold"].values()))["partition_by"] = ["dt/../../x"]
    elif mutate == "prefix":
        data["source"]["prefix"] = "../../../../etc"
    elif mutate == "abs_prefix":
        data["source"]["prefix"] = "/etc"
    return data


@pytest.mark.parametrize(("mutate", "message"), [
    ("bronze", r"field bronze: Value error, table name '\.\./\.\./\.\./\.\./\.\./outside' \(from the keys of "
               r"bronze\) cannot be used as a folder"),
    ("silver", r"field silver: Value error, table name '\.\./x' \(from the keys of silver\)"),
    ("gold", r"field gold: Value error, table name '/abs' \(from the keys of gold\)"),
    ("silver_partition", r"field silver\.\w+\.partition_by: Value error, partition column name '\.\./p' \(from "
                         r"partition_by\)"),
    ("gold_partition", r"field gold\.\w+\.partition_by: Value error, partition column name 'dt/\.\./\.\./x'"),
    ("prefix", r"field source\.prefix: Value error, source prefix '\.\./\.\./\.\./\.\./etc': part '\.\.' \(from "
               r"source\.prefix\)"),
    ("abs_prefix", r"field source\.prefix: Value error, source prefix '/etc' \(from source\.prefix\) is absolute"),
])
def test_spec_keys_that_become_folders_are_checked(box: Box, mutate: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        spec_from_dict(_spec(mutate), source="ecommerce.yml", check_files=False)


# -- crawler folder names --------------------------------------------------------------------

def test_crawler_table_names_from_hostile_folder_names_are_plain_and_stay_in_the_raw_zone(box: Box) -> None:
    from lakeglue.crawler import CrawlerConfig, crawl
    from lakeglue.ledger import Ledger

    raw = Path(box.lake.path("raw", "shop"))
    # folders starting with '.' are hidden files to the crawler (Glue's default excludes): no table
    folders = ["..%2F..%2Foutside", "...", "Weird Name", "%2e%2e", "dt=..%2F.."]
    for i, folder in enumerate(folders):
        target = raw / folder / "k=..%2F..%2Fx" / "part.json"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps({"id": i, "name": f"n{i}"}) + "\n")
    config = CrawlerConfig(database="shop_raw", zone="raw", prefix="shop", source_prefix="shop", table_level=1)
    crawl(config, lake=box.lake, catalog=box.catalog, ledger=Ledger(box.settings.catalog_url))
    tables = box.catalog.list_tables("shop_raw")
    assert sorted(t.name for t in tables) == ["2e_2e", "dt_2_f", "weird_name"]
    for table in tables:
        check_name(table.name, "table")  # a crawled table name is a plain folder name for its bronze table
        location = posixpath.normpath(table.location.removeprefix("file://"))
        assert location.startswith(str(raw) + "/") and ".." not in table.location.split("/")
        assert [k.name for k in table.partition_keys] == ["k"]
        values = {p.values for p in box.catalog.get_partitions("shop_raw", table.name)}
        assert values == {("../../x",)}  # the folder's escape decoded: data, not a path
    with pytest.raises(UnsafePathError):
        crawl(CrawlerConfig(database="shop_raw", zone="raw", prefix="../../../../../", source_prefix="x"),
              lake=box.lake, catalog=box.catalog, ledger=Ledger(box.settings.catalog_url))


def test_escape_is_hive_compatible_and_reversible() -> None:
    assert escape_partition_value("a/b=c%d:e") == "a%2Fb%3Dc%25d%3Ae"
    assert escape_partition_value("ü €") == "ü €"  # Hive leaves non-ASCII and spaces as they are
    assert escape_partition_value("") == "__HIVE_DEFAULT_PARTITION__"
    for value in EVIL_VALUES:
        assert unescape_partition_value(escape_partition_value(value)) == value
        assert "/" not in escape_partition_value(value)
    assert unescape_partition_value("%C3%BC%20x") == "ü x"  # DuckDB's URL-style escape decodes too
