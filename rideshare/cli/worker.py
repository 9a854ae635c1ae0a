"""`rideshare worker`: run a Faust streams worker with the platform's topologies."""

from __future__ import annotations

import typer

from rideshare.cli.common import console, settings, user_errors
from topologies import DEFAULT_TOPOLOGIES, TopologyName


def worker(
    web_port: int = typer.Option(None, "--web-port", help="Port of this worker's web server (views, /metrics). "
                                 "Give each worker on one machine its own port; default from RIDESHARE_WORKER_WEB_PORT (6066)."),
    topologies: str = typer.Option(",".join(DEFAULT_TOPOLOGIES), "--topologies",
                                   help=f"Comma-separated topologies to run, from: {', '.join(TopologyName)}."),
    loglevel: str = typer.Option("info", "--loglevel", "-l", help="Log level: debug, info, warning, error."),
) -> None:
    """Run a streams worker (Faust): dedup, GPS windows and surge into Redis and Kafka, bronze into Delta.

    Start several workers with different --web-port values: they join one consumer group and split
    the partitions; stopping one hands its partitions (and table state, from changelogs) to the rest.
    Needs Kafka and Redis (`rideshare infra up`) and the topics (`rideshare topics create`).
    """
    from rideshare.workers import build_worker_app, parse_topologies

    with user_errors():
        names = parse_topologies(topologies)
        config = settings()
        app = build_worker_app(config, topologies=names, web_port=web_port)
        port = app.conf.web_port
        console.print(f"[bold]worker[/] {app.conf.id} topologies={','.join(names)} web=http://127.0.0.1:{port}/topology/")
        from faust.worker import Worker

        # mode's worker configures logging, handles SIGTERM/SIGINT (clean leave of the group) and exits.
        Worker(app, loglevel=loglevel).execute_from_commandline()
