"""``values_sql``: Python values as literal DuckDB rows, so jobs never bind parameters (which imports pandas)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lakeglue.jobs.duckdb.types import values_sql


def test_values_round_trip_quotes_nulls_and_integers() -> None:
    import duckdb

    rows = [(1, "it's", None), (2, "a\\b \"c\" ☃", "x'); DROP TABLE t; --")]
    sql = values_sql(rows, ("INTEGER", "VARCHAR", "VARCHAR"))
    assert duckdb.connect().execute(f"SELECT * FROM ({sql}) ORDER BY 1").fetchall() == [tuple(r) for r in rows]


def test_all_null_column_keeps_its_type() -> None:
    import duckdb

    rel = duckdb.connect().sql(f"SELECT * FROM ({values_sql([(None,)], ('VARCHAR',))})")
    assert [str(t) for t in rel.types] == ["VARCHAR"]


@pytest.mark.parametrize("bad", [1.5, True, b"x"])
def test_other_python_types_are_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="values_sql takes"):
        values_sql([(bad,)], ("VARCHAR",))  # type: ignore[list-item]


def test_rows_must_match_the_columns() -> None:
    with pytest.raises(ValueError, match="2 values for 1 columns"):
        values_sql([("a", "b")], ("VARCHAR",))
    with pytest.raises(ValueError, match="at least one row"):
        values_sql([], ("VARCHAR",))


def test_a_job_connection_and_file_table_do_not_import_pandas(tmp_path: object) -> None:
    """Binding Python values goes through DuckDB's pandas-aware conversion: a second of import per job."""
    code = (
        "import sys\n"
        "from lakeglue.jobs.duckdb.session import connect\n"
        "from lakeglue.jobs.duckdb.types import values_sql\n"
        "from lakeglue.settings import Settings\n"
        f"con = connect(Settings(lake_root={str(tmp_path)!r}, duckdb_temp_directory={str(tmp_path)!r}))\n"
        "con.execute('CREATE TABLE f AS SELECT * FROM (' + values_sql([(0, '/a', 'file:///a')], "
        "('INTEGER', 'VARCHAR', 'VARCHAR')) + ') AS f(file_id, path, uri)')\n"
        "print('pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
