"""`rideshare infra`: start, stop and report the local services (Kafka in KRaft mode, Redis)."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from rideshare.cli.common import console, settings, user_errors
from rideshare.infra import KafkaService, RedisService

app = typer.Typer(help="Local services: Apache Kafka (KRaft, jars from Maven Central) and Redis.", no_args_is_help=True)


@app.command()
def up() -> None:
    """Start Kafka and Redis if they are not running (a no-op when they are), then wait until they answer."""
    with user_errors():
        s = settings()
        for service in (KafkaService(s), RedisService(s)):
            started_at = time.monotonic()
            with console.status(f"starting {service.__class__.__name__.removesuffix('Service')} on {service.address} ..."):
                started = service.start()
            verb = f"started in {time.monotonic() - started_at:.1f} s" if started else "already running"
            console.print(f"[green]✓[/] {service.status().detail} on {service.address}: {verb}")


@app.command()
def down() -> None:
    """Stop the services started by `infra up` (by pid: TERM, then KILL after a timeout)."""
    with user_errors():
        s = settings()
        for service in (RedisService(s), KafkaService(s)):
            stopped = service.stop()
            console.print(f"{service.__class__.__name__.removesuffix('Service')}: {'stopped' if stopped else 'was not running'}")


@app.command()
def status() -> None:
    """Show whether each service runs, its pid and address. Exit code 1 if any is down."""
    with user_errors():
        s = settings()
        table = Table("service", "state", "pid", "address", "detail")
        statuses = [KafkaService(s).status(), RedisService(s).status()]
        for st in statuses:
            table.add_row(st.name, "[green]up[/]" if st.running else "[red]down[/]", str(st.pid or "-"), st.address, st.detail)
        console.print(table)
        if not all(st.running for st in statuses):
            raise typer.Exit(1)
