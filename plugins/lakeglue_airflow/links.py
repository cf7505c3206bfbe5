"""Extra links from lakeglue tasks to the Data Lake pages of the Airflow UI.

In Airflow 3 a task computes its links when it finishes (success or failure), in the worker,
and stores each as an XCom under the link's ``xcom_key``; the API server only reads those
XComs (``XComOperatorLink``). So the links need no plugin registration, and a link that
depends on the run reads what the operator pushed (the query id, the Data Docs page)
through the task instance it is given.

URLs are ``[api] base_url`` (when set; empty means "same origin") + the Data Lake app's
fixed routes: ``/lakeglue/tables/{database}/{table}``, ``/lakeglue/runs/{dag_id}/{run_id}``,
``/lakeglue/queries/{query_id}`` and ``/lakeglue/datadocs/{page}`` (the GX Data Docs site of
the results zone, served by the Data Lake app, since a browser will not open a ``file://`` or
``s3://`` link from an http page).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attrs
from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

#: Where the Data Lake app is mounted (the ``ui`` plugin's ``url_prefix``).
UI_PREFIX = "/lakeglue"


def _segment(value: str) -> str:
    """One path segment: run ids hold ``:`` and ``+``, which must not be read as URL syntax."""
    return quote(value, safe="")


def table_path(database: str, table: str) -> str:
    return f"{UI_PREFIX}/tables/{_segment(database)}/{_segment(table)}"


def run_path(dag_id: str, run_id: str) -> str:
    return f"{UI_PREFIX}/runs/{_segment(dag_id)}/{_segment(run_id)}"


def query_path(query_id: str) -> str:
    return f"{UI_PREFIX}/queries/{_segment(query_id)}"


def data_docs_path(page: str, index: str) -> str:
    """The Data Docs route of ``page`` (a file of the site whose ``index.html`` is ``index``)."""
    site = index.rsplit("/", 1)[0]
    relative = page.removeprefix(site + "/") if page.startswith(site + "/") else "index.html"
    return f"{UI_PREFIX}/datadocs/" + "/".join(_segment(p) for p in relative.split("/"))


#: Airflow's own fallback for ``[api] base_url`` when it writes absolute URLs (a task instance's ``log_url``).
DEFAULT_BASE_URL = "http://localhost:8080"


def ui_url(path: str, absolute: bool = False) -> str:
    """``path`` on the Airflow API server: under ``[api] base_url`` when it is set; otherwise root-relative
    for links the UI opens, or on Airflow's default base URL for ``absolute`` ones (e-mail, Slack)."""
    from airflow.sdk.configuration import conf

    base = str(conf.get("api", "base_url", fallback="") or "").rstrip("/")
    if not base and absolute:
        base = DEFAULT_BASE_URL
    return base + path


def _xcom(ti_key: TaskInstanceKey, key: str) -> Any:
    from airflow.sdk.execution_time.xcom import XCom

    return XCom.get_value(ti_key=ti_key, key=key)


class RunReportLink(BaseOperatorLink):
    """The report of the pipeline run this task belongs to."""

    name = "Run report"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return ui_url(run_path(ti_key.dag_id, ti_key.run_id))


@attrs.define()
class TableLink(BaseOperatorLink):
    """The page of one table the task writes (or, for the quality gate, checks); one link per table."""

    database: str
    table: str

    @property
    def name(self) -> str:
        return f"Table {self.database}.{self.table}"

    @property
    def xcom_key(self) -> str:
        return f"_link_table_{self.database}.{self.table}"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return ui_url(table_path(self.database, self.table))


class QueryResultLink(BaseOperatorLink):
    """The result of the query the task ran (its id is in the task's return value)."""

    name = "Query result"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        result = _xcom(ti_key, "return_value")
        query_id = result.get("query_id") if isinstance(result, dict) else None
        return ui_url(query_path(str(query_id))) if query_id else ""


class DataDocsLink(BaseOperatorLink):
    """GX Data Docs of the validation: its page when the task validated one table, else the site's index."""

    name = "Data Docs"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from lakeglue_airflow.operators.quality import DATA_DOCS_XCOM_KEY, RESULTS_XCOM_KEY

        index = _xcom(ti_key, DATA_DOCS_XCOM_KEY)
        if not index:
            return ""  # Data Docs off, or the task failed before validating
        results = _xcom(ti_key, RESULTS_XCOM_KEY) or []
        pages = [r["data_docs_page"] for r in results if isinstance(r, dict) and r.get("data_docs_page")]
        return ui_url(data_docs_path(pages[0] if len(pages) == 1 else str(index), str(index)))


def add_table_links(operator: BaseOperator, tables: Iterable[str]) -> BaseOperator:
    """Give ``operator`` a link to each ``database.table`` (known from the spec when the DAG is built)."""
    links = [TableLink(*name.split(".", 1)) for name in tables]
    operator.operator_extra_links = (*operator.operator_extra_links, *links)
    return operator
