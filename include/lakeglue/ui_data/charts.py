"""The quality history chart as inline SVG: rules down, runs across, one square per check.

Green passed, red failed (error severity), amber failed a warning, grey not evaluated in that
run; a strip on top gives each run's verdict. Plain SVG keeps the page free of a JS build.
"""

from __future__ import annotations

from html import escape

from lakeglue.ui_data.quality import QualityHistory

COLORS = {"pass": "#2e9e5b", "fail": "#d64545", "warn": "#e0a526", "": "#d9d9d9"}
CELL = 16
GAP = 3
LABEL_WIDTH = 330


def quality_svg(history: QualityHistory) -> str:
    runs, rules = history.runs, history.rules
    top = 34
    width = max(LABEL_WIDTH + len(runs) * (CELL + GAP) + 10, 460)  # room for the legend
    height = top + (len(rules) + 1) * (CELL + GAP) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="quality-chart" width="{width}" height="{height}" '
             f'role="img" aria-label="quality history of {escape(history.table)}">',
             f'<text x="0" y="14" class="axis">rule \\ run (oldest → newest, {len(runs)} runs)</text>']
    for i, run in enumerate(runs):
        x = LABEL_WIDTH + i * (CELL + GAP)
        verdict = history.run_verdict(i)
        title = f"{run.run_id} at {run.evaluated_at:%Y-%m-%d %H:%M:%S} UTC: {verdict}"
        if run.table_version is not None:
            title += f" (table version {run.table_version})"
        parts.append(f'<rect x="{x}" y="{top - 14}" width="{CELL}" height="8" fill="{COLORS[verdict]}" '
                     f'data-run="{escape(run.run_id)}"><title>{escape(title)}</title></rect>')
    for r, rule in enumerate(rules):
        y = top + r * (CELL + GAP)
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + CELL - 4}" text-anchor="end" class="rule">'
                     f'{escape(_short(rule.label))}<title>{escape(rule.label)} [{rule.severity}]</title></text>')
        for i, outcome in enumerate(rule.outcomes):
            x = LABEL_WIDTH + i * (CELL + GAP)
            title = f"{rule.label} in {runs[i].run_id}: {outcome or 'not evaluated'}"
            parts.append(f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="2" fill="{COLORS[outcome]}" '
                         f'class="cell {outcome or "none"}"><title>{escape(title)}</title></rect>')
    legend_y = top + len(rules) * (CELL + GAP) + 14
    x = 0
    for name, color in (("pass", COLORS["pass"]), ("fail (error)", COLORS["fail"]), ("warn", COLORS["warn"]),
                        ("not run", COLORS[""])):
        parts.append(f'<rect x="{x}" y="{legend_y - 10}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + 14}" y="{legend_y}" class="axis">{name}</text>')
        x += 110
    parts.append("</svg>")
    return "".join(parts)


def _short(label: str, width: int = 48) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"
