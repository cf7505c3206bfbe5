"""``lakeglue quality ...``: check a suite against its table, lint suite files, read the history.

Kept here rather than in ``lakeglue/cli.py`` so the quality gate owns its command line; the
main CLI only registers it. Exit codes: 0 passed (warnings allowed), 1 an ``error`` rule
failed, 2 bad input (the main CLI prints the SuiteError naming file, line and rule).
"""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any


def add_parser(sub: Any) -> None:
    """Register ``quality check|lint|history`` on the main CLI's subparsers."""
    p = sub.add_parser("quality", help="data quality: check a suite, lint suite files, show the history")
    actions = p.add_subparsers(dest="action", required=True)

    c = actions.add_parser("check", help="validate a suite file against its catalog table")
    c.add_argument("suite_file")
    c.add_argument("--table", help="DATABASE.TABLE (default: the table the pipeline specs use the suite for)")
    c.add_argument("--run-id", default=None)
    c.add_argument("--no-quarantine", action="store_true", help="do not write failing rows to quarantine")
    c.add_argument("--no-data-docs", action="store_true", help="do not render GX Data Docs")
    c.add_argument("--json", action="store_true", help="print the full result as JSON")
    c.set_defaults(func=cmd_check)

    lint = actions.add_parser("lint", help="parse suite files and build their GX expectations (no data read)")
    lint.add_argument("suite_files", nargs="+")
    lint.set_defaults(func=cmd_lint)

    h = actions.add_parser("history", help="recorded results, oldest first")
    h.add_argument("--table", help="qualified table name (DATABASE.TABLE)")
    h.add_argument("--run-id")
    h.add_argument("--limit", type=int, default=50, help="show the last N rows (default 50, 0 = all)")
    h.add_argument("--json", action="store_true")
    h.set_defaults(func=cmd_history)


def cmd_check(args: argparse.Namespace) -> int:
    from lakeglue.catalog import open_catalog
    from lakeglue.quality.runner import GateOptions, run_suite_file
    from lakeglue.settings import get_settings

    settings = get_settings()
    options = GateOptions(data_docs=not args.no_data_docs, quarantine=not args.no_quarantine)
    run_id = args.run_id or f"cli__{uuid.uuid4().hex[:12]}"
    result = run_suite_file(args.suite_file, open_catalog(settings), settings, run_id, table=args.table,
                            options=options)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.summary())
        if result.quarantine_location:
            print(f"quarantined {result.rows_quarantined} failing row records: {result.quarantine_location}")
        if result.data_docs_page:
            print(f"Data Docs: {result.data_docs_page}")
    return 0 if result.success else 1


def cmd_lint(args: argparse.Namespace) -> int:
    from lakeglue.quality.gx_engine import build_expectations
    from lakeglue.quality.suite import load_suite

    for path in args.suite_files:
        suite = load_suite(path)
        build_expectations(suite)  # GX's own kwarg checks
        print(f"{path}: ok, {len(suite.expectations)} checks for table {suite.table}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from lakeglue.quality.history import history
    from lakeglue.settings import get_settings

    rows = history(get_settings().catalog_url, table=args.table, run_id=args.run_id)
    if args.limit:
        rows = rows[-args.limit:]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for r in rows:
        mark = "PASS" if r["success"] else ("FAIL" if r["severity"] == "error" else "WARN")
        check = r["rule_text"] or (f"{r['rule']}({r['column']})" if r["column"] else r["rule"])
        seen = (f"observed={json.dumps(r['observed_value'])}" if r["observed_value"] is not None
                else f"unexpected={r['unexpected_count']}")
        print(f"{r['evaluated_at']:%Y-%m-%d %H:%M:%S} {r['run_id']} {mark:4} {r['table']} {check}  {seen}")
    print(f"{len(rows)} rows")
    return 0
