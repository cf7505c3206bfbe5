"""Registers lakeglue with Airflow's plugin manager (the plugins folder points here).

- ``fastapi_apps``: the read-only Data Lake pages at ``/lakeglue`` (every route needs a logged-in user);
- ``external_views``: "Data Lake" and "Lake queries" in the Browse menu, and a "Lake report" tab on
  each DAG run, all embedded in the Airflow UI;
- ``listeners``: the run log of lakeglue tasks (which run and task wrote which table version).
"""

from __future__ import annotations

import importlib
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from lakeglue_airflow import run_listener

URL_PREFIX = "/lakeglue"


class LazyASGIApp:
    """The Data Lake app, imported on its first request.

    Every Airflow process loads plugins (task runners, the DAG processor); importing FastAPI,
    Jinja2 and the API server's security module there costs about a second per task for pages
    only the API server serves.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            module, _, attr = self.target.partition(":")
            self._app = getattr(importlib.import_module(module), attr)
        await self._app(scope, receive, send)


class LakeGluePlugin(AirflowPlugin):
    name = "lakeglue"
    fastapi_apps = [{"app": LazyASGIApp("lakeglue_airflow.ui.app:app"), "url_prefix": URL_PREFIX,
                     "name": "lakeglue Data Lake"}]
    external_views = [
        {"name": "Data Lake", "href": f"{URL_PREFIX}/", "destination": "nav", "category": "browse",
         "url_route": "lakeglue"},
        {"name": "Lake queries", "href": f"{URL_PREFIX}/queries", "destination": "nav", "category": "browse",
         "url_route": "lakeglue-queries"},
        {"name": "Lake report", "href": f"{URL_PREFIX}/runs/{{DAG_ID}}/{{RUN_ID}}", "destination": "dag_run",
         "url_route": "lakeglue-run"},
    ]
    listeners = [run_listener]
