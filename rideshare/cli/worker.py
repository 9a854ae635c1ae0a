"""`rideshare worker`: run the Faust streams workers (real-time topologies, bronze ingestion)."""

from __future__ import annotations

import os

import typer

from rideshare.cli.common import console, settings, user_errors
from topologies import TopologyName


def default_processes() -> int:
    """Real-time worker processes for this machine: one per two cores (the simulation, Kafka and the API need the rest)."""
    return max(1, (os.cpu_count() or 2) // 2)


def worker(
    role: str = typer.Option("all", "--role", help="realtime (dedup, GPS windows, surge), bronze (Delta ingestion), "
                             "or all: real-time workers plus one bronze worker, each its own process."),
    processes: int = typer.Option(1, "--processes", "-n", min=1, max=12,
                                  help="Real-time worker processes to run (they split the partitions; up to 12 share a topic)."),
    web_port: int = typer.Option(None, "--web-port", help="Web port of the (first) worker (views, /metrics, /healthz); further "
                                 "workers take the next ports. Default RIDESHARE_WORKER_WEB_PORT (6066)."),
    topologies: str = typer.Option(None, "--topologies",
                                   help=f"Comma-separated real-time topologies to run, from: {', '.join(TopologyName)} "
                                        "(dedup always runs with gps or surge; bronze has a role of its own)."),
    loglevel: str = typer.Option("info", "--loglevel", "-l", help="Log level: debug, info, warning, error."),
) -> None:
    """Run streams workers: real-time topologies into Redis and Kafka, bronze ingestion into Delta.

    Each role is its own consumer group: bronze reads every topic on its own, so a lake outage stalls
    bronze alone. Workers of one role split the partitions, on one machine or several (point them at the
    same Kafka with RIDESHARE_KAFKA_BOOTSTRAP); stopping one hands its partitions (and table state,
    from changelogs) to the rest. With --processes or --role all, this command supervises the worker
    processes and restarts any that exits. Needs Kafka and Redis (`rideshare infra up`) and the topics
    (`rideshare topics create`).

    Examples:

        rideshare worker                          # one real-time and one bronze worker
        rideshare worker --role realtime -n 2     # two real-time workers, ports 6066 and 6067
        rideshare worker --role bronze --web-port 6070
    """
    from rideshare.worker_pool import WorkerPool, WorkerSpec
    from rideshare.workers import build_worker_app, parse_topologies, role_of
    from streams.app import WorkerRole

    with user_errors():
        config = settings()
        port = web_port or config.worker_web_port
        names = parse_topologies(topologies) if topologies else None
        chosen = role_of(names) if names else (None if role == "all" else WorkerRole(role))
        if chosen is None or processes > 1:
            roles = [WorkerRole.REALTIME] * processes if chosen in (None, WorkerRole.REALTIME) else [WorkerRole.BRONZE] * processes
            if chosen is None:
                roles.append(WorkerRole.BRONZE)
            specs = [WorkerSpec(r, port + index, loglevel) for index, r in enumerate(roles)]
            console.print(f"[bold]workers[/]: {', '.join(f'{s.role}@{s.web_port}' for s in specs)} (Ctrl-C stops them all)")
            WorkerPool(specs, config.local_dir / "workers", on_event=console.print).run()
            return
        app = build_worker_app(config, role=chosen, topologies=names, web_port=port)
        console.print(f"[bold]worker[/] {app.conf.id} ({chosen}) topologies={','.join(app.rideshare.registry.topologies)} "
                      f"web=http://{config.worker_web_host}:{port}/topology/")
        from faust.worker import Worker

        # mode's worker configures logging, handles SIGTERM/SIGINT (clean leave of the group) and exits.
        Worker(app, loglevel=loglevel).execute_from_commandline()
