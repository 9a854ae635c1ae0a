"""What the topologies of one app share, attached to the Faust app by `create_app`."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from core.settings import Settings
from streams.graph import TopologyRegistry
from streams.metrics import StreamMetrics

__all__ = ["StreamsContext", "attach_context", "context_of"]


@dataclass
class StreamsContext:
    """Settings, the topology graphs and the metrics of one app."""

    settings: Settings
    registry: TopologyRegistry
    metrics: StreamMetrics


def attach_context(app: faust.App, context: StreamsContext) -> None:
    app.rideshare = context  # type: ignore[attr-defined]  # faust.App has no slot for user context


def context_of(app: faust.App) -> StreamsContext:
    return app.rideshare  # type: ignore[attr-defined, no-any-return]  # set by create_app
