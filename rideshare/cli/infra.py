"""`rideshare infra`: start, stop and report the local services (Kafka in KRaft mode, Redis)."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from core.settings import Settings
from rideshare.cli.common import console, settings, user_errors
from rideshare.infra import KafkaService, RedisService

app = typer.Typer(help="Local services: Apache Kafka (KRaft, jars from Maven Central) and Redis.", no_args_is_help=True)


def _with_brokers(s: Settings, brokers: int | None) -> Settings:
    return s if brokers is None or brokers == s.kafka_brokers else s.model_copy(update={"kafka_brokers": brokers})


@app.command()
def up(
    brokers: int = typer.Option(None, "--brokers", min=1, max=9, help="Kafka nodes (combined broker + controller) to run: "
                                "1 (default: RIDESHARE_KAFKA_BROKERS) or 3 for replication 3 with min.insync.replicas 2. "
                                "Node n listens on RIDESHARE_KAFKA_PORT + n x 100 (and the controller port likewise)."),
) -> None:
    """Start Kafka and Redis if they are not running (a no-op when they are), then wait until they answer.

    With a cluster (`--brokers 3`), nodes that were stopped or killed are started again.

    Examples:
      rideshare infra up
      rideshare infra up --brokers 3    # and RIDESHARE_KAFKA_BROKERS=3 in .env, so topics get 3 replicas
    """
    with user_errors():
        s = _with_brokers(settings(), brokers)
        for service in (KafkaService(s), RedisService(s)):
            started_at = time.monotonic()
            with console.status(f"starting {service.__class__.__name__.removesuffix('Service')} on {service.address} ..."):
                started = service.start()
            verb = f"started in {time.monotonic() - started_at:.1f} s" if started else "already running"
            console.print(f"[green]✓[/] {service.status().detail} on {service.address}: {verb}")
        if s.kafka_brokers != settings().kafka_brokers:
            console.print(f"[yellow]note:[/] clients read the cluster size from RIDESHARE_KAFKA_BROKERS (now "
                          f"{settings().kafka_brokers}): set RIDESHARE_KAFKA_BROKERS={s.kafka_brokers} in .env so that "
                          f"`rideshare topics create` and the workers use replication {s.kafka_replication_factor} "
                          "and every node as bootstrap server")


@app.command()
def down() -> None:
    """Stop the services started by `infra up` on these ports (by pid: TERM, then KILL after a timeout), whatever the
    number of Kafka nodes they were started with."""
    with user_errors():
        s = settings()
        console.print(f"Redis: {'stopped' if RedisService(s).stop() else 'was not running'}")
        sizes = KafkaService.running_sizes(s)
        for size in sizes:
            KafkaService(_with_brokers(s, size)).stop()
            console.print(f"Kafka ({size} node{'s' if size > 1 else ''}): stopped")
        if not sizes:
            console.print("Kafka: was not running")


@app.command()
def status() -> None:
    """Show whether each service (each Kafka node) runs, its pid and address. Exit code 1 if any is down."""
    with user_errors():
        s = settings()
        sizes = KafkaService.running_sizes(s)
        kafka = KafkaService(_with_brokers(s, sizes[0] if sizes else None))
        statuses = [*kafka.node_statuses(), RedisService(s).status()]
        table = Table("service", "state", "pid", "address", "detail")
        for st in statuses:
            table.add_row(st.name, "[green]up[/]" if st.running else "[red]down[/]", str(st.pid or "-"), st.address, st.detail)
        console.print(table)
        if not all(st.running for st in statuses):
            raise typer.Exit(1)
