"""Shared by the end-to-end modules: the demo lake after one Airflow run, made once per session."""

from __future__ import annotations

import pytest

from tests.support.airflow_home import AirflowHomes
from tests.support.demo_run import DemoLake


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory: pytest.TempPathFactory, airflow_homes: AirflowHomes) -> DemoLake:
    """Sample data and one run of the ecommerce DAG; ``checkout()`` gives each module its own fresh copy."""
    return DemoLake(tmp_path_factory.mktemp("demo-lake"), airflow_homes)
