"""The KPI report of a simulation run: every KPI of docs/calibration.md computed from the events
alone in one bounded-memory pass, judged against its band, rendered as a table, JSON and an HTML page.

    from agents_sim.report import compute_kpis, read_jsonl
    report = compute_kpis(read_jsonl("events.jsonl"))
    print(report.in_band, "of", report.total)
"""

from __future__ import annotations

from agents_sim.report.bands import BANDS, Band, Check
from agents_sim.report.exceptions import ReportError
from agents_sim.report.fold import KpiAccumulator
from agents_sim.report.kpis import KpiReport, KpiRow, compute_kpis, evaluate, report_of
from agents_sim.report.measures import DEFAULT_CITY_ACTIVE_DRIVERS, Measurements, measure
from agents_sim.report.sources import read_jsonl
from agents_sim.report.tee import KpiTee

__all__ = [
    "BANDS",
    "DEFAULT_CITY_ACTIVE_DRIVERS",
    "Band",
    "Check",
    "KpiAccumulator",
    "KpiReport",
    "KpiRow",
    "KpiTee",
    "Measurements",
    "ReportError",
    "compute_kpis",
    "evaluate",
    "measure",
    "read_jsonl",
    "report_of",
]
