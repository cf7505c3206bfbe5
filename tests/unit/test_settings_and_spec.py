"""Profile selection by one setting, and pipeline specs that fail loudly with file + field."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeglue.pipelines.spec import SpecError, load_pipeline
from lakeglue.settings import Settings, SettingsError, load_settings


def test_embedded_is_the_default_profile_with_a_sqlite_catalog_in_the_lake(tmp_path: Path) -> None:
    settings = load_settings({"LAKEGLUE_HOME": str(tmp_path / "lake"), "LAKEGLUE_CONFIG": ""})
    assert settings.profile == "embedded"
    assert settings.catalog_url == f"sqlite:///{tmp_path / 'lake' / 'catalog.db'}"
    assert settings.zone_root("quarantine") == f"{tmp_path / 'lake'}/quarantine"


def test_env_overrides_config_file_and_config_file_overrides_defaults(tmp_path: Path) -> None:
    config = tmp_path / "lakeglue.yaml"
    config.write_text("profile: compose\nspark_master: spark://master:7077\nstaging_ttl_days: 3\n")
    settings = load_settings({"LAKEGLUE_CONFIG": str(config), "LAKEGLUE_STAGING_TTL_DAYS": "9",
                              "LAKEGLUE_CATALOG_URL": "postgresql+psycopg://u@h/db"})
    assert (settings.profile, settings.spark_master, settings.staging_ttl_days) == (
        "compose", "spark://master:7077", 9)
    assert settings.catalog_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(("env", "message"), [
    ({"LAKEGLUE_PROFILE": "cloudy"},
     "LAKEGLUE_PROFILE='cloudy' is not a profile; choose one of embedded, compose, aws"),
    ({"LAKEGLUE_STAGING_TTL_DAYS": "soon"}, "LAKEGLUE_STAGING_TTL_DAYS='soon' must be an integer"),
    ({"LAKEGLUE_CONFIG": "/nonexistent/lakeglue.yaml"}, "LAKEGLUE_CONFIG points to /nonexistent/lakeglue.yaml"),
])
def test_bad_settings_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env)
    assert message in str(err.value)


def test_unknown_setting_in_config_file_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "lakeglue.yaml"
    config.write_text("profil: aws\n")
    with pytest.raises(SettingsError, match=r"unknown settings \['profil'\]"):
        load_settings({"LAKEGLUE_CONFIG": str(config)})


def test_unknown_zone_is_an_error() -> None:
    with pytest.raises(SettingsError, match="unknown zone 'gold'"):
        Settings(lake_root="/tmp/x").zone_root("gold")


def test_demo_spec_loads_with_layer_databases() -> None:
    spec = load_pipeline("ecommerce")
    assert [spec.database_for(layer) for layer in ("raw", "bronze", "silver", "gold")] == [
        "ecommerce_raw", "ecommerce_bronze", "ecommerce_silver", "ecommerce_gold"]
    assert list(spec.silver) == ["customers", "orders", "order_items", "products"]
    assert spec.silver["order_items"].explode is not None


def _write_spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    return path


BASE = """
name: shop
database: shop
source: {prefix: shop}
bronze:
  orders: {format: json}
"""


@pytest.mark.parametrize(("extra", "message"), [
    ("silver:\n  orders: {from: nope, key: [id], columns: {id: {type: bigint}}}\n",
     "silver.orders.from is 'nope', not a bronze table (bronze tables: ['orders'])"),
    ("silver:\n  orders: {from: orders, key: [missing], columns: {id: {type: bigint}}}\n",
     "field silver.orders: Value error, key names ['missing'], which are not in columns"),
    ("schedul: '@daily'\n", "field schedul: Extra inputs are not permitted"),
    ("gold:\n  g: {sql: gold/nope.sql}\n", "gold.g.sql:"),
])
def test_bad_spec_names_file_and_field(tmp_path: Path, extra: str, message: str) -> None:
    path = _write_spec(tmp_path, BASE + extra)
    with pytest.raises(SpecError) as err:
        load_pipeline(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_bronze_format_must_be_known(tmp_path: Path) -> None:
    path = _write_spec(tmp_path, BASE.replace("format: json", "format: xlsx"))
    expected = r"field bronze\.orders\.format: Input should be 'csv', 'json', 'parquet' or 'jdbc'"
    with pytest.raises(SpecError, match=expected):
        load_pipeline(path)


def test_unknown_pipeline_lists_the_known_ones() -> None:
    with pytest.raises(SpecError, match=r"known pipelines: ecommerce"):
        load_pipeline("nope")
