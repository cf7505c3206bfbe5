"""Alerts in the spec and their wiring into the DAG; alert messages; Data Lake link URLs."""

from __future__ import annotations

from typing import Any

import pytest

from lakeglue.pipelines.spec import SpecError, load_spec_data, spec_from_dict

pytestmark = pytest.mark.airflow

SMTP = {"type": "smtp", "conn_id": "lake_mail", "to": ["oncall@example.com"]}
SLACK = {"type": "slack_webhook", "conn_id": "lake_slack", "to": []}


def _demo_with(**changes: Any) -> dict[str, Any]:
    _, data = load_spec_data("ecommerce")
    return {**data, **changes}


@pytest.mark.parametrize(("target", "message"), [
    ({"type": "smtp", "conn_id": "m"}, "an smtp alert needs 'to'"),
    ({**SLACK, "to": ["x@example.com"]}, "a slack_webhook alert posts to its connection's webhook; drop 'to'"),
    ({"type": "pager", "conn_id": "p"}, "field alerts.on_failure.0.type"),
])
def test_bad_alert_targets_name_the_field(target: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        spec_from_dict(_demo_with(alerts={"on_failure": [target]}), check_files=False)


def test_alerts_become_failure_callbacks_of_every_task_and_a_success_callback_of_quality() -> None:
    from lakeglue_airflow.alerts import LakeAlertNotifier
    from lakeglue_airflow.factory import build_pipeline_dags

    dags = build_pipeline_dags(_demo_with(alerts={"on_failure": [SMTP, SLACK], "on_quality_warning": [SLACK]}))
    dag = dags["lakeglue_ecommerce"]
    for task in dag.tasks:
        (notifier,) = task.on_failure_callback
        assert isinstance(notifier, LakeAlertNotifier)
        assert (notifier.event, notifier.targets) == ("failure", [SMTP, SLACK])
    (warning,) = dag.get_task("quality").on_success_callback
    assert (warning.event, warning.targets) == ("quality_warning", [SLACK])
    assert not dag.get_task("gold").on_success_callback


def test_without_alerts_no_callbacks_are_added() -> None:
    from lakeglue_airflow.factory import build_pipeline_dags

    dag = build_pipeline_dags(_demo_with())["lakeglue_ecommerce"]
    assert all(not t.on_failure_callback and not t.on_success_callback for t in dag.tasks)


def test_failure_message_is_cut_to_a_readable_length_and_names_the_log() -> None:
    from lakeglue_airflow.alerts import MAX_ERROR_CHARS, failure_alert

    alert = failure_alert("lakeglue_shop", "silver", "manual__1", 2, "x" * (MAX_ERROR_CHARS + 10), "https://a/r",
                          "https://a/log")
    assert alert.subject == "[lakeglue] lakeglue_shop: task silver failed"
    assert alert.text.splitlines() == [
        "Task silver of lakeglue_shop failed in run manual__1 (try 2).",
        f"Error: {'x' * MAX_ERROR_CHARS}… (10 more characters in the task log)",
        "Run report: https://a/r", "Task log: https://a/log"]
    assert '<a href="https://a/r">Run report</a>' in alert.html


def test_no_quality_warning_alert_when_no_warning_rule_failed() -> None:
    from lakeglue_airflow.alerts import quality_warning_alert

    results = [{"table": "s.a", "warnings": 0, "summary": "s on s.a: all 3 rules passed"}]
    assert quality_warning_alert("d", "r", results, "u") is None
    two = quality_warning_alert("d", "r", [*results, {"table": "s.b", "warnings": 2, "summary": "s on s.b: 2 of 3"}],
                                "u")
    assert two is not None and two.subject == "[lakeglue] d: 2 quality warnings in run r"
    assert "s on s.b: 2 of 3" in two.text and "s.a" not in two.text


def test_link_paths_escape_run_ids_and_data_docs_pages_stay_inside_the_site() -> None:
    from lakeglue_airflow.links import data_docs_path, query_path, run_path, table_path

    assert run_path("lakeglue_shop", "manual__2026-12-07T22:00:00+00:00") == (
        "/lakeglue/runs/lakeglue_shop/manual__2026-12-07T22%3A00%3A00%2B00%3A00")
    assert table_path("shop_gold", "daily") == "/lakeglue/tables/shop_gold/daily"
    assert query_path("0f1e") == "/lakeglue/queries/0f1e"
    index = "/lake/results/data_docs/index.html"
    page = "/lake/results/data_docs/validations/suite/manual__1+00:00/2026/batch.html"
    assert data_docs_path(page, index) == (
        "/lakeglue/datadocs/validations/suite/manual__1%2B00%3A00/2026/batch.html")
    assert data_docs_path(index, index) == "/lakeglue/datadocs/index.html"
    assert data_docs_path("/elsewhere/x.html", index) == "/lakeglue/datadocs/index.html"
