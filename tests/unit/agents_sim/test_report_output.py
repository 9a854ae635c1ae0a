"""The report's renderings: the terminal table, the JSON file and the HTML page with its plots."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from rich.console import Console

from agents_sim.report.html import render_html, write_html, write_plots
from agents_sim.report.render import kpi_table, markdown_table, write_json
from tests.unit.agents_sim.report_events import busy_day


def _table_text(report: object) -> str:
    console = Console(width=200, record=True, force_terminal=False)
    console.print(kpi_table(report))  # type: ignore[arg-type]  # a KpiReport
    return console.export_text()


def test_table_shows_every_kpi_with_value_band_and_mark() -> None:
    report = busy_day().report()
    text = _table_text(report)
    for row in report.rows:
        assert row.band.title in text
    assert "6–9 km" in text and "R$ 8–10" in text
    assert "✓" in text and "✗" in text
    assert f"{report.in_band} of 16 KPIs in band" in text
    assert "is the surge topology running" not in text  # this day has surged trips, so surge is measured
    assert "surge mode in-process" in text  # which mode produced the events


def test_json_report_has_sixteen_rows_with_values_bands_and_plot_series(tmp_path: Path) -> None:
    report = busy_day().report()
    data = json.loads(write_json(report, tmp_path / "out" / "kpis.json").read_text(encoding="utf-8"))
    assert data["total"] == 16 and data["in_band"] == report.in_band
    assert [row["key"] for row in data["rows"]] == [row.band.key for row in report.rows]
    fares = next(row for row in data["rows"] if row["key"] == "fares")
    minimum = next(c for c in fares["checks"] if c["metric"] == "fare.min_brl")
    assert minimum["value"] == 12.0 and minimum["lo"] == 8 and minimum["in_band"] is False
    assert len(data["series"]["requests_by_hour"]) == 24 and sum(data["series"]["requests_by_hour"]) == 24
    assert data["facts"]["completed"] == 24


def test_html_page_embeds_five_png_plots_and_the_table(tmp_path: Path) -> None:
    report = busy_day().report()
    page = write_html(report, tmp_path / "kpis.html").read_text(encoding="utf-8")
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 5
    for image in images:
        assert base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n"
    for caption in ("Hourly demand curve", "Speed by hour", "Pickup-wait histogram", "Fare histogram", "Driver time split"):
        assert caption in page
    assert page.count("<tr><td>") >= 16
    assert render_html(report) == page


def test_markdown_table_has_one_line_per_kpi_and_the_count() -> None:
    report = busy_day().report()
    text = markdown_table(report)
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| KPI")]
    assert len(rows) == 16
    assert f"**{report.in_band} of 16 KPIs in band** (surge mode in-process: in-process closed loop" in text
    assert "| trip distance | mean: 4.75 km<br>median: " in text  # 2..8 km by hour % 7 over 24 hours


def test_plots_are_written_as_five_png_files(tmp_path: Path) -> None:
    paths = write_plots(busy_day().report(), tmp_path / "plots")
    assert [p.name for p in paths] == ["demand.png", "speed.png", "wait.png", "fares.png", "time_split.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
