"""docker-compose.yaml and its image are checked statically (no Docker engine here): they must stay honest.

What is checked: the file against the Compose Specification's JSON schema (the copy ``check-jsonschema``
ships), and by ``docker compose config`` where that CLI plugin exists; every setting lakeglue's code reads
is set (or deliberately left at a default fit for compose) in every container that runs lakeglue, and
those settings resolve to the compose profile; health checks and ``depends_on`` conditions; ports bound to
127.0.0.1 unless ``.env`` says otherwise; ``.env.example`` names every variable the file uses; the image,
Spark, Trino and metastore configs agree with each other and with requirements.txt.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
LAKEGLUE_IMAGE = re.compile(r"^lakeglue:")

#: Settings lakeglue reads whose built-in default is right in the compose profile, and why. A setting the
#: code starts reading must be set in docker-compose.yaml or added here: the test below fails until then.
DEFAULT_FITS_COMPOSE: dict[str, str] = {
    "LAKEGLUE_CONFIG": "optional lakeglue.yaml; the environment carries every setting",
    "LAKEGLUE_DATABASE": "catalog database name, the same in every profile",
    "LAKEGLUE_SPARK_SHUFFLE_PARTITIONS": "a tuning knob; 4 suits the demo",
    "LAKEGLUE_SPARK_DRIVER_MEMORY": "only read outside spark-submit (CLI, tests)",
    "LAKEGLUE_SOURCE_POSTGRES_DSN": "optional sample JDBC source",
    "LAKEGLUE_STAGING_TTL_DAYS": "lifecycle, same in every profile (MinIO's ILM rule matches: 7 days)",
    "LAKEGLUE_AWS_GLUE_ROLE_ARN": "aws profile only",
    "LAKEGLUE_AWS_CONN_ID": "aws profile only",
    "LAKEGLUE_ENGINE_AUTO_THRESHOLD_BYTES": "engine choice, same in every profile",
    "LAKEGLUE_DUCKDB_MEMORY_LIMIT": "per-job cap, same in every profile",
    "LAKEGLUE_DUCKDB_TEMP_DIRECTORY": "system temp dir inside the container",
    "LAKEGLUE_MAX_RECORD_BYTES": "bronze record limit, same in every profile",
    "LAKEGLUE_RETENTION_DAYS": "retention, same in every profile",
    "LAKEGLUE_RESULTS_RETENTION_DAYS": "retention, same in every profile",
    "LAKEGLUE_PIN_TTL_HOURS": "retention, same in every profile",
    "LAKEGLUE_QUERY_MEMORY_LIMIT": "defaults to the DuckDB limit",
    "LAKEGLUE_QUERY_PREVIEW_ROWS": "same in every profile",
    "LAKEGLUE_QUALITY_MEMORY_BUDGET_BYTES": "same in every profile",
    "LAKEGLUE_PROGRESS_SECONDS": "progress log interval, same in every profile",
    "LAKEGLUE_FAULT_POINT": "fault injection for tests only",
    "LAKEGLUE_FAULT_SIGNAL": "fault injection for tests only",
    "LAKEGLUE_FAULT_HOLD_SECONDS": "fault injection for tests only",
}
#: Not LAKEGLUE_* but read by the lake's S3 clients (s3fs, boto3, S3A) in every container running lakeglue.
S3_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")

_VARIABLE = re.compile(r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
                       r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable syntax: ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
    ``${VAR:?error}``; a variable used without a default must be set."""
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("plain")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return arg if value is None else value
        if value is None or (op == ":?" and not value):
            raise AssertionError(f"docker-compose.yaml uses ${{{name}}} without a default and it is not set")
        return value

    return _VARIABLE.sub(replace, text)


def variables() -> dict[str, str | None]:
    """Every variable docker-compose.yaml uses, with its default (None: no default)."""
    found: dict[str, str | None] = {}
    for match in _VARIABLE.finditer(COMPOSE.read_text()):
        name = match.group("braced") or match.group("plain")
        if name:
            found[name] = match.group("arg") if match.group("op") in (":-", "-") else found.get(name)
    return found


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#"))


@cache
def compose_text(env_items: tuple[tuple[str, str], ...] = ()) -> str:
    return interpolate(COMPOSE.read_text(), dict(env_items))


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The file as Compose reads it: variables interpolated (defaults when ``env`` is empty), anchors merged."""
    return dict(yaml.safe_load(compose_text(tuple(sorted((env or {}).items())))))


def services() -> dict[str, dict[str, Any]]:
    return dict(compose()["services"])


def lakeglue_services() -> dict[str, dict[str, Any]]:
    """Services that run lakeglue's code: those on the image built from docker/Dockerfile."""
    return {name: svc for name, svc in services().items() if LAKEGLUE_IMAGE.match(svc.get("image", ""))}


def dockerfile_env() -> dict[str, str]:
    """``ENV`` of docker/Dockerfile (``ENV A=1 \\ B=2`` form), which every lakeglue container has."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(pair.split("=", 1) for pair in line[4:].split())
    return env


def container_env(svc: dict[str, Any]) -> dict[str, str]:
    environment = svc.get("environment", {})
    assert isinstance(environment, dict), "environment must be a mapping (so anchors can be merged)"
    return {**dockerfile_env(), **{k: str(v) for k, v in environment.items()}}


def settings_the_code_reads() -> set[str]:
    """LAKEGLUE_* names lakeglue reads: the settings table, and every name the code looks up directly."""
    from lakeglue import settings

    names = set(settings._ENV_KEYS) | {"LAKEGLUE_CONFIG"}
    lookup = re.compile(r"(?:environ(?:\.get)?\(|environ\[|getenv\()\s*[\"'](LAKEGLUE_[A-Z0-9_]+)[\"']")
    for folder in ("include", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(lookup.findall(path.read_text()))
    return names


# -- the file is valid Compose --------------------------------------------------------------------------------
def test_file_matches_the_compose_specification_schema() -> None:
    from importlib.resources import files

    import jsonschema

    schema = json.loads((files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema)
    # replicas and the like are integers once interpolated; Compose converts them, the schema allows both
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:20])


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed, so `docker compose config` cannot run")
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=60)
    if version.returncode != 0:
        pytest.skip("the docker compose CLI plugin is not installed (`docker compose version`: "
                    f"{(version.stderr or version.stdout).strip()[:200]}); the schema test still runs")
    done = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# -- settings -----------------------------------------------------------------------------------------------
def test_every_setting_the_code_reads_is_set_in_every_lakeglue_container() -> None:
    read = settings_the_code_reads()
    required = read - set(DEFAULT_FITS_COMPOSE)
    assert {"LAKEGLUE_PROFILE", "LAKEGLUE_HOME", "LAKEGLUE_CATALOG_URL"} <= required
    stale = set(DEFAULT_FITS_COMPOSE) - read
    assert not stale, f"DEFAULT_FITS_COMPOSE names settings the code no longer reads: {sorted(stale)}"
    assert set(lakeglue_services()) >= {"airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                                        "airflow-apiserver", "airflow-init", "spark-master", "spark-worker"}
    for name, svc in lakeglue_services().items():
        env = container_env(svc)
        missing = sorted(k for k in [*required, *S3_CREDENTIALS] if not env.get(k))
        assert not missing, f"{name} runs lakeglue but does not set {missing}"


def test_lakeglue_containers_resolve_to_the_compose_profile_on_minio_and_the_metastore() -> None:
    from lakeglue.settings import load_settings

    for name, svc in lakeglue_services().items():
        env = container_env(svc)
        settings = load_settings(env)  # raises SettingsError naming the setting if a value is unusable
        assert settings.profile == "compose", name
        assert settings.lake_root == "s3://lakeglue", name
        assert env["LAKEGLUE_CATALOG_URL"] == "thrift://hive-metastore:9083", name
        assert env["LAKEGLUE_AWS_ENDPOINT_URL"] == "http://minio:9000", name
        assert env["LAKEGLUE_SPARK_MASTER"] == "spark://spark-master:7077", name
        assert env["LAKEGLUE_STATE_URL"].startswith("postgresql+psycopg://lakeglue:"), name
        assert env["LAKEGLUE_STATE_URL"].endswith("@postgres:5432/lakeglue"), name
        assert env["AWS_ACCESS_KEY_ID"] == compose()["services"]["minio"]["environment"]["MINIO_ROOT_USER"]


def test_airflow_submits_spark_jobs_to_the_cluster_and_uses_the_image_paths() -> None:
    for name, svc in lakeglue_services().items():
        if not name.startswith("airflow-"):
            continue
        env = container_env(svc)
        assert json.loads(env["AIRFLOW_CONN_SPARK_DEFAULT"]) == {"conn_type": "spark",
                                                                 "host": "spark://spark-master:7077"}, name
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/lakeglue/dags", name
        assert env["LAKEGLUE_PROJECT_ROOT"] == "/opt/lakeglue", name
        assert env["SPARK_CONF_DIR"] == "/opt/lakeglue/docker/spark", name
    scheduler = container_env(services()["airflow-scheduler"])
    assert scheduler["SPARK_LOCAL_HOSTNAME"] == services()["airflow-scheduler"]["hostname"] == "airflow-scheduler"


# -- health and start order -----------------------------------------------------------------------------------
ONE_SHOT = {"minio-init", "airflow-init"}


def test_every_long_running_service_has_a_health_check_and_waits_on_conditions() -> None:
    svcs = services()
    for name, svc in svcs.items():
        if name in ONE_SHOT:
            assert svc.get("restart") == "no", name
        else:
            test = svc.get("healthcheck", {}).get("test")
            assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
        deps = svc.get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: depends_on must name a condition per service"
        for dep, spec in deps.items():
            assert dep in svcs, f"{name} depends on unknown service {dep}"
            expected = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert spec.get("condition") == expected, f"{name} -> {dep}: {spec}"


def test_start_order_reaches_every_service_the_pipeline_needs() -> None:
    svcs = services()

    def upstream(name: str) -> set[str]:
        seen: set[str] = set()
        todo = [name]
        while todo:
            for dep in svcs[todo.pop()].get("depends_on", {}):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    assert {"postgres", "minio", "minio-init", "hive-metastore", "airflow-init", "spark-master"} <= upstream(
        "airflow-scheduler")
    assert {"hive-metastore", "minio"} <= upstream("trino")
    assert "airflow-scheduler" not in upstream("airflow-scheduler")


# -- ports and .env ----------------------------------------------------------------------------------------
def test_published_ports_bind_to_loopback_by_default_and_follow_the_bind_address() -> None:
    published = [(name, port) for name, svc in services().items() for port in svc.get("ports", [])]
    assert len(published) >= 8
    for name, port in published:
        assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"
    moved = compose({"LAKEGLUE_BIND_ADDRESS": "0.0.0.0", "AIRFLOW_PORT": "18080"})["services"]
    assert moved["airflow-apiserver"]["ports"] == ["0.0.0.0:18080:8080"]


def test_env_example_names_every_variable_with_the_defaults_of_the_file() -> None:
    used = variables()
    example = env_example()
    assert set(example) == set(used), f"only in compose: {set(used) - set(example)}; " \
                                      f"only in .env.example: {set(example) - set(used)}"
    for name, default in used.items():
        assert default is not None, f"${{{name}}} has no default: the stack would not start without .env"
        assert example[name] == default, f"{name}: .env.example says {example[name]!r}, the file {default!r}"
    assert compose(example) == compose()
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


# -- the image and the configs agree --------------------------------------------------------------------------
def test_image_is_built_from_the_dockerfile_on_the_pinned_airflow() -> None:
    for name, svc in lakeglue_services().items():
        assert svc["build"] == {"context": ".", "dockerfile": "docker/Dockerfile"}, name
    for name, svc in services().items():
        if name not in lakeglue_services():
            assert ":" in svc["image"] and not svc["image"].endswith(":latest"), name
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pinned is not None
    text = DOCKERFILE.read_text()
    assert f"ARG AIRFLOW_IMAGE=apache/airflow:{pinned.group(1)}-python3.11" in text
    for step in ("requirements.txt", "--force-reinstall --no-deps", "pip install --no-cache-dir --no-deps -e",
                 "openjdk-17-jre-headless", "libpostgresql-jdbc-java"):
        assert step in text, step


def test_s3a_connector_matches_the_hadoop_that_pyspark_ships() -> None:
    import pyspark

    jars = [p.name for p in (Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar")]
    assert len(jars) == 1, jars
    hadoop = jars[0].removeprefix("hadoop-client-api-").removesuffix(".jar")
    assert f"ARG HADOOP_AWS_VERSION={hadoop}\n" in DOCKERFILE.read_text()


def test_spark_trino_and_metastore_configs_point_at_the_same_services() -> None:
    env = container_env(services()["airflow-scheduler"])
    spark_defaults = dict(line.split(None, 1) for line in
                          (ROOT / "docker" / "spark" / "spark-defaults.conf").read_text().splitlines()
                          if line.strip() and not line.startswith("#"))
    assert spark_defaults["spark.hadoop.fs.s3a.endpoint"].strip() == env["LAKEGLUE_AWS_ENDPOINT_URL"]
    assert spark_defaults["spark.hadoop.fs.s3.impl"].strip() == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    assert "EnvironmentVariableCredentialsProvider" in spark_defaults["spark.hadoop.fs.s3a.aws.credentials.provider"]
    trino = dict(line.split("=", 1) for line in
                 (ROOT / "docker" / "trino" / "catalog" / "lakeglue.properties").read_text().splitlines()
                 if line.strip() and not line.startswith("#"))
    assert trino["hive.metastore.uri"] == env["LAKEGLUE_CATALOG_URL"]
    assert trino["s3.endpoint"] == env["LAKEGLUE_AWS_ENDPOINT_URL"]
    trino_env = services()["trino"]["environment"]
    assert trino["s3.aws-access-key"] == "${ENV:AWS_ACCESS_KEY_ID}" and trino_env["AWS_ACCESS_KEY_ID"]
    hms = services()["hive-metastore"]
    assert hms["command"] == ["python", "/opt/lakeglue/docker/hive-metastore/start.py"]
    assert hms["environment"]["HMS_DB_NAME"] == "metastore"
    init = (ROOT / "docker" / "postgres-init.sh").read_text()
    for db, owner in (("airflow", "airflow"), ("lakeglue", "lakeglue"), ("metastore", "hive")):
        assert f"CREATE DATABASE {db} OWNER {owner};" in init
    assert hms["environment"]["HMS_DB_USER"] == "hive"


def test_mounted_paths_exist() -> None:
    for name, svc in services().items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    for command in ("docker/hive-metastore/start.py", "docker/spark/spark-defaults.conf", "docker/postgres-init.sh"):
        assert (ROOT / command).is_file(), command
