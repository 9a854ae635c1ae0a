"""A small self-contained HTML page of the report: the KPI table and five plots as base64 PNGs."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from agents_sim.report.kpis import KpiReport, band_text, value_text

__all__ = ["render_html", "write_html", "write_plots"]

_STATUS_COLOUR = {"pass": "#1a7f37", "miss": "#cf222e", "n/a": "#9a6700"}
# in-trip speed bands of docs/calibration.md drawn behind the speed curve: (first hour, last hour + 1, lo, hi)
_SPEED_BANDS = ((7, 10, 18, 25), (10, 17, 20, 28), (17, 20, 14, 20), (0, 5, 30, 40))


def _png(figure: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(title: str, xlabel: str, ylabel: str, *, height_in: float = 3.4) -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # the object API: no pyplot global state, no display needed

    figure = Figure(figsize=(6.4, height_in))
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    return figure, axes


def _plots(series: dict[str, Any]) -> list[tuple[str, str]]:
    """(caption, base64 PNG) of the five plots."""
    hours = list(range(24))
    plots = []

    figure, axes = _figure("Hourly demand", "local hour (São Paulo)", "trips")
    axes.bar(hours, series["requests_by_hour"], color="#8ab4f8", label="requested")
    axes.plot(hours, series["completed_by_hour"], color="#1a73e8", marker="o", label="completed")
    axes.legend()
    plots.append(("Hourly demand curve", _png(figure)))

    figure, axes = _figure("In-trip speed by hour", "local hour of pickup", "km/h")
    for first, stop, lo, hi in _SPEED_BANDS:
        axes.fill_between([first - 0.5, stop - 0.5], lo, hi, color="#34a853", alpha=0.15, linewidth=0)
    speeds = series["speed_by_hour_kmh"]
    axes.plot(hours, [s if s is not None else float("nan") for s in speeds], color="#0b8043", marker="o")
    plots.append(("Speed by hour (green: calibration bands)", _png(figure)))

    figure, axes = _figure("Pickup wait (request → driver arrives)", "minutes", "trips")
    waits = series["wait_histogram_min"]
    axes.bar([left for left, _ in waits], [n for _, n in waits], width=1.0, align="edge", color="#fbbc04")
    plots.append(("Pickup-wait histogram (last bar: 29 min and more)", _png(figure)))

    figure, axes = _figure("Fares", "R$", "trips")
    fares = series["fare_histogram_brl"]
    axes.bar([left for left, _ in fares], [n for _, n in fares], width=5.0, align="edge", color="#a142f4")
    plots.append(("Fare histogram (last bar: R$145 and more)", _png(figure)))

    figure, axes = _figure("Driver time while online", "share of online time", "", height_in=1.8)
    split = series["time_split_share"]
    labels = {"with_rider": "with rider", "to_pickup": "to pickup", "idle": "idle / cruising"}
    colours = {"with_rider": "#1a73e8", "to_pickup": "#fbbc04", "idle": "#9aa0a6"}
    left = 0.0
    for bucket in ("with_rider", "to_pickup", "idle"):
        share = split.get(bucket) or 0.0
        axes.barh([0], [share], left=left, color=colours[bucket], label=f"{labels[bucket]} {share:.0%}")
        left += share
    axes.set_xlim(0, 1)
    axes.set_yticks([])
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3)
    plots.append(("Driver time split", _png(figure)))
    return plots


def render_html(report: KpiReport, *, title: str = "Rideshare Streams — run KPIs") -> str:
    rows = []
    for row in report.rows:
        colour = _STATUS_COLOUR[row.status]
        values = "<br>".join(html.escape(f"{c.check.label}: {value_text(c.check, c.value)}") for c in row.checks)
        bands = "<br>".join(html.escape(band_text(c.check) + (" (if measurable)" if c.check.optional else "")) for c in row.checks)
        rows.append(f'<tr><td>{html.escape(row.band.title)}</td><td>{values}</td><td>{bands}</td>'
                    f'<td style="color:{colour};font-weight:bold">{html.escape(row.status)}</td>'
                    f'<td>{html.escape(row.reason if row.status != "pass" else "")}</td></tr>')
    facts = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                    for k, v in report.measurements.facts.items())
    figures = "".join(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{png}">'
                      f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                      for caption, png in _plots(report.measurements.series))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #202124; }}
table {{ border-collapse: collapse; margin-bottom: 2rem; }}
td, th {{ border: 1px solid #dadce0; padding: 0.3rem 0.6rem; vertical-align: top; font-size: 0.9rem; }}
figure {{ display: inline-block; margin: 0 1rem 1rem 0; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p><strong>{report.in_band} of {report.total}</strong> KPIs inside their São Paulo calibration bands.</p>
<table><tr><th>KPI</th><th>value</th><th>band</th><th>status</th><th>note</th></tr>{"".join(rows)}</table>
<h2>Plots</h2>{figures}
<h2>Run facts</h2><table>{facts}</table>
</body></html>
"""


def write_html(report: KpiReport, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path


def write_plots(report: KpiReport, folder: str | Path) -> list[Path]:
    """The five plots as PNG files (demand.png, speed.png, wait.png, fares.png, time_split.png), e.g. for a README."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (_caption, png) in zip(("demand", "speed", "wait", "fares", "time_split"), _plots(report.measurements.series), strict=True):
        path = folder / f"{name}.png"
        path.write_bytes(base64.b64decode(png))
        paths.append(path)
    return paths
