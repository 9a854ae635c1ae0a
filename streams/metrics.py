"""Prometheus metrics of the streams worker, served at `/metrics` on the worker's web port.

Every app gets its own CollectorRegistry (tests build several apps in one process). Topologies
increment these; the bronze topology owns the DLQ, batch-size and commit-latency ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["StreamMetrics"]

_BATCH_BUCKETS = (1, 10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000)
_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class StreamMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.events_processed = Counter(
            "rideshare_stream_events_processed", "Events processed, by topology.", ["topology"], registry=r)
        self.decode_errors = Counter(
            "rideshare_stream_decode_errors", "Invalid records the real-time heads skipped, by reason (bronze dead-letters them).",
            ["topic", "reason"], registry=r)
        self.consumer_lag = Gauge(
            "rideshare_stream_consumer_lag", "Records between the high watermark and the worker's position.",
            ["topic", "partition"], registry=r)
        self.dedup_drops = Counter(
            "rideshare_dedup_drops", "Duplicate events dropped by event_id, by source topic.", ["topic"], registry=r)
        self.event_time_outliers = Counter(
            "rideshare_stream_event_time_outliers", "Events far ahead of their partition's clock (skipped).", ["topic"], registry=r)
        self.late_events = Counter(
            "rideshare_stream_late_events", "Events older than their window's allowed lateness (dropped).",
            ["topology"], registry=r)
        self.window_closes = Counter(
            "rideshare_stream_windows_closed", "Event-time windows closed and emitted.", ["topology"], registry=r)
        self.redis_publish_seconds = Histogram(
            "rideshare_redis_publish_seconds", "Time to write one batch of live state to Redis.", ["topology"],
            buckets=_LATENCY_BUCKETS_S, registry=r)
        self.redis_errors = Counter(
            "rideshare_redis_write_errors", "Live-state writes to Redis that failed (skipped; processing goes on).", ["topology"],
            registry=r)
        self.surge_updates = Counter(
            "rideshare_surge_updates", "Surge multipliers published (changed values only).", registry=r)
        self.dlq_records = Counter(
            "rideshare_dlq_records", "Records sent to the dead-letter topic and table.", ["source_topic", "reason"], registry=r)
        self.batch_size = Histogram(
            "rideshare_bronze_batch_size", "Records per bronze Delta commit.", ["table"], buckets=_BATCH_BUCKETS, registry=r)
        self.commit_latency_seconds = Histogram(
            "rideshare_bronze_commit_seconds", "Duration of one bronze Delta commit.", ["table"],
            buckets=_LATENCY_BUCKETS_S, registry=r)

        self.bronze_retries = Counter(
            "rideshare_bronze_retries", "Bronze batches retried, by table and failure class.", ["table", "reason"], registry=r)
        self.offset_discontinuities = Gauge(
            "rideshare_bronze_offset_discontinuity", "1 while a partition is stopped because its offsets no longer continue bronze's.",
            ["topic", "partition"], registry=r)

        self.stalled_partitions_healed = Counter(
            "rideshare_stream_stalled_partitions_healed", "Assigned partitions found not fetched and restarted.",
            ["topic", "partition"], registry=r)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric of this app."""
        return generate_latest(self.registry)
