"""A table's quality history as a grid: one row per rule, one column per run, pass/fail/warn.

The history table holds one row per rule per run (:mod:`lakeglue.quality.history`); the
page draws it as a small SVG chart, so a rule that started failing stands out at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lakeglue.quality.history import history

#: Runs shown in the chart (the most recent ones).
RUNS_SHOWN = 30


@dataclass(frozen=True)
class RunColumn:
    run_id: str
    evaluated_at: datetime
    table_version: int | None


@dataclass(frozen=True)
class RuleRow:
    suite: str
    index: int
    label: str
    severity: str
    #: One entry per run column: "pass", "fail" (error severity), "warn" or "" (not evaluated in that run).
    outcomes: list[str]
    last_observed: Any = None


@dataclass
class QualityHistory:
    table: str
    runs: list[RunColumn] = field(default_factory=list)
    rules: list[RuleRow] = field(default_factory=list)

    def run_verdict(self, i: int) -> str:
        """``fail`` if an error-severity rule failed in run ``i``, ``warn`` if only warnings did, else ``pass``."""
        outcomes = {rule.outcomes[i] for rule in self.rules}
        return "fail" if "fail" in outcomes else "warn" if "warn" in outcomes else "pass"


def _label(row: dict[str, Any]) -> str:
    if row.get("rule_text"):
        return str(row["rule_text"])
    column = f" ({row['column']})" if row.get("column") else ""
    return f"{row['rule']}{column}"


def quality_history(url: str, table: str, runs_shown: int = RUNS_SHOWN) -> QualityHistory:
    rows = history(url, table=table)
    runs: dict[str, RunColumn] = {}
    for row in rows:  # oldest first: a run's column sits at its first evaluation
        runs.setdefault(row["run_id"], RunColumn(row["run_id"], row["evaluated_at"], row.get("table_version")))
    shown = list(runs.values())[-runs_shown:]
    position = {run.run_id: i for i, run in enumerate(shown)}
    by_rule: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        if row["run_id"] not in position:
            continue
        key = (row["suite"], int(row["rule_index"]))
        entry = by_rule.setdefault(key, {"label": _label(row), "severity": row["severity"],
                                         "outcomes": [""] * len(shown), "observed": None})
        outcome = "pass" if row["success"] else ("fail" if row["severity"] == "error" else "warn")
        entry["outcomes"][position[row["run_id"]]] = outcome
        entry["observed"] = row.get("observed_value")
        entry["label"] = _label(row)
    rules = [RuleRow(suite, index, e["label"], e["severity"], e["outcomes"], e["observed"])
             for (suite, index), e in sorted(by_rule.items())]
    return QualityHistory(table, shown, rules)
