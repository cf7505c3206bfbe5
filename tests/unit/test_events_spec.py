"""The ``events:`` section of a pipeline spec: defaults, and bad values named by field."""

from __future__ import annotations

from typing import Any

import pytest

from lakeglue.pipelines.spec import EventSpec, SpecError, spec_from_dict


def spec(events: dict[str, Any]) -> Any:
    return spec_from_dict({"name": "shop", "database": "shop", "source": {"prefix": "shop"},
                           "bronze": {"orders": {"format": "json"}}, "events": events},
                          source="shop.yml", check_files=False)


def test_defaults_are_a_polling_watch_with_a_quiet_period() -> None:
    assert spec({"enabled": True}).events == EventSpec(
        enabled=True, mode="poll", poll_seconds=10.0, min_files=None, quiet_seconds=10.0, max_wait_seconds=300.0,
        max_files=1000, reannounce_after_seconds=900.0, queue_url=None, aws_conn_id="aws_default",
        reconcile_seconds=600.0, engines={})


def test_event_engines_override_only_the_jobs_they_name() -> None:
    pipeline = spec_from_dict({"name": "shop", "database": "shop", "source": {"prefix": "shop"},
                               "bronze": {"orders": {"format": "json"}},
                               "engines": {"bronze": "duckdb", "silver": "spark", "gold": "spark"},
                               "events": {"enabled": True, "engines": {"silver": "auto"}}},
                              source="shop.yml", check_files=False)
    assert pipeline.engines_for(event=False) == pipeline.engines
    assert pipeline.engines_for(event=True).model_dump() == {"bronze": "duckdb", "silver": "auto", "gold": "spark"}


def test_sqs_mode_takes_a_queue() -> None:
    events = spec({"enabled": True, "mode": "sqs", "queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q",
                   "reconcile_seconds": None}).events
    assert (events.mode, events.queue_url, events.reconcile_seconds) == (
        "sqs", "https://sqs.eu-west-1.amazonaws.com/1/q", None)


@pytest.mark.parametrize(("events", "message"), [
    ({"mode": "sqs"}, "field events: Value error, mode 'sqs' needs queue_url"),
    ({"queue_url": "https://q"}, "field events: Value error, queue_url is only used with mode 'sqs'"),
    ({"mode": "kafka"}, "field events.mode: Input should be 'poll' or 'sqs'"),
    ({"poll_seconds": 0}, "field events.poll_seconds: Input should be greater than 0"),
    ({"min_files": 0}, "field events.min_files: Input should be greater than or equal to 1"),
    ({"quiet_seconds": 60, "max_wait_seconds": 30},
     r"field events: Value error, max_wait_seconds \(30.0\) is shorter than quiet_seconds \(60.0\)"),
    ({"min_files": 20, "max_files": 10}, r"field events: Value error, min_files \(20\) exceeds max_files \(10\)"),
    ({"quiet": 5}, "field events.quiet: Extra inputs are not permitted"),
    ({"engines": {"silver": "flink"}}, "field events.engines.silver: Input should be 'spark', 'duckdb' or 'auto'"),
    ({"engines": {"queries": "duckdb"}}, "field events.engines.queries.\\[key\\]: Input should be 'bronze'"),
])
def test_bad_event_settings_name_the_file_and_field(events: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=f"shop.yml: {message}"):
        spec({"enabled": True, **events})
