"""Recrawl and schema change policies, event mode, table grouping and threshold, the partition schema report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeglue.catalog.model import Column
from lakeglue.crawler import CrawlAborted, CrawlerConfig
from lakeglue.crawler.events import announce
from lakeglue.crawler.grouping import FolderSchema, similarity
from lakeglue.crawler.types import GlueType
from tests.unit.test_crawler import DB, Env, jsonl, make_env

DELETE_LOG: dict[str, Any] = {"update_behavior": "LOG", "delete_behavior": "LOG"}


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


def day(env: Env, table: str, dt: str, *records: dict[str, object], name: str = "part-0.json") -> Path:
    return env.write(f"{table}/dt={dt}/{name}", jsonl(*records))


# -- recrawl policies ---------------------------------------------------------------------------------
def test_incremental_by_default_reads_only_new_files_and_keeps_old_columns(env: Env) -> None:
    day(env, "orders", "2026-11-01", {"id": 1, "note": "a"})
    env.crawl()
    env.write("orders/dt=2026-11-01/part-0.json", jsonl({"id": 1}))  # rewritten without `note`: changed
    day(env, "orders", "2026-11-02", {"id": 2}, name="part-1.json")
    result = env.crawl()
    assert (result.recrawl_policy, result.files_scanned) == ("CRAWL_INCREMENTAL", 2)
    assert env.columns("orders") == [("id", "bigint"), ("note", "string")]  # only new files seen: nothing dropped


def test_crawl_everything_rebuilds_the_schema_from_all_files(env: Env) -> None:
    day(env, "orders", "2026-11-01", {"id": 1, "note": "a"})
    day(env, "orders", "2026-11-02", {"id": 2, "note": "b"})
    env.crawl()
    env.write("orders/dt=2026-11-01/part-0.json", jsonl({"id": 1, "amount": 2.5}))
    env.write("orders/dt=2026-11-02/part-0.json", jsonl({"id": 2, "amount": 3}))
    result = env.crawl(recrawl_policy="CRAWL_EVERYTHING")

    assert result.files_scanned == 2
    assert env.columns("orders") == [("id", "bigint"), ("amount", "double")]
    reason = "CRAWL_EVERYTHING: all 2 files re-sampled"
    assert result.tables[0]["reason"] == reason
    assert f"table {DB}.orders: add column amount double (seen in {reason})" in result.changes
    assert f"table {DB}.orders: drop column note (no longer in the inferred schema; {reason})" in result.changes


def test_crawl_new_folders_only_reads_new_folders_and_logs_schema_changes(env: Env) -> None:
    day(env, "orders", "2026-11-01", {"id": 1})
    env.crawl(**DELETE_LOG)
    late = day(env, "orders", "2026-11-01", {"id": 9, "late": True}, name="part-late.json")  # old folder
    day(env, "orders", "2026-11-02", {"id": 2, "channel": "web"})  # new folder
    result = env.crawl(recrawl_policy="CRAWL_NEW_FOLDERS_ONLY", **DELETE_LOG)

    assert result.files_scanned == 1
    assert result.partitions_added == 1
    assert [p.values for p in env.catalog.get_partitions(DB, "orders")] == [("2026-11-01",), ("2026-11-02",)]
    assert env.columns("orders") == [("id", "bigint")]  # UpdateBehavior LOG: the table itself does not change
    assert env.table("orders").version == 1
    assert ("table orders: 1 new file(s) in already crawled folders not read (CRAWL_NEW_FOLDERS_ONLY)"
            in result.decisions)
    assert (f"table {DB}.orders: add column channel string (seen in CRAWL_NEW_FOLDERS_ONLY: 1 files in 1 new "
            "folder(s)) [not applied: update_behavior=LOG]") in result.logged
    # the ledger still hands every file to bronze
    assert str(late) in {e.path for e in env.ledger.entries("ecommerce/orders")}


# -- schema change policies ----------------------------------------------------------------------------
def test_update_behavior_log_keeps_the_table_and_adds_new_partitions(env: Env) -> None:
    day(env, "orders", "2026-11-01", {"id": 1})
    env.crawl()
    day(env, "orders", "2026-11-02", {"id": 2, "channel": "web"})
    result = env.crawl(update_behavior="LOG")
    assert result.tables_unchanged == ["orders"]
    assert result.changes == [f"partition dt=2026-11-02 of orders: add (folder {env.uri('orders/dt=2026-11-02')})"]
    assert result.logged[0] == (f"table {DB}.orders: add column channel string (seen in 1 new or changed of 2 files "
                                "(ingestion ledger)) [not applied: update_behavior=LOG]")
    assert env.table("orders").version == 1
    new = env.catalog.get_partitions(DB, "orders")[1]
    assert new.storage.columns == (Column("id", "bigint"),)  # inherits the unchanged table schema


def test_merge_new_columns_adds_columns_but_never_retypes_or_drops(env: Env) -> None:
    day(env, "orders", "2026-11-01", {"id": 1, "qty": 2, "note": "x"})
    env.crawl()
    env.write("orders/dt=2026-11-01/part-0.json", jsonl({"id": 1, "qty": "two", "channel": "web"}))
    result = env.crawl(recrawl_policy="CRAWL_EVERYTHING", merge_new_columns=True)

    assert env.columns("orders") == [("id", "bigint"), ("qty", "bigint"), ("note", "string"), ("channel", "string")]
    assert result.changes[0] == (f"table {DB}.orders: add column channel string (seen in CRAWL_EVERYTHING: all 1 "
                                 "files re-sampled)")
    assert result.logged == [
        f"table {DB}.orders: column qty would change type bigint -> string; kept bigint [merge_new_columns: existing "
        "columns keep their type]",
        f"table {DB}.orders: column note is not in the inferred schema; kept [merge_new_columns: existing columns "
        "are never dropped]",
    ]
    issue = result.partition_issues[0]
    assert (issue["kind"], issue["partition"], issue["column"]) == ("mismatch", "dt=2026-11-01", "qty")


def test_delete_behavior_for_partitions_log_deprecate_delete(env: Env) -> None:
    day(env, "orders", "2026-11-01", {"id": 1})
    day(env, "orders", "2026-11-02", {"id": 2})
    env.crawl()
    gone = env.prefix_dir / "orders" / "dt=2026-11-01" / "part-0.json"
    gone.unlink()

    logged = env.crawl()  # LOG is the default
    assert logged.partitions_removed == 0
    assert logged.logged == ["partition dt=2026-11-01 of orders: its folder has no files; kept [delete_behavior=LOG]"]
    assert len(env.catalog.get_partitions(DB, "orders")) == 2

    deprecated = env.crawl(delete_behavior="DEPRECATE_IN_DATABASE")
    assert deprecated.changes == ["partition dt=2026-11-01 of orders: deprecate (its folder has no files)"]
    marked = env.catalog.get_partitions(DB, "orders")[0]
    assert marked.parameters["DEPRECATED_BY_CRAWLER"].endswith("Z")
    assert env.crawl(delete_behavior="DEPRECATE_IN_DATABASE").changes == []  # marked once

    day(env, "orders", "2026-11-01", {"id": 3}, name="again.json")
    back = env.crawl(delete_behavior="DEPRECATE_IN_DATABASE")
    assert "partition dt=2026-11-01 of orders: update (its folder has files again)" in back.changes
    assert "DEPRECATED_BY_CRAWLER" not in env.catalog.get_partitions(DB, "orders")[0].parameters


# -- event mode ------------------------------------------------------------------------------------------
def test_event_mode_crawls_only_announced_files_then_hands_them_to_bronze(env: Env) -> None:
    day(env, "orders", "2026-11-01", {"id": 1})
    env.crawl()
    announced = day(env, "orders", "2026-11-02", {"id": 2, "channel": "app"})
    quiet = day(env, "orders", "2026-11-03", {"id": 3})  # on disk, never announced
    config_args: dict[str, Any] = {"recrawl_policy": "CRAWL_EVENT_MODE"}
    config = CrawlerConfig(database=DB, prefix="ecommerce", source_prefix="ecommerce", **config_args)
    count, rejected = announce(config, env.lake, env.ledger,
                               [str(announced), str(env.prefix_dir / "orders/dt=2026-11-04/missing.json"),
                                str(env.root / "elsewhere.json")], env.catalog.list_tables(DB))
    assert count == 1
    assert rejected == [(str(env.root / "elsewhere.json"), f"not a data file under the crawl root {env.prefix_dir}"),
                        (str(env.prefix_dir / "orders/dt=2026-11-04/missing.json"), "announced but no longer exists")]
    assert {e.path: e.state for e in env.ledger.entries("ecommerce/orders")}[str(announced)] == "announced"
    assert env.ledger.claim("ecommerce/orders", "early", paths=[str(announced)]) == []  # bronze must wait

    result = env.crawl(**config_args)
    assert (result.files_listed, result.files_scanned) == (1, 1)
    assert [p.values for p in env.catalog.get_partitions(DB, "orders")] == [("2026-11-01",), ("2026-11-02",)]
    assert env.columns("orders") == [("id", "bigint"), ("channel", "string")]
    assert env.table("orders").parameters["objectCount"] == "2"  # grows from the existing count: no listing
    states = {e.path: e.state for e in env.ledger.entries("ecommerce/orders")}
    assert states[str(announced)] == "new"
    assert str(quiet) not in states
    assert [e.path for e in env.ledger.claim("ecommerce/orders", "run-2", paths=[str(announced)])] == [str(announced)]
    assert env.crawl(**config_args).files_listed == 0  # nothing announced any more


def test_a_normal_crawl_also_promotes_announced_files(env: Env) -> None:
    path = day(env, "orders", "2026-11-01", {"id": 1})
    config = CrawlerConfig(database=DB, prefix="ecommerce", source_prefix="ecommerce")
    assert announce(config, env.lake, env.ledger, [str(path)]) == (1, [])
    result = env.crawl()
    assert result.tables_created == ["orders"]
    assert [e.state for e in env.ledger.entries("ecommerce/orders")] == ["new"]


# -- where tables start ----------------------------------------------------------------------------------
def test_table_level_two_names_colliding_folders_by_path(env: Env) -> None:
    env.write("shop_a/orders/dt=2026-11-01/a.json", jsonl({"id": 1}))
    env.write("shop_b/orders/dt=2026-11-01/b.json", jsonl({"id": 2}))
    env.write("shop_a/customers/c.csv", "id,name\n1,a\n2,b\n")
    stray = env.write("shop_a/readme.csv", "a,b\n1,2\n3,4\n")
    result = env.crawl(table_level=2)
    assert [t.name for t in env.catalog.list_tables(DB)] == ["customers", "shop_a_orders", "shop_b_orders"]
    assert env.table("shop_a_orders").location == env.uri("shop_a/orders")
    assert result.skipped == [(str(stray), "file 1 folder(s) below the crawl root, above the table level 2")]
    assert ("folders named 'orders' at several places; 'shop_a/orders' becomes table 'shop_a_orders'"
            in result.decisions)


def test_table_prefix_is_prepended_to_every_table_name(env: Env) -> None:
    env.write("Orders/a.json", jsonl({"id": 1}))
    result = env.crawl(table_prefix="raw_")
    assert [t.name for t in env.catalog.list_tables(DB)] == ["raw_orders"]
    assert "folder 'Orders' becomes table 'raw_orders' (catalog names are lower snake case)" in result.decisions
    assert [e.source for e in env.ledger.entries("ecommerce/raw_orders")] == ["ecommerce/raw_orders"]


def write_grouping_tree(env: Env) -> None:
    env.write("events/2024/a.json", jsonl({"id": 1, "amount": 2.5, "at": "2024-01-01"}))
    env.write("events/2025/a.json", jsonl({"id": 2, "amount": 3.5, "at": "2025-01-01"}))
    env.write("logs/app/a.json", jsonl({"id": "a-1", "level": "INFO", "msg": "up"}))
    env.write("logs/audit/a.json", jsonl({"user": "ann", "action": "login"}))


def test_similarity_decides_tables_when_no_level_is_fixed(env: Env) -> None:
    write_grouping_tree(env)
    result = env.crawl(table_level=None)
    assert [t.name for t in env.catalog.list_tables(DB)] == ["app", "audit", "events"]
    assert env.table("events").partition_keys == (Column("partition_0", "string"),)
    assert result.decisions[:3] == [
        "folder .: no majority of its 2 parts is 70% similar; each sub-folder becomes its own table",
        "folder events: 2 of 2 parts have schemas at least 70% similar; one table with partitions",
        "folder logs: no majority of its 2 parts is 70% similar; each sub-folder becomes its own table",
    ]
    assert result.files_scanned == 4  # read once for grouping, reused for the tables


def test_combine_compatible_schemas_merges_dissimilar_but_compatible_folders(env: Env) -> None:
    write_grouping_tree(env)
    result = env.crawl(table_level=None, combine_compatible_schemas=True)
    assert [t.name for t in env.catalog.list_tables(DB)] == ["events", "logs"]  # id int vs string: root splits
    assert env.columns("logs") == [("id", "string"), ("level", "string"), ("msg", "string"), ("user", "string"),
                                   ("action", "string")]
    assert ("folder logs: the schemas of its 2 parts merge without conflict (CombineCompatibleSchemas); one table"
            in result.decisions)


def test_similarity_measure() -> None:
    a = FolderSchema("json", {"id": GlueType("int"), "a": GlueType("string"), "b": GlueType("string")})
    b = FolderSchema("json", {"id": GlueType("bigint"), "a": GlueType("string"), "c": GlueType("double")})
    assert similarity(a, b) == 0.5  # id (int widens to bigint) and a shared, of id, a, b, c
    assert similarity(a, FolderSchema("csv", a.columns)) == 0.0
    assert similarity(a, FolderSchema("json", {**a.columns, "id": GlueType("boolean")})) == 2 / 3


def test_table_threshold_fails_the_crawl_and_writes_nothing(env: Env) -> None:
    for name in ("a", "b", "c"):
        env.write(f"{name}/x.json", jsonl({"id": 1}))
    with pytest.raises(CrawlAborted) as info:
        env.crawl(table_threshold=2)
    message = ("the crawl found 3 tables (a, b, c), more than table_threshold=2; nothing was written (Glue's "
               "TableThreshold)")
    assert str(info.value) == message
    assert info.value.result.tables_created == ["a", "b", "c"]
    assert env.catalog.list_databases() == []
    assert env.ledger.entries("ecommerce/a") == []
    plan = env.crawl(dry_run=True, table_threshold=2)
    assert plan.aborted == message
    assert plan.summary().splitlines()[1] == f"ABORTED: {message}"


# -- partition schema consistency -------------------------------------------------------------------------
def test_partition_with_a_different_parquet_type_is_reported_like_athena(env: Env) -> None:
    for dt, ids in (("2026-11-01", pa.array([1, 2], pa.int64())), ("2026-11-02", pa.array(["x1", "x2"]))):
        path = env.prefix_dir / "items" / f"dt={dt}" / "p.parquet"
        path.parent.mkdir(parents=True)
        pq.write_table(pa.table({"id": ids, "qty": pa.array([1, 2], pa.int32())}), path)
    result = env.crawl()
    assert env.columns("items") == [("id", "string"), ("qty", "int")]
    assert result.partition_issues == [{
        "table": f"{DB}.items", "partition": "dt=2026-11-01", "location": env.uri("items/dt=2026-11-01"),
        "kind": "mismatch", "column": "id",
        "message": f"HIVE_PARTITION_SCHEMA_MISMATCH: There is a mismatch between the table and partition schemas. "
                   f"The types are incompatible and cannot be coerced. The column 'id' in table '{DB}.items' is "
                   "declared as type 'string', but partition 'dt=2026-11-01' declared column 'id' as type 'bigint'.",
    }]
    assert "partition schema issues:" in result.summary()


def test_csv_partitions_with_reordered_or_missing_columns(env: Env) -> None:
    env.write("sales/dt=2026-11-01/a.csv", "id,name,amount\n1,a,2.5\n2,b,3.5\n")
    env.write("sales/dt=2026-11-02/a.csv", "id,amount,name\n3,1.5,c\n4,2.5,d\n")
    env.write("sales/dt=2026-11-03/a.csv", "id,name\n5,e\n6,f\n")
    result = env.crawl()
    assert env.columns("sales") == [("id", "bigint"), ("name", "string"), ("amount", "double")]
    assert [(i["partition"], i["kind"], i["column"]) for i in result.partition_issues] == [
        ("dt=2026-11-02", "mismatch", "id,amount,name"),
        ("dt=2026-11-03", "drift", "amount"),
        ("dt=2026-11-03", "dissimilar", ""),  # 2 of 3 columns: below Glue's 70 %
    ]
    assert result.partition_issues[0]["message"] == (
        "partition dt=2026-11-02 has CSV columns (id, amount, name), the table (id, name, amount); CSV is read by "
        "position, so values land in the wrong columns")
    assert result.partition_issues[1]["message"] == "partition dt=2026-11-03 lacks column(s) amount; they read as " \
                                                    "NULL there"


def test_dissimilar_partition_is_flagged_instead_of_splitting_the_table(env: Env) -> None:
    day(env, "events", "2026-11-01", {"id": 1, "kind": "view", "page": "/", "ms": 12})
    day(env, "events", "2026-11-02", {"id": 2, "user": "ann", "plan": "pro", "seats": 3})
    result = env.crawl()
    assert [t.name for t in env.catalog.list_tables(DB)] == ["events"]
    kinds = [(i["partition"], i["kind"]) for i in result.partition_issues]
    assert ("dt=2026-11-01", "dissimilar") in kinds and ("dt=2026-11-02", "dissimilar") in kinds
    dissimilar = next(i for i in result.partition_issues if i["kind"] == "dissimilar")
    assert dissimilar["message"] == ("partition dt=2026-11-01 has a schema only 57% similar to the table's (below "
                                     "70%: Glue would have made it a separate table)")  # 4 of 7 columns
