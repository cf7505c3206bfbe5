"""The Data Lake section of the Airflow UI: a read-only FastAPI app the plugin mounts at ``/lakeglue``.

Plugin FastAPI apps are open by default in Airflow 3; this one depends on the auth manager's
user for every route (:func:`requires_authenticated` at app level, DAG access for run reports),
so a request without a valid token (``Authorization: Bearer`` or the UI's ``_token`` cookie) gets
401/403. The pages are server-rendered Jinja2: the data comes from ``lakeglue.ui_data`` (plain
Python, tested without Airflow); this module only maps URLs to those functions and templates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag, requires_authenticated
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.templating import Jinja2Templates

from lakeglue.catalog import open_catalog
from lakeglue.catalog.base import EntityNotFound
from lakeglue.settings import get_settings
from lakeglue.ui_data import data_docs as docs_data
from lakeglue.ui_data import queries as queries_data
from lakeglue.ui_data import runs as runs_data
from lakeglue.ui_data import tables as tables_data
from lakeglue.ui_data.charts import quality_svg

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

app = FastAPI(title="lakeglue Data Lake", docs_url=None, redoc_url=None, openapi_url=None,
              dependencies=[Depends(requires_authenticated())])


def _link(request: Request, path: str) -> str:
    """``path`` under wherever the app is mounted (``/lakeglue`` behind Airflow's own base URL)."""
    return request.scope.get("root_path", "").rstrip("/") + path


def _render(request: Request, template: str, **values: Any) -> HTMLResponse:
    def link(*parts: Any, **query: Any) -> str:
        path = "/" + "/".join(quote(str(p), safe="") for p in parts)
        if query:
            path += "?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in query.items() if v is not None)
        return _link(request, path)

    return TEMPLATES.TemplateResponse(request, template, {"link": link, **values})


@app.get("/", response_class=HTMLResponse, name="index")
def index(request: Request, user: GetUserDep, q: str | None = None) -> HTMLResponse:
    settings = get_settings()
    databases = tables_data.database_listing(open_catalog(settings), q)
    # only runs of DAGs this user may read (their reports would refuse the others anyway)
    readable = get_auth_manager().get_authorized_dag_ids(user=user, method="GET")
    runs = [r for r in runs_data.recent_runs(settings.catalog_url) if r[0] in readable]
    return _render(request, "index.html", databases=databases, q=q or "", runs=runs)


@app.get("/tables/{database}/{table}", response_class=HTMLResponse, name="table")
def table_page(request: Request, database: str, table: str) -> HTMLResponse:
    settings = get_settings()
    try:
        page = tables_data.table_page(open_catalog(settings), settings, database, table)
    except EntityNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    chart = quality_svg(page.quality) if page.quality is not None and page.quality.runs else ""
    return _render(request, "table.html", page=page, chart=chart, data_docs=docs_data.has_site(settings))


@app.get("/tables/{database}/{table}/diff", response_class=HTMLResponse, name="diff")
def version_diff(request: Request, database: str, table: str,
                 from_version: int = Query(alias="from"), to_version: int = Query(alias="to")) -> HTMLResponse:
    settings = get_settings()
    try:
        diff = tables_data.version_diff(open_catalog(settings), database, table, from_version, to_version)
    except EntityNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    return _render(request, "diff.html", diff=diff, database=database, table=table)


@app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse, name="run",
         dependencies=[Depends(requires_access_dag("GET", DagAccessEntity.RUN))])
def run_report(request: Request, dag_id: str, run_id: str) -> HTMLResponse:
    report = runs_data.run_report(get_settings().catalog_url, dag_id, run_id)
    if not report.found:
        raise HTTPException(status_code=404, detail=f"no lakeglue task of run {run_id!r} of {dag_id!r} was recorded")
    return _render(request, "run.html", report=report)


@app.get("/queries", response_class=HTMLResponse, name="queries")
def query_history(request: Request) -> HTMLResponse:
    return _render(request, "queries.html", records=queries_data.query_history(get_settings()))


@app.get("/queries/{query_id}", response_class=HTMLResponse, name="query")
def query_page(request: Request, query_id: str) -> HTMLResponse:
    page = _query(query_id)
    return _render(request, "query.html", page=page)


@app.get("/queries/{query_id}/result", name="query_result")
def query_result(query_id: str) -> StreamingResponse:
    """The result file itself (a browser cannot open the lake's paths, local or s3://): CSV, Parquet or JSON."""
    page = _query(query_id)
    if page.result_path is None:
        raise HTTPException(status_code=404, detail=f"query {query_id} left no result file")
    name = page.result_path.rsplit("/", 1)[-1]
    media = "text/csv" if name.endswith(".csv") else "application/octet-stream"
    return StreamingResponse(queries_data.result_chunks(get_settings(), page.result_path), media_type=media,
                             headers={"Content-Disposition": f'inline; filename="{name}"',
                                      "X-Content-Type-Options": "nosniff"})


@app.get("/datadocs/{page:path}", name="data_docs")
def data_docs(page: str) -> StreamingResponse:
    """The GX Data Docs site of the results zone (quality operators link their validation pages here)."""
    settings = get_settings()
    try:
        found = docs_data.site_file(settings, page)
    except ValueError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    if found is None:
        raise HTTPException(status_code=404, detail=f"no Data Docs page {page}")
    # The pages hold data values and run GX's scripts: a sandbox gives them an origin of their own, so
    # nothing in them can act with the Airflow session of the user viewing them.
    return StreamingResponse(docs_data.file_chunks(settings, found.path), media_type=found.media_type,
                             headers={"Content-Security-Policy": "sandbox allow-scripts allow-popups",
                                      "X-Content-Type-Options": "nosniff"})


def _query(query_id: str) -> queries_data.QueryPage:
    try:
        page = queries_data.query_page(get_settings(), query_id)
    except ValueError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    if page is None:
        raise HTTPException(status_code=404, detail=f"no query {query_id} in the results zone")
    return page
