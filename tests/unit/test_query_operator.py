"""LakeQueryOperator templating with a real Airflow DAG: .sql files via template_ext, identifier-only Jinja in SQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from lakeglue.settings import SQL_DIR

pytestmark = pytest.mark.airflow


def make_dag(template_searchpath: list[str] | None = None) -> Any:
    from airflow.sdk import DAG

    return DAG("lakeglue_query_templating", schedule=None, start_date=datetime(2026, 1, 1),
               template_searchpath=template_searchpath)


def test_sql_file_resolves_from_include_sql_without_a_template_searchpath() -> None:
    """The generated pipeline DAGs pass sql="queries/top_categories.sql" and set no template_searchpath."""
    from lakeglue_airflow.operators.query import LakeQueryOperator

    dag = make_dag()
    with dag:
        op = LakeQueryOperator(task_id="top", sql="queries/top_categories.sql")
    dag.resolve_template_files()  # what the DAG processor does when it parses the file
    assert op.sql == (SQL_DIR / "queries" / "top_categories.sql").read_text()
    op.render_template_fields({})
    assert op.sql == (SQL_DIR / "queries" / "top_categories.sql").read_text().rstrip("\n")


def test_the_dags_template_searchpath_wins_over_include_sql(tmp_path: Path) -> None:
    from lakeglue_airflow.operators.query import LakeQueryOperator

    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "top_categories.sql").write_text("SELECT 1 AS overridden")
    dag = make_dag(template_searchpath=[str(tmp_path)])
    with dag:
        op = LakeQueryOperator(task_id="top", sql="queries/top_categories.sql")
    dag.resolve_template_files()
    assert op.sql == "SELECT 1 AS overridden"


def test_jinja_in_sql_renders_identifiers_and_parameters_render_values(tmp_path: Path) -> None:
    from lakeglue_airflow.operators.query import LakeQueryOperator

    (tmp_path / "by_category.sql").write_text(
        "SELECT dt, revenue FROM {{ params.database }}.{{ params.table }} WHERE category = ? AND dt >= ?")
    dag = make_dag(template_searchpath=[str(tmp_path)])
    with dag:
        op = LakeQueryOperator(task_id="q", sql="by_category.sql", parameters=["{{ params.category }}", "{{ ds }}"],
                               database="{{ params.database }}")
    context = {"params": {"database": "ecommerce_gold", "table": "daily_revenue_by_category",
                          "category": "books' OR '1'='1"}, "ds": "2026-11-01"}
    op.render_template_fields(context)
    assert op.sql == "SELECT dt, revenue FROM ecommerce_gold.daily_revenue_by_category WHERE category = ? AND dt >= ?"
    # values may be anything: they are bound by the engine, not pasted into the SQL
    assert op.parameters == ["books' OR '1'='1", "2026-11-01"]
    assert op.database == "ecommerce_gold"


@pytest.mark.parametrize(("sql", "rendered"), [
    ("SELECT * FROM ecommerce_gold.daily_revenue_by_category WHERE dt = '{{ ds }}'", "2026-11-01"),
    ("SELECT * FROM ecommerce_gold.{{ params.table }}", "daily_revenue_by_category; DROP TABLE x"),
    ("SELECT * FROM t WHERE category = {{ params.quoted }}", "'books' OR 1=1"),
])
def test_jinja_may_not_put_values_or_sql_into_the_sql(sql: str, rendered: str) -> None:
    from lakeglue_airflow.operators.query import LakeQueryOperator, SqlTemplateError

    dag = make_dag()
    with dag:
        op = LakeQueryOperator(task_id="q", sql=sql)
    context = {"ds": "2026-11-01", "params": {"table": "daily_revenue_by_category; DROP TABLE x",
                                              "quoted": "'books' OR 1=1"}}
    with pytest.raises(SqlTemplateError) as info:
        op.render_template_fields(context)
    assert str(info.value) == (
        f"a Jinja expression in the SQL rendered {rendered!r}; in SQL, templates may only produce identifiers "
        "(database, table or column names, checked against the catalog). Pass values as parameters=[…] with ? "
        "placeholders: they are bound by the engine, never pasted into the SQL")
