"""`rideshare topology describe`: print the topology graphs (no broker needed)."""

from __future__ import annotations

import typer

from rideshare.cli.common import console, settings, user_errors
from topologies import TopologyName

app = typer.Typer(help="Inspect the stream topologies.", no_args_is_help=True)


@app.command()
def describe(
    output_format: str = typer.Option("text", "--format", "-f", help="text (readable listing) or mermaid (flowchart)."),
    topologies: str = typer.Option(",".join(TopologyName), "--topologies",
                                   help=f"Comma-separated topologies, from: {', '.join(TopologyName)}."),
) -> None:
    """Print sources -> operators -> sinks of each topology, from the declarations the workers run.

    Builds the Faust apps of the worker roles without starting them, so it works with Kafka down. Paste
    the mermaid output into any Mermaid renderer (GitHub Markdown renders it in ```mermaid blocks).
    """
    from rideshare.workers import build_worker_app, parse_topologies
    from streams.app import context_of
    from streams.graph import render_mermaid, render_text
    from topologies import ROLE_OF

    renderers = {"text": render_text, "mermaid": render_mermaid}
    if output_format not in renderers:
        raise typer.BadParameter(f"choose one of: {', '.join(renderers)}", param_hint="--format")
    with user_errors():
        names = parse_topologies(topologies)
        graphs = []
        for role in dict.fromkeys(ROLE_OF[name] for name in names):
            wanted = [name for name in names if ROLE_OF[name] == role]
            built = build_worker_app(settings(), topologies=wanted)
            graphs.extend(graph for name, graph in context_of(built).registry.topologies.items() if name in wanted or role == "realtime")
        console.print(renderers[output_format](graphs), markup=False, highlight=False, end="", soft_wrap=True)
