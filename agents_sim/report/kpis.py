"""KPI values judged against the bands: the report object every front end (table, JSON, HTML) renders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from agents_sim.report.bands import BANDS, Band, Check
from agents_sim.report.fold import KpiAccumulator
from agents_sim.report.measures import DEFAULT_CITY_ACTIVE_DRIVERS, Measurements, measure

__all__ = ["CheckResult", "KpiReport", "KpiRow", "band_text", "compute_kpis", "evaluate", "value_text"]

Status = Literal["pass", "miss", "n/a"]


@dataclass(frozen=True)
class CheckResult:
    check: Check
    value: float | None
    reason: str  # why the value is missing ("" when present)

    @property
    def in_band(self) -> bool | None:
        """True/False when measured, None when the data has no value."""
        return None if self.value is None else self.check.holds(self.value)

    @property
    def counts(self) -> bool:
        """Optional checks count only when the run could measure them."""
        return not self.check.optional or self.value is not None


@dataclass(frozen=True)
class KpiRow:
    band: Band
    checks: tuple[CheckResult, ...]

    @property
    def status(self) -> Status:
        counted = [c for c in self.checks if c.counts]
        if any(c.value is None for c in counted):
            return "n/a"
        return "pass" if all(c.in_band for c in counted) else "miss"

    @property
    def in_band(self) -> bool:
        return self.status == "pass"

    @property
    def reason(self) -> str:
        """Why the row is n/a (the first missing value's reason), or which checks miss."""
        missing = [c.reason for c in self.checks if c.counts and c.value is None]
        if missing:
            return missing[0]
        return "; ".join(f"{c.check.label} {value_text(c.check, c.value)} outside {band_text(c.check)}"
                         for c in self.checks if c.counts and not c.in_band)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.band.key, "title": self.band.title, "status": self.status, "reason": self.reason,
            "basis": self.band.basis,
            "checks": [{"metric": c.check.metric, "label": c.check.label, "value": c.value, "unit": c.check.unit,
                        "lo": c.check.lo, "hi": c.check.hi, "optional": c.check.optional, "in_band": c.in_band,
                        "value_text": value_text(c.check, c.value), "band_text": band_text(c.check), "reason": c.reason}
                       for c in self.checks],
        }


@dataclass(frozen=True)
class KpiReport:
    rows: tuple[KpiRow, ...]
    measurements: Measurements

    @property
    def in_band(self) -> int:
        return sum(row.in_band for row in self.rows)

    @property
    def total(self) -> int:
        return len(self.rows)

    def row(self, key: str) -> KpiRow:
        return next(r for r in self.rows if r.band.key == key)

    def value(self, metric: str) -> float | None:
        return self.measurements.metrics[metric]

    def to_dict(self) -> dict[str, Any]:
        return {
            "in_band": self.in_band, "total": self.total,
            "rows": [row.to_dict() for row in self.rows],
            "metrics": self.measurements.metrics, "series": self.measurements.series, "facts": self.measurements.facts,
        }


def evaluate(measurements: Measurements, bands: tuple[Band, ...] = BANDS) -> KpiReport:
    rows = tuple(
        KpiRow(band, tuple(CheckResult(check, measurements.metrics.get(check.metric),
                                       measurements.reasons.get(check.metric, "not measured")
                                       if measurements.metrics.get(check.metric) is None else "")
                           for check in band.checks))
        for band in bands
    )
    return KpiReport(rows, measurements)


def compute_kpis(events: Iterable[tuple[str, dict[str, Any]]], *,
                 city_active_drivers: int = DEFAULT_CITY_ACTIVE_DRIVERS) -> KpiReport:
    """One pass over (schema_name, record) pairs → the KPI report. The one implementation behind
    `rideshare sim report`, the end-of-run table of `sim run`, tests and benchmarks."""
    accumulator = KpiAccumulator()
    for schema, record in events:
        accumulator.add(schema, record)
    return report_of(accumulator, city_active_drivers=city_active_drivers)


def report_of(accumulator: KpiAccumulator, *, city_active_drivers: int = DEFAULT_CITY_ACTIVE_DRIVERS) -> KpiReport:
    """The report of an accumulator fed elsewhere (e.g. a sink that folds events while the simulation runs)."""
    return evaluate(measure(accumulator, city_active_drivers=city_active_drivers))


def _number(value: float) -> str:
    if abs(value) >= 1e5:
        return f"{value / 1e6:.2f} M"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def _edge(value: float) -> str:
    """A band edge as written in docs/calibration.md (no trailing zeros)."""
    return f"{value / 1e6:g} M" if abs(value) >= 1e5 else f"{value:g}"


def value_text(check: Check, value: float | None) -> str:
    if value is None:
        return "n/a"
    if check.unit == "%":
        return f"{value * 100:.1f} %"
    if check.unit == "bool":
        return "yes" if value >= 0.5 else "no"
    if check.unit == "h" and check.metric.endswith("_hour"):
        return f"{value:.0f} h"
    if check.unit == "R$":
        return f"R$ {value:.2f}"
    return f"{_number(value)} {check.unit}".rstrip()


def band_text(check: Check) -> str:
    if check.unit == "bool":
        return "yes"

    def edge(v: float) -> str:
        return _edge(v * 100) if check.unit == "%" else _edge(v)

    prefix = "R$ " if check.unit == "R$" else ""
    unit = "" if check.unit in ("R$", "") else f" {check.unit}"
    if check.lo is not None and check.hi is not None:
        lo, hi = edge(check.lo), edge(check.hi)
        if lo.endswith(" M") and hi.endswith(" M"):
            lo = lo.removesuffix(" M")
        return f"{prefix}{lo}–{hi}{unit}"
    if check.lo is not None:
        return f"≥ {prefix}{edge(check.lo)}{unit}"
    return f"≤ {prefix}{edge(check.hi)}{unit}" if check.hi is not None else "-"
