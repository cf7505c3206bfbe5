"""The Data Lake app as the plugin registers it: every route behind Airflow's user dependency, read-only.

No server here (the browser test runs the real one): FastAPI's test client calls the app
the plugin mounts, through the plugin's lazy wrapper, without a token.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

pytestmark = pytest.mark.airflow


def test_plugin_mounts_the_app_and_links_to_its_pages() -> None:
    from lakeglue_airflow import run_listener
    from lakeglue_airflow.plugin import URL_PREFIX, LakeGluePlugin
    from lakeglue_airflow.ui.app import app

    (mounted,) = LakeGluePlugin.fastapi_apps
    assert mounted["url_prefix"] == URL_PREFIX == "/lakeglue"
    patterns = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", r.path) + "$") for r in app.routes
                if isinstance(r, APIRoute)]
    for view in LakeGluePlugin.external_views:
        path = view["href"].removeprefix(URL_PREFIX).replace("{DAG_ID}", "d").replace("{RUN_ID}", "r")
        assert any(p.match(path) for p in patterns), f"{view['name']} links to {view['href']}, which no route serves"
    assert run_listener in LakeGluePlugin.listeners


def test_every_route_refuses_a_request_without_a_token() -> None:
    from lakeglue_airflow.plugin import LakeGluePlugin
    from lakeglue_airflow.ui.app import app

    client = TestClient(LakeGluePlugin.fastapi_apps[0]["app"])  # the lazy wrapper, as Airflow mounts it
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert len(routes) == len(app.routes) >= 7  # nothing but API routes, so nothing escapes the dependency
    for route in routes:
        assert route.methods <= {"GET", "HEAD"}, f"{route.path} is not read-only"
        path = re.sub(r"\{[^}]+\}", "x", route.path) + ("?from=1&to=2" if route.path.endswith("/diff") else "")
        response = client.get(path)
        assert response.status_code == 401, (route.path, response.status_code, response.text)
    assert client.get("/docs").status_code == 404 and client.get("/openapi.json").status_code == 404
