"""Shared pieces of the CLI: the console, settings loading and turning our errors into exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from core.exceptions import RideshareError
from core.settings import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    return load_settings()


@contextmanager
def user_errors() -> Iterator[None]:
    """Print a RideshareError as one red line (its message says what to do) and exit 1."""
    try:
        yield
    except RideshareError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
