"""Every place SQL runs goes through one translator (:mod:`lakeglue.sql`); a second path fails here.

Issue 17 found gold jobs and silver expressions translating with a plain ``sqlglot``
transpile while the query layer used the Trino-semantics one, so the same SQL gave other
values and types per entry point. This scans the project's source for the ways a second
path would appear — ``transpile`` calls, generating engine SQL from a tree outside
:mod:`lakeglue.sql`, the old helpers — and checks that each engine and job calls the
translator. Type names (``exp.DataType.build(…).sql(dialect=…)``) are not statements and
are allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lakeglue.sql import translate, translate_expression

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for folder in ("include", "plugins", "dags", "bench") for p in (ROOT / folder).rglob("*.py")]
TRANSLATOR = ROOT / "include" / "lakeglue" / "sql"
#: Dialects a tree may be printed in outside the translator: the source dialect, catalog (Hive) type names,
#: and Athena's Hive-style DDL (query/ddl.py echoes the user's own DDL text in messages and names).
SOURCE_DIALECTS = {"trino", "hive", "SOURCE_DIALECT", "athena", "DDL_DIALECT"}
#: Modules that run SQL on an engine, and the translator function each must call.
CALL_SITES = {
    "include/lakeglue/query/duckdb_engine.py": "translate_query",
    "include/lakeglue/query/trino_engine.py": "translate_query",
    "include/lakeglue/query/athena.py": "translate_query",
    "include/lakeglue/query/spark_sql.py": "translate_query",
    "include/lakeglue/jobs/duckdb/gold.py": "translate",
    "include/lakeglue/jobs/spark/gold.py": "translate",
    "include/lakeglue/jobs/duckdb/silver.py": "translate_expression",
    "include/lakeglue/jobs/spark/silver.py": "translate_expression",
}
OLD_HELPERS = {"transpile", "transpile_expression"}
#: Modules that rewrite SQL the translator already produced for one engine, in that engine's own dialect
#: (parsed and printed in the same dialect, so no Trino semantics can be decided there), and why.
ENGINE_REWRITES = {
    "include/lakeglue/query/text_casts.py": ("duckdb", "CTAS: parses narrowing decimal casts straight from the text"),
}


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _dialect_argument(call: ast.Call) -> str | None:
    """The dialect a ``.sql(…)`` call prints in, as written (a literal or a name)."""
    for keyword in call.keywords:
        if keyword.arg == "dialect":
            value = keyword.value
            return value.value if isinstance(value, ast.Constant) else ast.unparse(value)
    first = call.args[0] if call.args else None  # con.sql("SELECT …") runs SQL; tree.sql("duckdb") prints it
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.isidentifier():
        return first.value
    return None


def _prints_type(call: ast.Call) -> bool:
    """``exp.DataType.build(…).sql(…)``: a type spelling, not a statement."""
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    return isinstance(receiver, ast.Call) and "DataType" in ast.unparse(receiver.func)


def second_paths(path: Path) -> list[str]:
    """Lines of ``path`` that translate SQL for an engine without :mod:`lakeglue.sql`.

    A module in :data:`ENGINE_REWRITES` may print its engine's dialect, but every parse in it
    must read that same dialect: a parse of Trino SQL there would be a second translator.
    """
    relative = path.relative_to(ROOT).as_posix()
    rewrite_dialect = ENGINE_REWRITES.get(relative, (None, ""))[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = _called_name(node)
        where = f"{relative}:{node.lineno}"
        if name in OLD_HELPERS:
            found.append(f"{where} calls {name}()")
        elif name == "sql" and isinstance(node.func, ast.Attribute) and not _prints_type(node):
            dialect = _dialect_argument(node)
            if dialect is not None and dialect not in SOURCE_DIALECTS and dialect != rewrite_dialect:
                found.append(f"{where} prints SQL for {dialect}")
        elif rewrite_dialect and name in {"parse_one", "parse"}:
            read = next((k.value for k in node.keywords if k.arg in {"dialect", "read"}), None)
            if not (isinstance(read, ast.Constant) and read.value == rewrite_dialect):
                found.append(f"{where} parses SQL other than {rewrite_dialect} in an engine rewrite")
    return found


def test_no_second_translation_path() -> None:
    outside = [p for p in SOURCES if TRANSLATOR not in p.parents]
    assert outside, "the scan found no source files"
    assert [line for p in outside for line in second_paths(p)] == []


def test_engine_rewrites_only_read_their_own_dialect(monkeypatch: pytest.MonkeyPatch) -> None:
    """The allowance is not a loophole: a rewrite module may print its engine's SQL, nothing else."""
    for module in ENGINE_REWRITES:
        assert "parse_one(" in (ROOT / module).read_text(), f"{module} no longer rewrites SQL: drop its allowance"
    probe = ROOT / "include" / "lakeglue" / "_sneaky_rewrite_probe.py"
    monkeypatch.setitem(ENGINE_REWRITES, "include/lakeglue/_sneaky_rewrite_probe.py", ("duckdb", "probe"))
    probe.write_text("import sqlglot\n"
                     "a = sqlglot.parse_one('SELECT 1', dialect='duckdb').sql(dialect='duckdb')\n"
                     "b = sqlglot.parse_one('SELECT 1', dialect='trino').sql(dialect='spark')\n")
    try:
        assert sorted(line.split(" ", 1)[1] for line in second_paths(probe)) == [
            "parses SQL other than duckdb in an engine rewrite", "prints SQL for spark"]
    finally:
        probe.unlink()


def test_the_scan_catches_a_second_path(tmp_path: Path) -> None:
    """The guard is not vacuous: each way of translating on the side is reported."""
    sneaky = ROOT / "include" / "lakeglue" / "_sneaky_probe.py"
    sneaky.write_text("import sqlglot\nfrom sqlglot import exp\n"
                      "a = sqlglot.transpile('SELECT 1', read='trino', write='duckdb')\n"
                      "b = sqlglot.parse_one('SELECT 1').sql(dialect='spark')\n"
                      "c = exp.DataType.build('int').sql(dialect='duckdb')\n")
    try:
        assert [line.split(" ", 1)[1] for line in second_paths(sneaky)] == ["calls transpile()",
                                                                           "prints SQL for spark"]
    finally:
        sneaky.unlink()


@pytest.mark.parametrize(("module", "function"), sorted(CALL_SITES.items()))
def test_engines_and_jobs_call_the_translator(module: str, function: str) -> None:
    tree = ast.parse((ROOT / module).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and node.module == "lakeglue.sql" for alias in node.names}
    called = {_called_name(node) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert function in imported and function in called, f"{module} must run its SQL through lakeglue.sql.{function}"


def test_trino_and_athena_get_the_statement_unchanged() -> None:
    sql = "SELECT day_of_week(dt), 7 / 2 FROM shop.orders ORDER BY 1"
    assert translate(sql, "trino") == sql
    assert translate(sql, "athena") == sql
    assert translate_expression("7 / 2", "athena") == "7 / 2"


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="engine 'postgres'"):
        translate("SELECT 1", "postgres")


def test_silver_expressions_get_trino_semantics_from_column_types() -> None:
    """The silver ``expr`` path: integer division and integer casts of text behave as in Trino."""
    assert translate_expression("qty / 2", "duckdb", {"qty": "INTEGER"}) == 'CAST("qty" // 2 AS INT)'
    assert translate_expression("qty / 2", "spark", {"qty": "int"}) == "CAST(`qty` DIV 2 AS INT)"
    assert translate_expression("upper(trim(name))", "spark") == "UPPER(TRIM(name))"  # untyped: still translated
    assert translate_expression("item.product_id", "spark") == "item.product_id"  # a struct field stays one
    assert translate_expression("item.qty / 2", "duckdb", {"item": "STRUCT(qty INTEGER)"}).startswith("CAST(")
    assert "REGEXP_MATCHES(\"code\"" in translate_expression("TRY_CAST(code AS integer)", "duckdb", {"code": "VARCHAR"})
    assert "RLIKE" in translate_expression("TRY_CAST(code AS integer)", "spark", {"code": "string"})
