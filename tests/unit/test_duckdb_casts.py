"""Silver's text → date/timestamp casts on DuckDB: years outside 1..9999 are not valid values."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from lakeglue.jobs.duckdb.casts import try_cast
from lakeglue.jobs.duckdb.session import connect
from lakeglue.jobs.duckdb.types import quote_literal
from lakeglue.settings import Settings


def _cast(tmp_path: object, text: str, target: str) -> object:
    con = connect(Settings(duckdb_temp_directory=str(tmp_path)))
    try:
        row = con.execute(f"SELECT {try_cast(quote_literal(text), 'VARCHAR', target)}").fetchone()
    finally:
        con.close()
    assert row is not None
    return row[0]


@pytest.mark.parametrize("text", ["0000-01-01", "10000-01-01", "0000-1-1", "10000-01", "10000", "-0001-01-01",
                                  "+10000-01-01", "0000-01-01T00:00:00"])
def test_dates_outside_years_1_to_9999_are_invalid(tmp_path: object, text: str) -> None:
    """DuckDB reads '0000-01-01' as 1 BC and '10000-01-01' as itself; silver must give NULL (quarantine)."""
    assert _cast(tmp_path, text, "date") is None


@pytest.mark.parametrize(("text", "expected"), [("0001-01-01", date(1, 1, 1)), ("9999-12-31", date(9999, 12, 31)),
                                                ("1500-06-15", date(1500, 6, 15)), ("0001-1", date(1, 1, 1)),
                                                (" 9999-12-31T23:00 ", date(9999, 12, 31))])
def test_dates_at_the_edges_of_the_range_are_valid(tmp_path: object, text: str, expected: date) -> None:
    assert _cast(tmp_path, text, "date") == expected


@pytest.mark.parametrize("text", ["0000-01-01 00:00:00", "10000-01-01 00:00:00", "0000-06-01T12:00Z",
                                  "0001-01-01 00:30:00+01:00", "9999-12-31 23:30:00-01:00"])
def test_timestamps_outside_years_1_to_9999_are_invalid(tmp_path: object, text: str) -> None:
    """Also when the zone moves an in-range local time out of the range in UTC."""
    assert _cast(tmp_path, text, "timestamp") is None


@pytest.mark.parametrize(("text", "expected"), [("0001-01-01 00:00:00", datetime(1, 1, 1)),
                                                ("9999-12-31 23:59:59", datetime(9999, 12, 31, 23, 59, 59)),
                                                ("0001-01-01 01:30:00+01:00", datetime(1, 1, 1, 0, 30))])
def test_timestamps_at_the_edges_of_the_range_are_valid(tmp_path: object, text: str, expected: datetime) -> None:
    assert _cast(tmp_path, text, "timestamp") == expected
