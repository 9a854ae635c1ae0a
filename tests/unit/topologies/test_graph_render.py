from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.graph import Topology, TopologyRegistry, render_mermaid, render_text


def sample() -> Topology:
    topology = Topology("demo", "a sample")
    source = topology.source("in", "events", target="ns.rideshare.gps")
    op = topology.operator("window", "aggregate")
    sink = topology.sink("out", "redis", target="ns.live:x")
    topology.connect(source, op, sink)
    return topology


def test_nodes_have_global_ids_and_edges_follow_the_chain() -> None:
    topology = sample()
    assert list(topology.nodes) == ["demo.in", "demo.window", "demo.out"]
    assert topology.edges == [("demo.in", "demo.window"), ("demo.window", "demo.out")]


def test_a_node_cannot_be_declared_twice() -> None:
    topology = sample()
    with pytest.raises(ValueError, match="twice"):
        topology.operator("window", "again")


def test_counters_show_up_in_the_registry_view_with_lag_of_sources() -> None:
    registry = TopologyRegistry()
    topology = registry.add(sample())
    topology.nodes["demo.window"].record(events_in=3, events_out=2, errors=1)
    registry.lag_probe = lambda topic: {0: 5, 1: 7} if topic == "ns.rideshare.gps" else {}
    nodes = {node["id"]: node for node in registry.as_dict()["topologies"][0]["nodes"]}
    assert (nodes["demo.window"]["events_in"], nodes["demo.window"]["events_out"], nodes["demo.window"]["errors"]) == (3, 2, 1)
    assert nodes["demo.in"]["lag"] == {"partitions": {0: 5, 1: 7}, "total": 12}
    assert "lag" not in nodes["demo.out"]
    assert registry.node("demo.out").target == "ns.live:x"


def test_text_and_mermaid_render_every_node_and_edge() -> None:
    text = render_text([sample()])
    assert "[source  ] demo.in: events  -> ns.rideshare.gps" in text and "demo.window --> demo.out" in text
    mermaid = render_mermaid([sample()])
    assert mermaid.startswith("flowchart LR\n") and "subgraph demo" in mermaid
    assert 'demo_in[/"in<br/><small>ns.rideshare.gps</small>"/]' in mermaid
    assert "demo_window --> demo_out" in mermaid


def test_describe_cli_prints_the_real_topologies_without_a_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rideshare.cli import app

    monkeypatch.setenv("RIDESHARE_LOCAL_DIR", str(tmp_path))
    monkeypatch.setenv("RIDESHARE_KAFKA_PORT", "1")  # nothing listens there: describe must not connect
    result = CliRunner().invoke(app, ["topology", "describe", "--topologies", "dedup,gps,surge", "--format", "mermaid"])
    assert result.exit_code == 0, result.output
    assert "subgraph surge" in result.output and "dedup_seen_gps --> gps_window" in result.output
    bad = CliRunner().invoke(app, ["topology", "describe", "--topologies", "nope"])
    assert bad.exit_code == 1 and "unknown topology" in bad.output


def test_a_node_clock_times_from_the_end_of_its_first_batch_to_the_end_of_its_last() -> None:
    node = sample().nodes["demo.window"]
    node.record(events_out=4)  # nothing in: the clock does not start
    assert node.clock.first_at == 0.0
    node.record(events_in=100)  # the first batch arrived before the clock could see it: it only starts it
    started = node.clock.as_dict()
    assert started["events"] == 0 and started["first_at"] > 0 and started["first_cpu_s"] > 0
    sum(n * n for n in range(200_000))  # CPU spent between batches is the node's process working
    node.record(events_in=30)
    node.record(events_in=20, errors=1)
    clock = node.as_dict()["clock"]
    assert clock["events"] == 50 and node.events_in == 150
    assert clock["first_at"] == started["first_at"] and clock["last_at"] >= clock["first_at"]
    assert clock["last_cpu_s"] > clock["first_cpu_s"]
