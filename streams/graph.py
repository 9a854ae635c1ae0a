"""Declarative topology graphs: sources → operators → sinks, with live counters.

Each topology module's `build(app, settings, ...)` declares its graph here and wires its agents to the
same node objects, so `rideshare topology describe`, the `/topology/` web view and the runtime
counters all come from one declaration. Node ids are global (`<topology>.<node>`) so a graph can point
at the node of a stream it was handed (GPS continues from the dedup node of the stream it consumes).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

__all__ = ["Node", "NodeKind", "ThroughputClock", "Topology", "TopologyRegistry", "render_mermaid", "render_text"]

NodeKind = Literal["source", "operator", "sink"]
_SHAPES: dict[str, tuple[str, str]] = {"source": ("[/", "/]"), "operator": ("[", "]"), "sink": ("[(", ")]")}


@dataclass
class ThroughputClock:
    """Events a node took in after its first batch, with the wall time (epoch s) and process CPU at both ends.

    The first batch only starts the clock (its events arrived before it), so `events / (last_at - first_at)`
    is the node's rate while it had work, start-up and group join excluded."""

    first_at: float = 0.0
    last_at: float = 0.0
    first_cpu_s: float = 0.0
    last_cpu_s: float = 0.0
    events: int = 0

    def tick(self, events: int) -> None:
        now, cpu_s = time.time(), time.process_time()
        if self.first_at:
            self.events += events
        else:
            self.first_at, self.first_cpu_s = now, cpu_s
        self.last_at, self.last_cpu_s = now, cpu_s

    def as_dict(self) -> dict[str, float | int]:
        return {"first_at": self.first_at, "last_at": self.last_at, "first_cpu_s": self.first_cpu_s,
                "last_cpu_s": self.last_cpu_s, "events": self.events}


@dataclass
class Node:
    """One step of a topology; the runtime increments its counters."""

    id: str
    kind: NodeKind
    description: str
    target: str = ""  # Kafka topic, Redis key or Delta table URI the node reads or writes
    events_in: int = 0
    events_out: int = 0
    errors: int = 0
    cpu_ns: int = 0  # CPU time of the event-loop thread spent in this node (per batch, not per event: cheap)
    # a throughput clock read inside the worker, from the end of the first batch in to the end of the last:
    # an observer polling the web view sees counts late (a busy worker answers late) and would mistime them
    clock: ThroughputClock = field(default_factory=ThroughputClock)

    def record(self, *, events_in: int = 0, events_out: int = 0, errors: int = 0) -> None:
        self.events_in += events_in
        self.events_out += events_out
        self.errors += errors
        if events_in:
            self.clock.tick(events_in)

    @contextmanager
    def timed(self) -> Iterator[None]:
        """Count the thread's CPU time inside the block as this node's (awaits inside count only their own CPU)."""
        started = time.thread_time_ns()
        try:
            yield
        finally:
            self.cpu_ns += time.thread_time_ns() - started

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "description": self.description, "target": self.target,
                "events_in": self.events_in, "events_out": self.events_out, "errors": self.errors,
                "cpu_us": self.cpu_ns // 1000, "clock": self.clock.as_dict()}


@dataclass
class Topology:
    """A named graph of nodes and directed edges (by node id)."""

    name: str
    description: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def _add(self, name: str, kind: NodeKind, description: str, target: str) -> Node:
        node = Node(f"{self.name}.{name}", kind, description, target)
        if node.id in self.nodes:
            raise ValueError(f"node {node.id} declared twice")
        self.nodes[node.id] = node
        return node

    def source(self, name: str, description: str, *, target: str = "") -> Node:
        return self._add(name, "source", description, target)

    def operator(self, name: str, description: str, *, target: str = "") -> Node:
        return self._add(name, "operator", description, target)

    def sink(self, name: str, description: str, *, target: str = "") -> Node:
        return self._add(name, "sink", description, target)

    def connect(self, *chain: Node | str) -> None:
        """Edges along `chain` (nodes or node ids, possibly of another topology)."""
        ids = [item.id if isinstance(item, Node) else item for item in chain]
        self.edges.extend(pairwise(ids))

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "nodes": [node.as_dict() for node in self.nodes.values()],
                "edges": [list(edge) for edge in self.edges]}


class TopologyRegistry:
    """The topology graphs built into one app, and a probe of its consumer lag for the views."""

    def __init__(self) -> None:
        self.topologies: dict[str, Topology] = {}
        self.lag_probe: Callable[[str], dict[int, int]] | None = None

    def add(self, topology: Topology) -> Topology:
        if topology.name in self.topologies:
            raise ValueError(f"topology {topology.name} registered twice")
        self.topologies[topology.name] = topology
        return topology

    def node(self, node_id: str) -> Node:
        for topology in self.topologies.values():
            if node_id in topology.nodes:
                return topology.nodes[node_id]
        raise KeyError(f"no node {node_id!r}; build its topology first")

    def as_dict(self) -> dict[str, Any]:
        graphs = [topology.as_dict() for topology in self.topologies.values()]
        if self.lag_probe is not None:
            for graph in graphs:
                for node in graph["nodes"]:
                    if node["kind"] == "source" and node["target"]:
                        lag = self.lag_probe(node["target"])
                        node["lag"] = {"partitions": lag, "total": sum(lag.values())}
        return {"topologies": graphs}


def render_text(topologies: Iterable[Topology]) -> str:
    """A readable listing: each topology, its nodes with targets, then its edges."""
    lines: list[str] = []
    for topology in topologies:
        lines.append(f"{topology.name}: {topology.description}")
        for node in topology.nodes.values():
            target = f"  -> {node.target}" if node.target else ""
            lines.append(f"  [{node.kind:<8}] {node.id}: {node.description}{target}")
        for src, dst in topology.edges:
            lines.append(f"  {src} --> {dst}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _mermaid_id(node_id: str) -> str:
    return node_id.replace(".", "_").replace("-", "_")


def render_mermaid(topologies: Iterable[Topology]) -> str:
    """A Mermaid flowchart, one subgraph per topology (cross-topology edges included)."""
    lines = ["flowchart LR"]
    edges: list[tuple[str, str]] = []
    for topology in topologies:
        lines.append(f"  subgraph {topology.name}")
        for node in topology.nodes.values():
            left, right = _SHAPES[node.kind]
            label = node.id.split(".", 1)[1] + (f"<br/><small>{node.target}</small>" if node.target else "")
            lines.append(f'    {_mermaid_id(node.id)}{left}"{label}"{right}')
        lines.append("  end")
        edges.extend(topology.edges)
    lines.extend(f"  {_mermaid_id(src)} --> {_mermaid_id(dst)}" for src, dst in edges)
    return "\n".join(lines) + "\n"
