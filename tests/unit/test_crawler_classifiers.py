"""Custom classifiers (grok/regex, JSON path, CSV options): tried in order before the built-ins, certainty wins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakeglue.crawler import CrawlerConfig, CrawlerConfigError
from lakeglue.crawler.classifiers import (
    ClassifierError,
    CsvClassifier,
    GrokClassifier,
    JsonClassifier,
    classifier_from_dict,
    classifier_to_dict,
)
from lakeglue.crawler.glue import GlueTranslationError, glue_crawler
from lakeglue.settings import Settings
from tests.unit.test_crawler import Env, make_env

ACCESS_LOG = (
    '127.0.0.1 - frank [10/Oct/2026:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326\n'
    '10.0.0.7 - - [10/Oct/2026:13:56:01 -0700] "POST /cart HTTP/1.1" 302 -\n'
)
APACHE = GrokClassifier(name="apache", classification="apache_log", grok_pattern="%{COMMONAPACHELOG}")
APP_LOG = GrokClassifier(name="app", classification="app_log",
                         grok_pattern="%{TS:ts} %{LEVEL:level} %{INT:code:int} %{GREEDYDATA:msg}",
                         custom_patterns="TS \\d{4}-\\d{2}-\\d{2}T\\S+\n# levels we emit\nLEVEL (INFO|WARN|ERROR)")


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


def test_grok_classifier_turns_log_lines_into_columns(env: Env) -> None:
    path = env.write("access/2026-10-10.log", ACCESS_LOG)
    result = env.crawl(classifiers=(APACHE,))

    assert result.errors == []
    assert env.columns("access") == [(c, "string") for c in (
        "clientip", "ident", "auth", "timestamp", "verb", "request", "httpversion", "rawrequest", "response",
        "bytes")]
    t = env.table("access")
    assert (t.parameters["classification"], t.parameters["recordCount"]) == ("apache_log", "2")
    assert t.storage.serde == "com.amazonaws.glue.serde.GrokSerDe"
    assert t.storage.serde_parameters == {"input.format": "%{COMMONAPACHELOG}"}
    assert t.storage.input_format == "org.apache.hadoop.mapred.TextInputFormat"
    assert f"{path}: classified by custom classifier apache (certainty 1.00)" in result.decisions


def test_grok_types_custom_patterns_and_the_first_certain_classifier_wins(env: Env) -> None:
    env.write("app/a.log", "2026-11-23T10:00:00Z WARN 42 disk almost full\n2026-11-23T10:01:00Z INFO 7 ok\n")
    regex = GrokClassifier(name="anything", classification="lines", grok_pattern=r"(?P<line>.+)")
    result = env.crawl(classifiers=(APACHE, APP_LOG, regex))

    assert env.columns("app") == [("ts", "string"), ("level", "string"), ("code", "int"), ("msg", "string")]
    t = env.table("app")
    assert t.parameters["classification"] == "app_log"
    assert t.storage.serde_parameters == {"input.format": APP_LOG.grok_pattern,
                                          "input.grokCustomPatterns": APP_LOG.custom_patterns}
    path = f"{env.prefix_dir}/app/a.log"
    assert (f"{path}: classifier apache: certainty 0.00 (the pattern matches none of 2 lines (first: "
            "'2026-11-23T10:00:00Z WARN 42 disk almost full'))") in result.decisions


def test_plain_regex_with_java_style_named_groups(env: Env) -> None:
    env.write("kv/a.txt", "ann:3\nbob:12\n")
    env.crawl(classifiers=(GrokClassifier(name="kv", classification="kv", grok_pattern=r"(?<user>\w+):(?<n>\d+)"),))
    assert env.columns("kv") == [("user", "string"), ("n", "string")]


def test_uncertain_classifier_is_used_only_when_the_built_ins_fail(env: Env) -> None:
    env.write("app/a.log", "2026-11-23T10:00:00Z WARN 42 disk full\n2026-11-23T10:00:01Z INFO 1 ok\n"
                           "stack trace line without a level\n")
    result = env.crawl(classifiers=(APP_LOG,))
    assert env.table("app").parameters["classification"] == "app_log"
    assert env.table("app").parameters["recordCount"] == "2"
    path = f"{env.prefix_dir}/app/a.log"
    assert (f"{path}: no classifier is certain; app has the highest certainty (0.67) and decides (the built-in "
            "ones failed: not CSV: no delimiter among comma, pipe, tab, semicolon, Ctrl-A gives the same ≥ 2 "
            "columns on every row, and not JSON; unknown format)") in result.decisions


def test_a_classifier_that_matches_nothing_leaves_the_built_ins_in_charge(env: Env) -> None:
    env.write("customers/c.csv", "id,name\n1,Ann\n2,Bob\n")
    result = env.crawl(classifiers=(APACHE,))
    assert env.table("customers").parameters["classification"] == "csv"
    assert env.columns("customers") == [("id", "bigint"), ("name", "string")]
    assert (f"{env.prefix_dir}/customers/c.csv: classifier apache: certainty 0.00 (the pattern matches none of 3 "
            "lines (first: 'id,name'))") in result.decisions


# -- JSON path --------------------------------------------------------------------------------------
def test_json_path_classifier_reads_a_top_level_array(env: Env) -> None:
    records = [{"sku": f"A-{i}", "qty": i, "price": 1.5 * i} for i in range(1, 4)]
    path = env.write("stock/export.json", json.dumps(records, indent=2))
    result = env.crawl(classifiers=(JsonClassifier(name="array", json_path="$[*]"),))

    assert result.errors == []
    assert env.columns("stock") == [("sku", "string"), ("qty", "bigint"), ("price", "double")]
    t = env.table("stock")
    assert (t.parameters["classification"], t.parameters["jsonPath"], t.parameters["recordCount"]) == (
        "json", "$[*]", "3")
    assert t.parameters["averageRecordSize"] == str(round(path.stat().st_size / 3))
    assert t.storage.serde == "org.openx.data.jsonserde.JsonSerDe"


def test_json_path_into_a_document_and_a_sample_cut_mid_array(env: Env) -> None:
    env.write("api/page1.json", json.dumps({"meta": {"page": 1}, "data": [{"id": 1, "ok": True}, {"id": 2}]}))
    big = [{"id": i, "name": f"item-{i:05d}"} for i in range(400)]  # ~12 KB, sampled at 4 KB
    env.write("bulk/all.json", json.dumps(big))
    classifiers = (JsonClassifier(name="data", json_path="$.data[*]"), JsonClassifier(name="arr", json_path="$[*]"))
    result = env.crawl(classifiers=classifiers, max_sample_bytes=4096)

    assert env.columns("api") == [("id", "bigint"), ("ok", "boolean")]
    assert env.table("api").parameters["jsonPath"] == "$.data[*]"
    assert env.columns("bulk") == [("id", "bigint"), ("name", "string")]
    assert env.table("bulk").parameters["jsonPath"] == "$[*]"
    assert [d for d in result.decisions if "classifier data" in d] == [
        f"{env.prefix_dir}/api/page1.json: classified by custom classifier data (certainty 1.00)",
        f"{env.prefix_dir}/bulk/all.json: classifier data: certainty 0.00 (not one JSON document (the sample limit "
        "cut the document): line 1 column 4097: Expecting ':' delimiter)"]
    # estimated from the 4 KB of complete elements (ids 0-136 are shorter than the rest): 407 for 400 rows
    assert env.table("bulk").parameters["recordCount"] == "407"


# -- CSV options ------------------------------------------------------------------------------------
def test_csv_classifier_delimiter_quote_header_and_names(tmp_path: Path) -> None:
    eu_env = make_env(tmp_path / "eu")
    eu_env.write("eu/a.csv", "name;amount\n'Smith; Ann';12,5\n'Bob';3\n")
    eu_env.crawl(classifiers=(CsvClassifier(name="eu", delimiter=";", quote_symbol="'", contains_header="PRESENT"),))
    assert eu_env.columns("eu") == [("name", "string"), ("amount", "string")]
    eu = eu_env.table("eu")
    assert eu.storage.serde == "org.apache.hadoop.hive.serde2.OpenCSVSerde"
    assert eu.storage.serde_parameters == {"separatorChar": ";", "quoteChar": "'", "escapeChar": "\\"}
    assert (eu.parameters["recordCount"], eu.parameters["skip.header.line.count"]) == ("2", "1")

    named_env = make_env(tmp_path / "named")
    named_env.write("noheader/a.csv", "1|x\n2|y\n")
    named_env.crawl(classifiers=(CsvClassifier(name="named", delimiter="|", contains_header="ABSENT",
                                               header=("Code", "Label")),))
    assert named_env.columns("noheader") == [("code", "bigint"), ("label", "string")]
    assert "skip.header.line.count" not in named_env.table("noheader").parameters
    assert named_env.table("noheader").storage.serde == "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"


def test_csv_classifier_single_column_and_disabled_trimming(tmp_path: Path) -> None:
    one = make_env(tmp_path / "one")
    one.write("single/a.txt", "word\nalpha\nbeta\n")
    one.crawl(classifiers=(CsvClassifier(name="one", delimiter=",", allow_single_column=True,
                                         contains_header="PRESENT"),))
    assert one.columns("single") == [("word", "string")]
    raw = make_env(tmp_path / "raw")
    raw.write("spaces/a.csv", "a,b\n 1,x\n2 ,y\n")
    raw.crawl(classifiers=(CsvClassifier(name="raw", disable_value_trimming=True, contains_header="PRESENT"),))
    assert raw.columns("spaces") == [("a", "string"), ("b", "string")]  # " 1" is not a number if nobody trims it


# -- definitions: validation, Glue's API shape ------------------------------------------------------
def test_classifiers_round_trip_through_glues_api_shape() -> None:
    config = CrawlerConfig(database="d", classifiers=(
        APP_LOG, JsonClassifier(name="arr", json_path="$[*]"),
        CsvClassifier(name="eu", delimiter=";", header=("a", "b"), contains_header="absent")))
    data = json.loads(json.dumps(config.to_dict()))
    assert data["classifiers"] == [
        {"GrokClassifier": {"Name": "app", "Classification": "app_log", "GrokPattern": APP_LOG.grok_pattern,
                            "CustomPatterns": APP_LOG.custom_patterns}},
        {"JsonClassifier": {"Name": "arr", "JsonPath": "$[*]"}},
        {"CsvClassifier": {"Name": "eu", "Delimiter": ";", "QuoteSymbol": '"', "ContainsHeader": "ABSENT",
                           "Header": ["a", "b"], "DisableValueTrimming": False, "AllowSingleColumn": False,
                           "Serde": "None"}},
    ]
    assert CrawlerConfig.from_dict(data) == config
    assert classifier_from_dict(classifier_to_dict(APACHE)) == APACHE


@pytest.mark.parametrize(("make", "message"), [
    (lambda: GrokClassifier(name="g", classification="x", grok_pattern="%{NOPE:a}"),
     "grok classifier 'g': grok pattern '%{NOPE:a}': unknown pattern %{NOPE}; define it in the classifier's custom "
     "patterns"),
    (lambda: GrokClassifier(name="g", classification="x", grok_pattern="%{INT:a:money}"),
     "grok classifier 'g': grok pattern '%{INT:a:money}': field a has unknown type 'money'"),
    (lambda: GrokClassifier(name="g", classification="x", grok_pattern="%{INT}"),
     "grok classifier 'g': grok pattern '%{INT}' captures no field"),
    (lambda: JsonClassifier(name="j", json_path="$..price"),
     "JSON classifier 'j': json_path '$..price' is not supported"),
    (lambda: CsvClassifier(name="c", delimiter=";;"), "CSV classifier 'c': delimiter and quote_symbol must be single"),
    (lambda: classifier_from_dict({"XmlClassifier": {"Name": "x"}}),
     "classifier {'XmlClassifier': {'Name': 'x'}}: expected one key among GrokClassifier, JsonClassifier, "
     "CsvClassifier"),
    (lambda: classifier_from_dict({"JsonClassifier": {"Name": "j", "JsonPath": "$", "Bogus": 1}}),
     "JsonClassifier 'j': unknown fields ['Bogus']"),
])
def test_bad_classifier_definitions_name_the_classifier_and_field(make: object, message: str) -> None:
    with pytest.raises(ClassifierError) as info:
        make()  # type: ignore[operator]
    assert str(info.value).startswith(message)


def test_config_rejects_duplicate_classifier_names_and_glue_incompatible_policies() -> None:
    with pytest.raises(CrawlerConfigError, match=r"names must be unique, got \['apache', 'apache'\]"):
        CrawlerConfig(database="d", classifiers=(APACHE, APACHE))
    with pytest.raises(CrawlerConfigError, match="CRAWL_NEW_FOLDERS_ONLY needs update_behavior='LOG' and "
                                                 "delete_behavior='LOG'"):
        CrawlerConfig(database="d", recrawl_policy="CRAWL_NEW_FOLDERS_ONLY")
    with pytest.raises(CrawlerConfigError, match="table_level=0 must be >= 1"):
        CrawlerConfig(database="d", table_level=0)
    with pytest.raises(CrawlerConfigError, match="unknown crawler options \\['sample_size'\\]"):
        CrawlerConfig.from_dict({"database": "d", "sample_size": 3})


def test_config_translates_to_a_glue_crawler_definition() -> None:
    settings = Settings(profile="aws", lake_root="s3://lake-bucket/prod", catalog_url="sqlite://")
    config = CrawlerConfig(database="shop_raw", prefix="shop", name="shop_crawler", excludes=("**/*.tmp",),
                           classifiers=(APACHE,), table_level=2, combine_compatible_schemas=True, table_threshold=20,
                           merge_new_columns=True, update_behavior="UPDATE_IN_DATABASE",
                           delete_behavior="DEPRECATE_IN_DATABASE", sample_files_per_folder=25, table_prefix="raw_")
    glue = glue_crawler(config, settings, role="arn:aws:iam::123456789012:role/crawler")
    assert glue.definition == {
        "Name": "shop_crawler", "Role": "arn:aws:iam::123456789012:role/crawler", "DatabaseName": "shop_raw",
        "Description": "lakeglue crawler shop_crawler (generated from its CrawlerConfig)",
        "Targets": {"S3Targets": [{"Path": "s3://lake-bucket/prod/raw/shop/", "SampleSize": 25, "Exclusions": [
            "**/*.tmp", "**/_SUCCESS", "**/_temporary/**", "**/*.crc", "**/.*", "**/_*"]}]},
        "SchemaChangePolicy": {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "DEPRECATE_IN_DATABASE"},
        "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_EVERYTHING"},
        "TablePrefix": "raw_", "Classifiers": ["apache"],
        "Configuration": json.dumps({"CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"},
                                                       "Tables": {"AddOrUpdateBehavior": "MergeNewColumns",
                                                                  "TableThreshold": 20}},
                                     "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas",
                                                  "TableLevelConfiguration": 6},  # bucket, prod, raw, shop = 4
                                     "Version": 1.0}, sort_keys=True),
    }
    assert glue.classifiers == [{"GrokClassifier": {"Name": "apache", "Classification": "apache_log",
                                                    "GrokPattern": "%{COMMONAPACHELOG}"}}]
    assert glue.notes[0].startswith("recrawl_policy CRAWL_INCREMENTAL (ingestion ledger) has no Glue equivalent")
    with pytest.raises(GlueTranslationError, match="CRAWL_EVENT_MODE on Glue needs the SQS queue"):
        glue_crawler(CrawlerConfig(database="d", recrawl_policy="CRAWL_EVENT_MODE"), settings, role="r")
    event = glue_crawler(CrawlerConfig(database="d", prefix="p", recrawl_policy="CRAWL_EVENT_MODE"), settings,
                         role="r", event_queue_arn="arn:aws:sqs:us-east-1:123456789012:lake-events")
    assert event.definition["Targets"]["S3Targets"][0]["EventQueueArn"] == \
        "arn:aws:sqs:us-east-1:123456789012:lake-events"
    assert event.definition["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_EVENT_MODE"}
    with pytest.raises(GlueTranslationError, match="a Glue crawler reads S3; the lake root is '/tmp/lake'"):
        glue_crawler(config, Settings(lake_root="/tmp/lake"), role="r")
