"""Running the quality suites: Delta tables -> pandas -> Great Expectations checkpoints -> report.

The tables are read from the lake (through `lakehouse.lake.open_lake`), so the checks are the same
whichever engine built silver and gold.

An ephemeral GX context is built per run (nothing to keep in sync on disk); each table gets its own
checkpoint whose action renders HTML data docs under the warehouse folder. Any failed expectation
fails the run with `QualityCheckFailed`, whose report names the table, the expectation, what was
observed and, for quarantine tables, why the rows were quarantined.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from core.settings import Settings
from lakehouse.exceptions import QualityCheckFailed, WarehouseMissingError
from lakehouse.lake import MODEL_LAYERS, lake_tables, lake_uri_of, open_lake
from lakehouse.quality.suites import DATA_NOW_SQL, QualityContext, QualityThresholds, TableCheck, suite_tables
from lakehouse.warehouse import warehouse_paths

__all__ = ["ExpectationOutcome", "QualityReport", "run_quality_checks"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class ExpectationOutcome:
    suite: str
    table: str
    expectation: str
    kwargs: dict[str, Any]
    success: bool
    observed: str


@dataclass
class QualityReport:
    """Every expectation's outcome, where the HTML data docs are, and a readable summary."""

    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    data_docs_index: Path | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return all(outcome.success for outcome in self.outcomes)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.success]

    def render(self) -> str:
        passed = len(self.outcomes) - len(self.failures)
        lines = [f"{passed}/{len(self.outcomes)} expectations passed"]
        for failure in self.failures:
            args = ", ".join(f"{key}={value}" for key, value in failure.kwargs.items())
            lines.append(f"FAILED [{failure.suite}] {failure.table}: {failure.expectation}({args}) -> {failure.observed}")
            if failure.table in self.notes:
                lines.append(f"       {self.notes[failure.table]}")
        if self.data_docs_index:
            lines.append(f"data docs: {self.data_docs_index.parent.parent / 'quality-report.html'} (GX pages: {self.data_docs_index})")
        return "\n".join(lines)

    def to_html(self) -> str:
        """A self-contained page (GX's own index needs CDN scripts, which an offline machine lacks)."""
        rows = "".join(
            f"<tr class={'ok' if o.success else 'failed'}><td>{'pass' if o.success else 'FAIL'}</td><td>{html.escape(o.table)}</td>"
            f"<td>{html.escape(o.expectation)}</td><td>{html.escape(json.dumps(o.kwargs, default=str))}</td>"
            f"<td>{html.escape(o.observed)}</td></tr>" for o in self.outcomes)
        notes = "".join(f"<li><b>{html.escape(t)}</b>: {html.escape(n)}</li>" for t, n in self.notes.items())
        verdict = "all expectations passed" if self.success else f"{len(self.failures)} expectation(s) FAILED"
        return ("<!doctype html><meta charset=utf-8><title>Rideshare data quality</title><style>"
                "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
                ".failed{background:#fdd}.ok{background:#efe}</style>"
                f"<h1>Rideshare data quality: {verdict}</h1><ul>{notes}</ul>"
                "<p>Per-suite Great Expectations pages: <a href=data-docs/index.html>data-docs/</a></p>"
                "<table><tr><th>result</th><th>table</th><th>expectation</th><th>arguments</th><th>observed</th></tr>"
                f"{rows}</table>")

    def to_json(self) -> str:
        return json.dumps({"success": self.success, "outcomes": [asdict(o) for o in self.outcomes],
                           "data_docs_index": str(self.data_docs_index) if self.data_docs_index else None}, indent=2)


def _observed(result: dict[str, Any]) -> str:
    if result.get("observed_value") is not None:
        return f"observed {result['observed_value']}"
    if result.get("unexpected_count") is not None:
        count = result["unexpected_count"]
        sample = result.get("partial_unexpected_list") or []
        return f"{count} unexpected value(s)" + (f", e.g. {sample[:5]}" if count else "")
    return "no observed value"


def _quarantine_note(connection: duckdb.DuckDBPyConnection, check: TableCheck) -> str | None:
    if "quarantine" not in check.table:
        return None
    rows = connection.execute(f"select invalid_reason, count(*) from {check.table} group by 1 order by 2 desc").fetchall()
    if not rows:
        return None
    reasons = ", ".join(f"{reason} x{count}" for reason, count in rows)
    return f"quarantined rows by reason: {reasons} (raw bytes kept in {check.table})"


def _gx_context(docs_dir: Path) -> Any:
    import great_expectations as gx

    # GX logs every internal registration at INFO; our own report says what matters.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    context.add_data_docs_site(site_name="local", site_config={
        "class_name": "SiteBuilder",
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
    })
    return context


def run_quality_checks(settings: Settings, *, suites: tuple[str, ...] = ("silver", "gold"),
                       thresholds: QualityThresholds | None = None, on_table: ProgressCallback | None = None,
                       raise_on_failure: bool = True) -> QualityReport:
    """Validate the warehouse tables of `suites`; raise QualityCheckFailed on any failed expectation."""
    import great_expectations as gx

    paths = warehouse_paths(settings)
    built = {table.qualified for table in lake_tables(lake_uri_of(settings), settings.lake_storage_options)}
    checks = suite_tables(suites)
    missing = sorted({check.table for check in checks} - built)
    if missing:
        raise WarehouseMissingError(f"no Delta table for {', '.join(missing)} in {settings.lake_uri}: "
                                    "run `rideshare lakehouse build` first")
    context = _gx_context(paths.data_docs_dir)
    datasource = context.data_sources.add_pandas("warehouse")
    report = QualityReport()
    with open_lake(settings, layers=MODEL_LAYERS, unqualified=False) as connection:
        data_now_s = float(connection.execute(DATA_NOW_SQL).fetchone()[0] or 0.0)
        quality_context = QualityContext(thresholds or QualityThresholds(), data_now_s)
        for check in checks:
            if on_table:
                on_table(check.table)
            frame = connection.execute(check.select_sql).df()
            name = f"{check.suite}.{check.name}"
            suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=check.expectations(quality_context)))
            batch = datasource.add_dataframe_asset(check.name).add_batch_definition_whole_dataframe(check.name)
            validation = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
            checkpoint = context.checkpoints.add(gx.Checkpoint(
                name=name, validation_definitions=[validation],
                actions=[], result_format="SUMMARY"))
            result = checkpoint.run(batch_parameters={"dataframe": frame})
            for run_result in result.run_results.values():
                for outcome in run_result.results:
                    config = outcome.expectation_config
                    kwargs = {key: value for key, value in config.kwargs.items() if key != "batch_id"}
                    report.outcomes.append(ExpectationOutcome(check.suite, check.table, config.type, kwargs, bool(outcome.success),
                                                              _observed(outcome.result or {})))
            note = _quarantine_note(connection, check) if not result.success else None
            if note:
                report.notes[check.table] = note
    # Rendered once for all checkpoints (an UpdateDataDocsAction per checkpoint re-renders the site each time).
    context.build_data_docs()
    index = paths.data_docs_dir / "index.html"
    report.data_docs_index = index if index.exists() else None
    paths.root.mkdir(parents=True, exist_ok=True)
    (paths.root / "quality-report.json").write_text(report.to_json())
    (paths.root / "quality-report.html").write_text(report.to_html())
    log.info("quality checks: %s", report.render().splitlines()[0])
    if raise_on_failure and not report.success:
        raise QualityCheckFailed(f"data quality checks failed ({len(report.failures)} expectation(s)):\n{report.render()}", report.render())
    return report
