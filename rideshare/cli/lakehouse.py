"""`rideshare lakehouse ...`: build silver/gold with dbt, validate with Great Expectations, maintain Delta, query gold."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from lakehouse.dbt_project import Engine
from rideshare.cli.common import console, settings, user_errors

app = typer.Typer(
    help="The lakehouse: bronze Delta tables -> dbt silver (validated, de-duplicated, quarantine) -> gold star schema "
    "(SCD2), every layer a Delta table in the lake, built on DuckDB or Spark and checked by Great Expectations.\n\n"
    "Typical use: `rideshare sim run --sink jsonl:day.jsonl`, `rideshare lakehouse load day.jsonl`, "
    "`rideshare lakehouse build`, then `rideshare lakehouse query \"select * from agg_daily_platform_revenue\"`.",
    no_args_is_help=True,
)

EngineOption = Annotated[Engine, typer.Option("--engine", "-e", case_sensitive=False,
                                              help="dbt engine: duckdb (one machine, default) or spark (local Spark with Delta).")]


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[current]}"), TimeElapsedColumn(), console=console, transient=True)


def _counts_table(counts: dict[str, dict[str, int]]) -> Table:
    table = Table(title="Rows per layer")
    table.add_column("layer")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for layer, tables in counts.items():
        for index, (name, rows) in enumerate(tables.items()):
            table.add_row(layer if index == 0 else "", name, f"{rows:,}", end_section=index == len(tables) - 1)
    return table


@app.command()
def load(
    jsonl: Annotated[Path, typer.Argument(help="A simulation JSONL file (`rideshare sim run --sink jsonl:PATH`).", exists=True,
                                          dir_okay=False)],
) -> None:
    """Load a simulation JSONL file into bronze through the exactly-once bronze writer.

    Each file gets its own offsets (recorded in the lake), so a second file lands whole and loading the
    same file again, or after an interruption, writes only what is missing.
    """
    from lakehouse.bronze.loader import write_jsonl_to_bronze

    with user_errors(), _progress() as progress:
        task = progress.add_task(f"loading {jsonl.name}", total=None, current="")
        summary = write_jsonl_to_bronze(settings(), jsonl, on_progress=lambda lines: progress.update(task, completed=lines,
                                                                                                      current=f"{lines:,} lines"))
    written = ", ".join(f"{topic} {count:,}" for topic, count in sorted(summary.written.items()) if count) or "nothing new"
    console.print(f"[green]loaded[/] {summary.lines:,} lines: {written}; {summary.dead_lettered:,} dead-lettered, "
                  f"{summary.skipped:,} already in bronze")


@app.command()
def build(
    engine: EngineOption = Engine.DUCKDB,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Rebuild incremental silver models from all of bronze.")] = False,
    validate: Annotated[bool, typer.Option("--validate/--no-validate", help="Run the Great Expectations checks after dbt.")] = True,
    docs: Annotated[bool, typer.Option("--docs", help="Also run `dbt docs generate` (static site in the warehouse folder).")] = False,
) -> None:
    """Run `dbt build` (silver + gold models and every dbt test), then the quality checks; print row counts per layer.

    Every model is a Delta table in the lake (`<lake>/silver/<model>`, `<lake>/gold/<model>`), whichever
    engine builds it. Incremental by default: silver reads only bronze records past its offset watermark
    and merges them; the SCD2 dimensions merge only changed versions. Fails (exit 1) on any failing dbt
    test or expectation, with a report of what failed.
    """
    from lakehouse.build import build as build_warehouse

    with user_errors(), _progress() as progress:
        config = settings()
        dbt_task = progress.add_task("dbt build", total=None, current="starting dbt")
        gx_task = progress.add_task("quality checks", total=None, current="", visible=validate)

        def on_node(name: str, status: str, total: int | None) -> None:
            progress.update(dbt_task, advance=1, total=total, current=f"{name} [{status}]")

        def on_check(table: str) -> None:
            progress.update(gx_task, advance=1, current=table)

        result = build_warehouse(config, engine=engine, full_refresh=full_refresh, validate=validate, docs=docs, on_node=on_node,
                                 on_check=on_check)
    console.print(_counts_table(result.counts))
    failed_tests = [node for node in result.tests if node.failed]
    passed = len(result.tests) - len(failed_tests)
    console.print(f"[green]built[/] {len(result.models)} models on {engine.value}, {passed}/{len(result.tests)} dbt tests passed "
                  f"in {result.seconds:.1f}s")
    if result.quality is not None:
        console.print(f"[green]quality:[/] {result.quality.render()}")
    if docs:
        from lakehouse.warehouse import warehouse_paths

        console.print(f"dbt docs: {warehouse_paths(config).target_dir / engine.value / 'index.html'}")


@app.command()
def validate(
    suite: Annotated[list[str] | None, typer.Option("--suite", "-s", help="Suite(s) to run: silver, gold (default both).")] = None,
) -> None:
    """Run the Great Expectations suites over the silver and gold Delta tables and write HTML data docs.

    Checks volume, freshness (against the newest event time in the data), distributions (fares within
    bounds, surge within its cap, plausible trip durations) and that quarantine tables are empty.
    Exit code 1 with a report when any expectation fails.
    """
    from lakehouse.quality.checkpoint import run_quality_checks

    with user_errors():
        with _progress() as progress:
            task = progress.add_task("quality checks", total=None, current="")
            report = run_quality_checks(settings(), suites=tuple(suite or ("silver", "gold")),
                                        on_table=lambda table: progress.update(task, advance=1, current=table))
        console.print(f"[green]passed:[/] {report.render()}")


@app.command()
def maintain(
    retention_hours: Annotated[
        float | None, typer.Option(help="Vacuum retention in hours (default: RIDESHARE_LAKE_VACUUM_RETENTION_HOURS).")] = None,
) -> None:
    """Compact small files, write a Delta checkpoint and vacuum unreferenced files of every Delta table of the lake."""
    from lakehouse.maintenance import maintain_lake

    with user_errors():
        with _progress() as progress:
            task = progress.add_task("maintenance", total=None, current="")
            results = maintain_lake(settings(), retention_hours=retention_hours,
                                    on_table=lambda name: progress.update(task, advance=1, current=name))
        table = Table(title="Delta maintenance")
        for column in ("table", "files before", "files after", "compacted away", "vacuumed", "version", "seconds"):
            table.add_column(column, justify="left" if column == "table" else "right")
        for item in results:
            table.add_row(item.table, str(item.files_before), str(item.files_after), str(item.files_compacted_away),
                          str(item.files_vacuumed), f"{item.version_before} -> {item.version_after}", f"{item.seconds:.2f}")
        console.print(table)


@app.command("dlq-check")
def dlq_check(
    threshold: Annotated[
        int | None, typer.Option(help="Alert above this many new dead letters (default: RIDESHARE_DLQ_ALERT_THRESHOLD).")] = None,
) -> None:
    """Count dead letters since the last check; above the threshold, log an alert and add a row to the alerts table."""
    from lakehouse.dlq_monitor import alerts_uri, check_dlq

    with user_errors():
        config = settings()
        check = check_dlq(config, threshold=threshold)
        if check.alert:
            console.print(f"[bold red]ALERT[/] {check.alert.message}\nrecorded in {alerts_uri(config)}")
        else:
            console.print(f"[green]ok:[/] {check.new_dead_letters} new dead letter(s)")


@app.command()
def query(
    sql: Annotated[str | None, typer.Argument(help="SQL over the lake's Delta tables, e.g. \"select * from gold.fct_trips limit 5\" "
                                                   "(a name in one layer only needs no schema: fct_trips).")] = None,
    list_tables: Annotated[bool, typer.Option("--list", "-l", help="List the tables you can query (layer, name, rows).")] = False,
    limit: Annotated[int, typer.Option(help="Print at most this many rows.")] = 50,
) -> None:
    """Run read-only SQL (DuckDB dialect) on the Delta tables of the lake and print the result as a table.

    Reads bronze, silver and gold straight from Delta (a local folder or an s3:// lake with
    RIDESHARE_LAKE_STORAGE_OPTIONS), whichever engine built them.
    """
    from lakehouse.build import layer_counts
    from lakehouse.build import query as run_query

    with user_errors():
        config = settings()
        if list_tables:
            console.print(_counts_table(layer_counts(config)))
            return
        if sql is None:
            raise typer.BadParameter("give a SQL query, or --list to see the tables")
        columns, rows = run_query(config, sql)
        table = Table(*columns)
        for row in rows[:limit]:
            table.add_row(*("" if value is None else str(value) for value in row))
        console.print(table)
        if len(rows) > limit:
            console.print(f"({len(rows) - limit} more rows; use --limit)")


@app.command()
def rebase(
    topic: Annotated[str, typer.Argument(help="Catalog topic whose bronze ingestion stopped, e.g. gps or trips.")],
    new_generation: Annotated[bool, typer.Option("--new-generation", help="Ingest every record of the topic again under new "
                                                 "ids (silver de-duplicates events by id).")] = False,
    from_: Annotated[str | None, typer.Option("--from", help="latest: treat what the topic holds now as ingested, and "
                                              "ingest only what arrives from now on.")] = None,
) -> None:
    """Let bronze continue a topic whose offsets no longer continue what it committed.

    Bronze stops a partition (and reports it at the worker's /healthz and in its log) when the topic
    was recreated or its offsets reset: ingesting on would skip records or mix two topics under the same
    offsets. Choose how to continue; a running bronze worker picks the change up within seconds.

    Examples:

        rideshare lakehouse rebase gps --new-generation
        rideshare lakehouse rebase trips --from latest
    """
    from core.kafka_admin import topic_state
    from lakehouse.bronze.writer import BronzeWriter
    from schemas.catalog import topic_spec

    if new_generation == (from_ is not None) or from_ not in (None, "latest"):
        raise typer.BadParameter("choose one: --new-generation or --from latest")
    with user_errors():
        config = settings()
        name = topic_spec(topic).qualified(config.topic_namespace)
        state = topic_state(config.bootstrap_servers, name)
        generation = BronzeWriter(config, topic).rebase(name, state.topic_id, new_generation=new_generation,
                                                        next_offsets=state.high_watermarks)
        how = "every record again" if new_generation else "from the latest offsets"
        console.print(f"[green]✓[/] bronze ingests {name} {how} (generation {generation}, Kafka topic id {state.topic_id})")
