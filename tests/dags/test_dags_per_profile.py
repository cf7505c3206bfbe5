"""The DAG files load under every profile and give the same DAGs, tasks and dependencies.

A profile switch must be one setting, never a different pipeline: only the operator *classes*
behind a task may change (aws runs jobs as Glue jobs). Each profile is loaded by Airflow's
``DagBag`` in its own process, because the profile is read once per process (settings cache)
and operator choice happens at parse time. The compose environment is the one docker-compose.yaml
gives the Airflow services, so a setting the DAGs need there cannot be missing from that file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]

#: Prints, per DAG: task ids with their upstream ids and operator class, and the import errors.
_LOAD = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
from lakeglue.settings import get_settings
print(json.dumps({
    "profile": get_settings().profile,
    "errors": {k: str(v)[-2000:] for k, v in bag.import_errors.items()},
    "dags": {dag_id: {t.task_id: {"upstream": sorted(t.upstream_task_ids), "class": type(t).__name__}
                      for t in dag.tasks}
             for dag_id, dag in bag.dags.items()},
}))
"""


def compose_airflow_env() -> dict[str, str]:
    """The LAKEGLUE_* and AWS settings docker-compose.yaml gives the Airflow scheduler."""
    services = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["services"]
    env = services["airflow-scheduler"]["environment"]
    return {k: os.path.expandvars(str(v)) for k, v in env.items()
            if k.startswith(("LAKEGLUE_", "AWS_"))}


PROFILE_ENV: dict[str, dict[str, str]] = {
    "embedded": {"LAKEGLUE_PROFILE": "embedded"},
    # an S3 lake in the aws profile: Glue jobs need a bucket and a role; nothing is contacted at parse time
    "aws": {"LAKEGLUE_PROFILE": "aws", "LAKEGLUE_HOME": "s3://lakeglue-parse-test",
            "LAKEGLUE_AWS_GLUE_ROLE_ARN": "arn:aws:iam::123456789012:role/lakeglue-glue",
            "LAKEGLUE_AWS_REGION": "us-east-1"},
}


def load_dags(profile: str, tmp_path: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEGLUE_")}
    overrides = compose_airflow_env() if profile == "compose" else PROFILE_ENV[profile]
    env.update(overrides)
    env["AIRFLOW_HOME"] = str(tmp_path / f"airflow-{profile}")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "include"), str(ROOT / "plugins"), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", _LOAD, str(ROOT / "dags")], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-4000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["profile"] == profile, f"{overrides} did not select the {profile} profile"
    assert result["errors"] == {}, f"{profile}: {result['errors']}"
    return result["dags"]


@pytest.fixture(scope="module")
def dags_by_profile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("profiles")
    return {profile: load_dags(profile, tmp) for profile in ("embedded", "compose", "aws")}


def shape(dags: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """DAG ids → task ids → upstream task ids: what a run does, whatever runs it."""
    return {dag_id: {task: info["upstream"] for task, info in tasks.items()} for dag_id, tasks in dags.items()}


def test_every_profile_loads_the_same_dags_tasks_and_dependencies(dags_by_profile: dict[str, Any]) -> None:
    embedded = shape(dags_by_profile["embedded"])
    assert set(embedded) == {"lakeglue_ecommerce", "lakeglue_ecommerce_on_new_files", "lakeglue_maintenance"}
    assert {"crawl", "bronze", "silver", "quality", "gold"} <= set(embedded["lakeglue_ecommerce"])
    assert embedded["lakeglue_ecommerce"]["gold"] == ["quality"]
    for profile in ("compose", "aws"):
        assert shape(dags_by_profile[profile]) == embedded, f"{profile} DAGs differ from embedded"


def test_only_the_aws_profile_swaps_the_job_operators(dags_by_profile: dict[str, Any]) -> None:
    """compose submits Spark jobs exactly as embedded does (to another master); aws runs Glue jobs."""
    def classes(profile: str) -> dict[str, str]:
        tasks = dags_by_profile[profile]["lakeglue_ecommerce"]
        return {task: tasks[task]["class"] for task in ("bronze", "silver", "gold")}

    assert classes("compose") == classes("embedded")
    assert classes("embedded")["silver"] == "LakeSparkJobOperator"
    assert set(classes("aws").values()) == {"LakeGlueJobOperator"}
