"""Custom silver steps: the spec rules (engine-specific steps vs ``engines.silver``), finding the
functions (clear errors naming the step), and shipping the ``pipeline_steps`` package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from lakeglue.jobs.custom_steps import StepError, check_columns, resolve, resolve_all
from lakeglue.pipelines.spec import SilverStepSpec, SpecError, spec_from_dict

SPARK_FN = "pipeline_steps.ecommerce:flag_big_orders_spark"
DUCKDB_FN = "pipeline_steps.ecommerce:flag_big_orders_duckdb"


def _spec(steps: list[dict[str, Any]], silver_engine: str | None = None) -> Any:
    data: dict[str, Any] = {
        "name": "shop", "database": "shop", "source": {"prefix": "shop"}, "bronze": {"orders": {"format": "json"}},
        "silver": {"orders": {"from": "orders", "key": ["order_id"], "order_by": ["updated_at"],
                              "columns": {"order_id": {"type": "bigint"}, "updated_at": {"type": "timestamp"}},
                              "steps": steps}}}
    if silver_engine:
        data["engines"] = {"silver": silver_engine}
    return spec_from_dict(data, source="shop.yml", check_files=False)


@pytest.mark.parametrize("step,engine,missing", [
    ({"name": "flag", "spark": SPARK_FN}, "duckdb", "duckdb"),
    ({"name": "flag", "duckdb": DUCKDB_FN}, "spark", "spark"),
    ({"name": "flag", "duckdb": DUCKDB_FN}, None, "spark"),  # the default engine is spark
    ({"name": "flag", "spark": SPARK_FN}, "auto", "duckdb"),
    ({"name": "flag", "duckdb": DUCKDB_FN}, "auto", "spark"),
])
def test_engine_specific_step_must_match_engines_silver(step: dict[str, Any], engine: str | None,
                                                        missing: str) -> None:
    with pytest.raises(SpecError) as info:
        _spec([step], engine)
    message = str(info.value)
    assert "shop.yml" in message and "silver.orders.steps.flag" in message
    assert f"has no {missing} function" in message
    assert f"engines.silver is {engine or 'spark'}" in message


def test_steps_valid_for_their_engine_are_accepted_and_marked_engine_specific() -> None:
    spark_only = _spec([{"name": "flag", "spark": SPARK_FN}], "spark")
    assert spark_only.silver["orders"].steps[0].engines == ("spark",)
    assert _spec([{"name": "flag", "duckdb": DUCKDB_FN}], "duckdb").silver["orders"].steps[0].engines == ("duckdb",)
    both = _spec([{"name": "flag", "spark": SPARK_FN, "duckdb": DUCKDB_FN}], "auto")
    assert both.silver["orders"].steps[0].engines == ("spark", "duckdb")
    assert both.silver["orders"].steps_missing("duckdb") == []


@pytest.mark.parametrize("steps,message", [
    ([{"name": "flag"}], "needs a function for at least one engine"),
    ([{"name": "flag", "spark": "my_steps.x:fn"}], "is not 'pipeline_steps.<module>:<function>'"),
    ([{"name": "flag", "spark": "pipeline_steps.ecommerce"}], "is not 'pipeline_steps.<module>:<function>'"),
    ([{"name": "Flag", "spark": SPARK_FN}], "must be a lower-case identifier"),
    ([{"name": "flag", "spark": SPARK_FN}, {"name": "flag", "spark": SPARK_FN}], "repeated: ['flag']"),
    ([{"name": "flag", "spark": SPARK_FN, "pandas": "pipeline_steps.x:y"}], "Extra inputs are not permitted"),
])
def test_bad_steps_are_rejected_naming_the_field(steps: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(SpecError) as info:
        _spec(steps, "spark")
    assert message in str(info.value)
    assert "silver.orders" in str(info.value) and "steps" in str(info.value)


def test_run_start_check_names_table_step_and_engine_when_the_spec_is_used_on_the_other_engine() -> None:
    spec = _spec([{"name": "flag", "spark": SPARK_FN}], "spark")
    assert [step.name for step, _ in resolve_all(spec, "spark")["orders"]] == ["flag"]
    with pytest.raises(StepError, match=r"silver\.orders\.steps\.flag has no duckdb function .*spark-specific"):
        resolve_all(spec, "duckdb")


@pytest.fixture()
def extra_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder whose modules import as ``pipeline_steps.<name>`` (for broken step modules)."""
    import pipeline_steps

    monkeypatch.setattr(pipeline_steps, "__path__", [*pipeline_steps.__path__, str(tmp_path)])
    return tmp_path


def _step(path: str) -> SilverStepSpec:
    return SilverStepSpec(name="flag", spark=path)


@pytest.mark.parametrize("path,message", [
    ("pipeline_steps.no_such_module:fn", "module 'pipeline_steps.no_such_module' not found"),
    ("pipeline_steps.ecommerce:no_such_function", "module 'pipeline_steps.ecommerce' has no attribute "
                                                   "'no_such_function'"),
    ("pipeline_steps.ecommerce:BIG_ORDER_AMOUNT", "is a int, not callable"),
])
def test_bad_function_paths_give_clear_errors(path: str, message: str) -> None:
    with pytest.raises(StepError) as info:
        resolve("orders", _step(path), "spark")
    assert str(info.value).startswith(f"silver.orders.steps.flag: spark function {path!r}")
    assert message in str(info.value)


def test_a_step_module_failing_to_import_is_not_reported_as_missing(extra_steps: Path) -> None:
    (extra_steps / "broken_imports.py").write_text("import no_such_library_for_steps\n")
    (extra_steps / "raises.py").write_text("raise RuntimeError('bad config')\n")
    with pytest.raises(StepError, match=r"importing 'pipeline_steps\.broken_imports' failed: No module named "
                                        r"'no_such_library_for_steps'"):
        resolve("orders", _step("pipeline_steps.broken_imports:fn"), "spark")
    with pytest.raises(StepError, match=r"importing 'pipeline_steps\.raises' failed: RuntimeError: bad config"):
        resolve("orders", _step("pipeline_steps.raises:fn"), "spark")


def test_resolve_finds_the_example_functions() -> None:
    import pipeline_steps.ecommerce as example

    assert resolve("orders", _step(SPARK_FN), "spark") is example.flag_big_orders_spark


def test_result_columns_keep_what_silver_needs() -> None:
    spec = _spec([{"name": "flag", "spark": SPARK_FN}], "spark")
    ts, step = spec.silver["orders"], spec.silver["orders"].steps[0]
    lineage = ["_source_file", "_batch_id", "_line", "_ingested_at"]
    check_columns("orders", step, "spark", ts, ["order_id", "updated_at", "extra", *lineage])
    with pytest.raises(StepError, match=r"silver\.orders\.steps\.flag \(spark\) dropped column\(s\) "
                                        r"\['updated_at', '_line'\]"):
        check_columns("orders", step, "spark", ts, ["order_id", "_source_file", "_batch_id", "_ingested_at"])
    with pytest.raises(StepError, match=r"'__rn'.*reserved"):
        check_columns("orders", step, "spark", ts, ["order_id", "updated_at", "__rn", *lineage])


def test_code_zip_ships_the_steps_package_importable_on_its_own(tmp_path: Path) -> None:
    from lakeglue.jobs.packaging import STEPS_DIR, build_code_zip

    code = build_code_zip(tmp_path / "dist")
    names = zipfile.ZipFile(code).namelist()
    assert {"pipeline_steps/__init__.py", "pipeline_steps/ecommerce.py", "lakeglue/jobs/custom_steps.py"} <= set(names)
    assert sorted(n for n in names if n.startswith("pipeline_steps/")) == sorted(
        f"pipeline_steps/{p.relative_to(STEPS_DIR).as_posix()}" for p in STEPS_DIR.rglob("*.py"))
    script = ("import pipeline_steps.ecommerce as m, lakeglue\n"
              "assert '.zip' in m.__file__ and '.zip' in lakeglue.__file__, (m.__file__, lakeglue.__file__)\n"
              "print(m.band(__import__('decimal').Decimal('150')))\n")
    out = subprocess.run([sys.executable, "-S", "-c", script], env={**os.environ, "PYTHONPATH": str(code)},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "large"
