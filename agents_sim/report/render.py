"""The report as a rich table (terminal) and as JSON (machines, the README, the closing note)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table
from rich.text import Text

from agents_sim.report.kpis import KpiReport, band_text, value_text
from agents_sim.report.measures import SURGE_MODES

__all__ = ["kpi_table", "markdown_table", "surge_mode_note", "write_json"]

_MARK = {"pass": ("✓", "green"), "miss": ("✗", "red"), "n/a": ("n/a", "yellow")}


def surge_mode_note(report: KpiReport) -> str:
    """Which surge mode produced the events, and what that means for the surge KPIs."""
    mode = str(report.measurements.facts.get("surge_mode", "unknown"))
    return f"surge mode {mode}: {SURGE_MODES.get(mode, 'several sessions with different modes')}"


def kpi_table(report: KpiReport, *, title: str = "KPIs vs São Paulo calibration bands") -> Table:
    """One line per number of a band (a KPI spans several lines), each with its value, band and mark."""
    table = Table(title=title, caption=f"{report.in_band} of {report.total} KPIs in band · {surge_mode_note(report)}")
    for header in ("KPI", "measure", "value", "band", "", "note"):
        table.add_column(header)
    for row in report.rows:
        mark, colour = _MARK[row.status]
        shown_reason = ""
        for i, check in enumerate(row.checks):
            first, last = i == 0, i == len(row.checks) - 1
            # a missing value's reason, once per run of identical reasons
            note = check.reason if check.value is None and check.reason != shown_reason else ""
            shown_reason = note or shown_reason
            check_mark = "–" if check.value is None else ("✓" if check.in_band else "✗")
            table.add_row(
                Text(f"{mark} {row.band.title}", style=f"bold {colour}") if first else "",
                check.check.label,
                value_text(check.check, check.value),
                band_text(check.check) + (" (if measurable)" if check.check.optional else ""),
                Text(check_mark, style="green" if check.in_band else ("red" if check.value is not None else "dim")),
                note,
                end_section=last,
            )
    return table


def write_json(report: KpiReport, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


def markdown_table(report: KpiReport) -> str:
    """The table as GitHub markdown (for the README and closing notes): one line per KPI."""
    lines = ["| KPI | value | band | in band |", "|---|---|---|---|"]
    for row in report.rows:
        values = "<br>".join(f"{c.check.label}: {value_text(c.check, c.value)}" for c in row.checks if c.counts)
        bands = "<br>".join(band_text(c.check) for c in row.checks if c.counts)
        status = {"pass": "✓", "miss": "✗", "n/a": "n/a"}[row.status]
        note = f" ({row.reason})" if row.status == "n/a" else ""
        lines.append(f"| {row.band.title} | {values} | {bands} | {status}{note} |")
    lines.append(f"\n**{report.in_band} of {report.total} KPIs in band** ({surge_mode_note(report)}).")
    return "\n".join(lines) + "\n"
