"""The demo's status line for a Faust worker, from its /topology/ JSON."""

from __future__ import annotations

from rideshare.cli.demo import worker_summary


def test_worker_summary_counts_reads_after_sources_lag_once_per_topic_and_errors() -> None:
    topology = {"topologies": [
        {"name": "dedup", "nodes": [
            {"id": "dedup.gps", "kind": "source", "target": "rideshare.gps", "events_in": 0, "lag": {"total": 7}},
            {"id": "dedup.decode-gps", "kind": "operator", "events_in": 1200, "errors": 2},
            {"id": "dedup.seen-gps", "kind": "operator", "events_in": 1200},
        ], "edges": [["dedup.gps", "dedup.decode-gps"], ["dedup.decode-gps", "dedup.seen-gps"]]},
        {"name": "bronze", "nodes": [
            {"id": "bronze.gps", "kind": "source", "target": "rideshare.gps", "events_in": 0, "lag": {"total": 7}},
            {"id": "bronze.batch-gps", "kind": "operator", "events_in": 1100},
            {"id": "bronze.delta-gps", "kind": "sink", "events_in": 1100},
        ], "edges": [["bronze.gps", "bronze.batch-gps"], ["bronze.batch-gps", "bronze.delta-gps"]]},
    ]}
    assert worker_summary(topology) == "2,300 events read · lag 7 · [red]2 errors[/]"
    assert worker_summary({"topologies": []}) == "0 events read · lag 0"
