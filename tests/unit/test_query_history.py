"""Query history (``list_queries``, ``lakeglue query history``) and the ``lakeglue query`` command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_query import Env, env  # noqa: F401 - the fixture is used by name

from lakeglue.cli import main
from lakeglue.query import QueryError, list_queries
from lakeglue.settings import get_settings


@pytest.fixture
def cli_env(env: Env, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:  # noqa: F811
    monkeypatch.setenv("LAKEGLUE_HOME", env.settings.lake_root)
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", env.settings.catalog_url)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def run_three(env: Env) -> list[str]:  # noqa: F811
    first = env.run("SELECT count(*) AS n FROM ecommerce_gold.daily_revenue_by_category", output="csv")
    with pytest.raises(QueryError) as failed:
        env.run("SELECT revenu FROM ecommerce_gold.daily_revenue_by_category", output="csv")
    third = env.run("CREATE TABLE ecommerce_gold.books AS SELECT dt, revenue FROM "
                    "ecommerce_gold.daily_revenue_by_category WHERE category = ?", ["books"], output="csv")
    return [first.query_id, str(failed.value.query_id), third.query_id]


def test_history_lists_every_query_newest_first(env: Env) -> None:  # noqa: F811
    ids = run_three(env)
    env.run("SELECT 1 AS not_kept FROM ecommerce_gold.daily_revenue_by_category", output=None)  # in memory only

    records = list_queries(lake=env.lake)
    assert [r.query_id for r in records] == ids[::-1]
    assert [(r.state, r.statement_type, r.rows) for r in records] == [
        ("SUCCEEDED", "CTAS", 1), ("FAILED", "SELECT", None), ("SUCCEEDED", "SELECT", 1)]
    assert records[1].error is not None and records[1].error.startswith("column revenu (line 1, column 8) cannot")
    assert records[2].output_location == env.lake.uri(env.lake.path("results", "queries", ids[0], "result.csv"))
    assert [r.query_id for r in list_queries(lake=env.lake, state="failed")] == [ids[1]]
    assert [r.query_id for r in list_queries(lake=env.lake, limit=1)] == [ids[2]]
    with pytest.raises(ValueError, match="state must be one of SUCCEEDED, FAILED, got 'DONE'"):
        list_queries(lake=env.lake, state="DONE")


def test_a_damaged_metadata_file_is_named(env: Env) -> None:  # noqa: F811
    run_three(env)
    broken = Path(env.lake.path("results", "queries", "broken-id", "metadata.json"))
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    with pytest.raises(ValueError, match=rf"file://{broken} is not a lakeglue query metadata file"):
        list_queries(lake=env.lake)


def test_cli_query_history(cli_env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    ids = run_three(cli_env)
    assert main(["query", "history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [c.strip() for c in lines[0].split(" | ")] == ["submitted (UTC)", "query_id", "state", "type", "engine",
                                                          "rows", "seconds", "sql / error"]
    assert [line.split(" | ")[1].strip() for line in lines[2:5]] == ids[::-1]
    assert [line.split(" | ")[2].strip() for line in lines[2:5]] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert lines[3].endswith("| SELECT revenu FROM ecommerce_gold.daily…  ← column revenu (line 1, column 8) "
                             "cannot be resolved; did you mean revenue?; colu")  # SQL and error cut to fit a line
    assert lines[-1] == "(3 queries)"

    assert main(["query", "history", "--state", "FAILED", "--limit", "5"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "(1 query)"


def test_cli_runs_sql_with_parameters_and_reports_errors(cli_env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["query", "SELECT category, sum(units) AS units FROM daily_revenue_by_category WHERE category <> ? "
                 "GROUP BY category ORDER BY category", "--param", "toys", "--database", "ecommerce_gold"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[:5] == ["category | units", "---------+------", "books    |     8", "games    |     3",
                                    "(2 rows)"]
    assert "2 rows; result: file://" + cli_env.settings.lake_root + "/results/queries/" in out

    assert main(["query", "SELECT * FROM ecommerce_gold.daily_revenue"]) == 2
    err = capsys.readouterr().err
    assert "failed: table ecommerce_gold.daily_revenue not found in the catalog (line 1, column 15); did you mean " \
           "ecommerce_gold.daily_revenue_by_category?" in err
