"""`rideshare sim report`: the KPI report of a run, from a jsonl events file or from Kafka topics.

Mounted by the `sim` verb group (rideshare/cli/sim.py) as `app.command("report")(sim_report.report)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from agents_sim.report import DEFAULT_CITY_ACTIVE_DRIVERS, KpiReport, compute_kpis, read_jsonl
from agents_sim.report.html import write_html, write_plots
from agents_sim.report.kafka_source import KafkaEvents
from agents_sim.report.render import kpi_table, markdown_table, write_json
from rideshare.cli.common import console, settings, user_errors

__all__ = ["report"]

KAFKA_PREFIX = "kafka:"
PROGRESS_EVERY = 50_000


def _with_progress(events: Iterable[tuple[str, dict[str, Any]]], progress: Progress) -> Iterator[tuple[str, dict[str, Any]]]:
    task = progress.add_task("reading events", total=None)
    for n, event in enumerate(events, start=1):
        if n % PROGRESS_EVERY == 0:
            progress.update(task, completed=n, description=f"reading events: {n:,}")
        yield event


def report(
    events: Annotated[str, typer.Argument(
        metavar="EVENTS",
        help="A jsonl(.gz) file written by `sim run --sink jsonl:PATH`, or `kafka:` to read every catalog topic from the "
        "beginning to its current end (namespace: --namespace, else the configured one; `kafka:NAMESPACE` is short for both).")],
    namespace: Annotated[str | None, typer.Option(
        "--namespace", help="Topic namespace to read with `kafka:` (e.g. `t1a2b3c4.`); default: RIDESHARE_TOPIC_NAMESPACE.")] = None,
    json_path: Annotated[Path | None, typer.Option(
        "--json", help="Where to write the JSON report (default: next to EVENTS, or under .local/reports/ for Kafka).")] = None,
    html_path: Annotated[Path | None, typer.Option(
        "--html", help="Where to write the HTML page with plots (default: as --json, with .html).")] = None,
    city_drivers: Annotated[int, typer.Option(
        "--city-drivers", min=1, help="Active drivers per day in the whole city, to scale the run's trips to city volume.")]
    = DEFAULT_CITY_ACTIVE_DRIVERS,
    markdown_path: Annotated[Path | None, typer.Option(
        "--markdown", help="Also write the table as GitHub markdown (for a README or a closing note).")] = None,
    plots_dir: Annotated[Path | None, typer.Option(
        "--plots", help="Also write the five plots as PNG files into this folder.")] = None,
    fail_under: Annotated[int | None, typer.Option(
        "--fail-under", min=0, max=16, help="Exit with code 2 when fewer KPIs than this are in band (for CI).")] = None,
) -> None:
    """Compute every KPI of the São Paulo calibration (trip distance and duration, speeds by hour, pickup
    wait, matching, cancellations, driver time split, productivity, demand shape, surge, fares, platform
    take, ratings, GPS noise, congestion) from the events alone, and print each with its band and a ✓/✗.

    Examples:

      rideshare sim report run.jsonl

      rideshare sim report kafka: --json kpis.json --html kpis.html
    """
    with user_errors():
        s = settings()
        if events.startswith(KAFKA_PREFIX):
            topics_of = events[len(KAFKA_PREFIX):] or namespace or s.topic_namespace
            source: Iterable[tuple[str, dict[str, Any]]] = KafkaEvents(s, namespace=topics_of)
            stem = s.local_dir / "reports" / f"kpis-{topics_of.rstrip('.') or 'default'}"
        else:
            source = read_jsonl(events)
            stem = Path(events).with_name(Path(events).name.removesuffix(".gz").removesuffix(".jsonl") + ".kpis")
        default_json, default_html = stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".html")
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                      transient=True) as progress:
            result: KpiReport = compute_kpis(_with_progress(source, progress), city_active_drivers=city_drivers)
        if isinstance(source, KafkaEvents) and source.undecodable:
            console.print(f"[yellow]skipped {source.undecodable:,} undecodable records[/]")
        if isinstance(source, KafkaEvents) and source.markers:
            console.print(f"skipped {source.markers:,} step markers of the lockstep surge loop (control records, not events)")
        console.print(kpi_table(result))
        written_json = write_json(result, json_path or default_json)
        written_html = write_html(result, html_path or default_html)
        console.print(f"{result.measurements.facts['events']:,} events · JSON: {written_json} · HTML: {written_html}")
        if markdown_path is not None:
            markdown_path.parent.mkdir(parents=True, exist_ok=True)
            markdown_path.write_text(markdown_table(result), encoding="utf-8")
            console.print(f"markdown: {markdown_path}")
        if plots_dir is not None:
            console.print(f"plots: {', '.join(str(p) for p in write_plots(result, plots_dir))}")
        if fail_under is not None and result.in_band < fail_under:
            raise typer.Exit(2)
