"""The shared record rules: names, null markers, encodings, the accounting invariant, job summaries."""

from __future__ import annotations

import pytest

from lakeglue import records
from lakeglue.jobs.metrics import JobMetrics, TableMetrics


def test_safe_names_keep_plain_names_and_rename_the_rest_deterministically() -> None:
    raw = ["id", 'a"b', "a b", "A_B", "1st", "ключ", "", "customerId"]
    assert records.safe_names(raw) == ["id", "a_b", "a_b_2", "A_B_3", "_1st", "col5", "col6", "customerId"]
    assert records.safe_names(raw) == records.safe_names(list(raw))  # same input, same columns


def test_original_names_round_trip() -> None:
    params = records.encode_original_names({"payload.a_b": 'a"b', "x_y": "x y"})
    assert records.original_names(params) == {"payload.a_b": 'a"b', "x_y": "x y"}
    assert records.encode_original_names({}) == {}
    assert records.original_names({}) == {}


def test_null_markers_override_then_list_then_hive_marker() -> None:
    params = records.encode_null_markers(["", "NA", "\\N"])
    assert params[records.NULL_FORMAT_PARAM] == "NA"
    assert records.null_markers(params) == ("", "NA", "\\N")
    assert records.null_markers({records.NULL_FORMAT_PARAM: "-"}) == ("-",)
    assert records.null_markers(params, override=["null"]) == ("null",)
    assert records.null_markers({}) == ()


def test_encodings_are_normalised_and_unknown_ones_refused() -> None:
    assert records.table_encoding({}) == "UTF-8"
    assert records.table_encoding({records.ENCODING_PARAM: "latin1"}) == "ISO-8859-1"
    assert records.table_encoding({records.ENCODING_PARAM: "latin1"}, override="cp1252") == "WINDOWS-1252"
    with pytest.raises(LookupError):
        records.normalise_encoding("no-such-codec")


def test_bronze_account_fails_when_a_record_is_missing() -> None:
    records.BronzeAccount(files_claimed=3, files_quarantined=1, records_read=10, rows_written=8,
                          records_quarantined=2).check("db.t")
    with pytest.raises(records.AccountingError, match="10 records read != 8 rows written \\+ 1 quarantined"):
        records.BronzeAccount(files_claimed=3, files_quarantined=0, records_read=10, rows_written=8,
                              records_quarantined=1).check("db.t")


def test_silver_account_counts_duplicates() -> None:
    records.SilverAccount(bronze_rows=10, silver_rows=6, quarantined=1, duplicates=3).check("db.t")
    with pytest.raises(records.AccountingError, match="nothing committed"):
        records.SilverAccount(bronze_rows=10, silver_rows=6, quarantined=1, duplicates=2).check("db.t")


def test_reasons_name_the_rule_and_keep_bytes() -> None:
    assert records.undecodable("UTF-8", 7) == "undecodable: not valid UTF-8 at byte 7"
    assert records.escape_bytes(b'{"a": "caf\xe9"}') == '{"a": "caf\\xe9"}'
    assert "21 bytes over the limit of 20 bytes" in records.record_too_large(21, 20)
    before, after = records.invalid_value_parts("day", "date")
    assert before + "0000-01-01" + after == "column day: value '0000-01-01' is not a valid date"


def test_job_summary_reports_duplicates_and_whole_files() -> None:
    metrics = JobMetrics("silver", "p", "b1", tables=[
        TableMetrics("db.t", rows_read=10, rows_written=6, rows_quarantined=1, rows_duplicate=3, files_read=2,
                     files_quarantined=1)])
    assert metrics.summary().splitlines()[1] == (
        "  db.t: read 10 rows from 2 files, wrote 6, quarantined 1, dropped 3 duplicates, "
        "quarantined 1 whole files (unreadable)")
