"""`rideshare topology describe`: print the topology graphs (no broker needed)."""

from __future__ import annotations

import typer

from rideshare.cli.common import console, settings, user_errors
from topologies import DEFAULT_TOPOLOGIES, TopologyName

app = typer.Typer(help="Inspect the stream topologies.", no_args_is_help=True)


@app.command()
def describe(
    output_format: str = typer.Option("text", "--format", "-f", help="text (readable listing) or mermaid (flowchart)."),
    topologies: str = typer.Option(",".join(DEFAULT_TOPOLOGIES), "--topologies",
                                   help=f"Comma-separated topologies, from: {', '.join(TopologyName)}."),
) -> None:
    """Print sources -> operators -> sinks of each topology, from the declarations the workers run.

    Builds the Faust app without starting it, so it works with Kafka down. Paste the mermaid output
    into any Mermaid renderer (GitHub Markdown renders it in ```mermaid blocks).
    """
    from rideshare.workers import build_worker_app, parse_topologies
    from streams.app import context_of
    from streams.graph import render_mermaid, render_text

    renderers = {"text": render_text, "mermaid": render_mermaid}
    if output_format not in renderers:
        raise typer.BadParameter(f"choose one of: {', '.join(renderers)}", param_hint="--format")
    with user_errors():
        names = parse_topologies(topologies)
        built = build_worker_app(settings(), topologies=names)
        graphs = context_of(built).registry.topologies.values()
        console.print(renderers[output_format](graphs), markup=False, highlight=False, end="", soft_wrap=True)
