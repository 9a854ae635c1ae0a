"""The `rideshare` command. Each verb group lives in its own module and is mounted here."""

from __future__ import annotations

import typer

from rideshare.cli import api, demo, infra, topics
from rideshare.cli import lakehouse as lakehouse_cli
from rideshare.cli import sim as sim_cli
from rideshare.cli import topology as topology_cli
from rideshare.cli import worker as worker_cli

app = typer.Typer(
    name="rideshare",
    help="Rideshare Streams: a synthetic São Paulo ride-hailing platform on Kafka, Faust and Delta Lake.\n\n"
    "Start with `rideshare infra up`, then `rideshare topics create`.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(infra.app, name="infra")
app.add_typer(topics.app, name="topics")
app.command("api")(api.serve)
app.command("demo")(demo.demo)
app.add_typer(topology_cli.app, name="topology")
app.command("worker")(worker_cli.worker)
app.add_typer(lakehouse_cli.app, name="lakehouse")
app.add_typer(sim_cli.app, name="sim")


def main() -> None:
    app()
