"""docker-compose.yaml is validated statically (no Docker engine here): it must stay honest."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yaml").read_text()))


def test_services_of_the_compose_profile_exist() -> None:
    services = compose()["services"]
    assert {"postgres", "minio", "hive-metastore", "trino", "spark-master", "spark-worker", "airflow-apiserver",
            "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"} <= set(services)


def test_images_are_pinned_and_airflow_matches_requirements() -> None:
    services = compose()["services"]
    for name, svc in services.items():
        assert ":" in svc["image"] and not svc["image"].endswith(":latest"), name
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pinned is not None
    assert services["airflow-scheduler"]["image"].startswith(f"apache/airflow:{pinned.group(1)}-python3.11")


def test_dependencies_and_mounted_paths_exist() -> None:
    services = compose()["services"]
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        for dep in deps if isinstance(deps, list) else deps.keys():
            assert dep in services, f"{name} depends on unknown service {dep}"
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_airflow_services_select_the_compose_profile_and_reach_their_services() -> None:
    env = compose()["services"]["airflow-scheduler"]["environment"]
    assert env["LAKEGLUE_PROFILE"] == "compose"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/lakeglue/dags"
    assert "@postgres:5432/" in env["LAKEGLUE_CATALOG_URL"]
    assert env["LAKEGLUE_AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert "spark-master:7077" in env["AIRFLOW_CONN_SPARK_DEFAULT"]
    init_sql = (ROOT / "docker" / "postgres-init.sql").read_text()
    for db in ("airflow", "lakeglue", "metastore"):
        assert f"CREATE DATABASE {db}" in init_sql
