"""Bronze: every record of every catalog event topic lands once in its Delta table, or in the DLQ.

Per source topic one agent (concurrency 1) takes micro-batches of up to `bronze_batch_max_records`
records or `bronze_batch_max_seconds` seconds (`stream.take_events`), and for each batch:

1. classifies the records and drops those already committed (the writer reads the Delta app
   transactions: a batch re-delivered after a crash is skipped),
2. publishes the new dead letters to the DLQ topic (raw bytes; source coordinates and the reason in
   headers) and waits for the broker's acks,
3. commits the event rows, then the dead letters, to Delta (in a worker thread, off the event loop),

and only then returns, which is when `take_events` acknowledges the batch's offsets. A failure
anywhere is retried with back-off, never skipped: an unacknowledged batch is never lost, and one that
did reach Delta is skipped on the retry. The DLQ *topic* is at-least-once (a crash between its
publish and the DLQ table commit re-publishes); the DLQ *table* is exactly-once.

Bronze reads the raw catalog topics, not the dedup output: duplicates in the stream stay separate
rows, silver dedups them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from typing import Any

import faust

from core.settings import Settings
from lakehouse.bronze.specs import EVENT_TABLES, bronze_table_uri
from lakehouse.bronze.validation import KafkaRecord, Rejected
from lakehouse.bronze.writer import BatchPlan, BatchResult, BronzeWriter
from schemas.catalog import topic_spec
from streams.context import context_of
from streams.graph import Node, Topology, TopologyRegistry
from streams.topics import catalog_topic

__all__ = ["BronzeIngest", "build", "dead_letter_headers", "kafka_record"]

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 30.0
STOP_GRACE_S = 60.0
EXIT_BATCH_NOT_COMMITTED = 75  # EX_TEMPFAIL: restart the worker, the batch is re-delivered


def kafka_record(message: Any) -> KafkaRecord:
    """Our view of a Faust message: coordinates, broker timestamp in ms, raw key and value bytes."""
    return KafkaRecord(message.topic, message.partition, message.offset, round(message.timestamp * 1000),
                       message.key, message.value)


def dead_letter_headers(dead: Rejected) -> list[tuple[str, bytes]]:
    """Headers of a DLQ topic record: where it came from and why it was rejected."""
    record = dead.record
    return [
        ("source_topic", record.topic.encode()),
        ("source_partition", str(record.partition).encode()),
        ("source_offset", str(record.offset).encode()),
        ("source_timestamp_ms", str(record.timestamp_ms).encode()),
        ("error_type", dead.error_type.encode()),
        ("error_message", dead.error_message.encode()),
    ]


class BronzeIngest:
    """One topic's batch pipeline: plan → DLQ topic → Delta commit. Used by that topic's agent only."""

    def __init__(self, writer: BronzeWriter, dlq_topic: faust.TopicT, metrics: Any, nodes: dict[str, Node]) -> None:
        self.writer = writer
        self.dlq_topic = dlq_topic
        self.metrics = metrics
        self.nodes = nodes
        self.table_name = writer.table.table_name

    async def ingest(self, records: Sequence[KafkaRecord]) -> BatchResult:
        """Write one batch to bronze; returns only once it is durably in Delta (retrying until then)."""
        loop = asyncio.get_running_loop()
        delay_s = 0.5
        while True:
            try:
                plan: BatchPlan = await loop.run_in_executor(None, self.writer.plan, records)
                await self._publish(plan.dead_letters)
                result: BatchResult = await loop.run_in_executor(None, self.writer.commit, plan)
            except Exception as exc:  # anything (lake down, broker down, a bug) must not ack the batch
                self.nodes["batch"].record(errors=1)
                log.error("bronze %s: batch of %d records not written (%s); retrying in %.1f s — check the lake at %s "
                          "and the broker", self.table_name, len(records), exc, delay_s, self.writer.events_uri, exc_info=True)
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, MAX_RETRY_DELAY_S)
                continue
            self._observe(len(records), result)
            return result

    async def _publish(self, dead_letters: list[Rejected]) -> None:
        if not dead_letters:
            return
        pending = [
            await self.dlq_topic.send(key=dead.record.key, value=dead.record.value, headers=dead_letter_headers(dead), force=True)
            for dead in dead_letters
        ]
        await asyncio.gather(*pending)  # broker acks before the DLQ table commit

    def _observe(self, received: int, result: BatchResult) -> None:
        self.nodes["batch"].record(events_in=received, events_out=received - result.skipped)
        self.nodes["table"].record(events_in=result.written, events_out=result.written)
        self.nodes["dlq"].record(events_in=result.dead_lettered, events_out=result.dead_lettered)
        self.metrics.events_processed.labels("bronze").inc(received)
        if result.commits:
            self.metrics.batch_size.labels(self.table_name).observe(result.written + result.dead_lettered)
            self.metrics.commit_latency_seconds.labels(self.table_name).observe(result.commit_seconds)
        source_topic = self.writer.spec.name
        for reason, count in result.error_types.items():
            self.metrics.dlq_records.labels(source_topic, reason).inc(count)
        if result.skipped:
            # Normal after a crash or rebalance. Not normal when the topics were deleted and recreated while
            # the lake was kept: offsets restart at 0 and everything below the committed versions is skipped.
            log.info("bronze %s: skipped %d re-delivered records already in Delta (if the Kafka topics were recreated, "
                     "start from an empty lake: their offsets restarted)", self.table_name, result.skipped)


def build(app: faust.App, settings: Settings, registry: TopologyRegistry) -> Topology:
    metrics = context_of(app).metrics
    max_records, within_s = settings.bronze_batch_max_records, settings.bronze_batch_max_seconds
    topology = Topology("bronze", f"micro-batches of up to {max_records} records or {within_s:g} s per topic "
                                  "-> Delta bronze tables, exactly once; invalid records -> DLQ topic + DLQ table")
    dlq_spec = topic_spec("dlq")
    dlq_topic = catalog_topic(app, settings, "dlq")
    dlq_topic_node = topology.sink("dlq-topic", "dead letters: raw bytes + source/error headers",
                                   target=dlq_spec.qualified(settings.topic_namespace))
    dlq_table_node = topology.sink("dlq-table", "dead letters with error type and message", target=bronze_table_uri(settings, "dlq"))
    topology.connect(dlq_topic_node, dlq_table_node)
    for table in EVENT_TABLES:
        spec = topic_spec(table.topic_key)
        source = topology.source(spec.key, f"raw {spec.value_schema} records", target=spec.qualified(settings.topic_namespace))
        batch = topology.operator(f"batch-{spec.key}", "decode + validate, drop offsets already committed")
        sink = topology.sink(f"delta-{table.table_name}", "append with app transaction per partition",
                             target=bronze_table_uri(settings, spec.key))
        topology.connect(source, batch, sink)
        topology.connect(batch, dlq_topic_node)
        ingest = BronzeIngest(BronzeWriter(settings, spec.key), dlq_topic, metrics,
                              {"batch": batch, "table": sink, "dlq": dlq_topic_node})
        _add_agent(app, catalog_topic(app, settings, spec.key), f"{settings.topic_namespace}bronze-{spec.key}",
                   ingest, max_records, within_s)
    return topology


async def _finish_before_ack(batch: asyncio.Future[BatchResult], table_name: str) -> None:
    """The agent is being cancelled (worker stop, rebalance) with a batch in flight.

    take_events acknowledges the batch in a `finally` even on cancellation, and Faust commits
    acknowledged offsets on the way out: let the in-flight batch reach Delta first. If it cannot (the
    lake is down and the batch is retrying), leave without committing any offset rather than lose it.
    """
    try:
        await asyncio.wait_for(asyncio.shield(batch), STOP_GRACE_S)
    except (TimeoutError, asyncio.CancelledError):
        if not batch.done():
            log.critical("bronze %s: stopping with a batch not yet in Delta; exiting without committing its offsets "
                         "(it is re-delivered on restart)", table_name)
            os._exit(EXIT_BATCH_NOT_COMMITTED)


def _add_agent(app: faust.App, source: faust.TopicT, name: str, ingest: BronzeIngest, max_records: int, within_s: float) -> None:
    async def bronze_agent(stream: faust.StreamT) -> None:
        # take_events acks the batch's offsets after this loop body returns, i.e. after the Delta commit.
        async for events in stream.take_events(max_records, within=within_s):
            started = time.perf_counter()
            batch = asyncio.ensure_future(ingest.ingest([kafka_record(event.message) for event in events]))
            try:
                result = await asyncio.shield(batch)
            except asyncio.CancelledError:
                await _finish_before_ack(batch, ingest.table_name)
                raise
            log.debug("bronze %s: %d records -> %d rows, %d dead letters, %d skipped in %.3f s", ingest.table_name,
                      len(events), result.written, result.dead_lettered, result.skipped, time.perf_counter() - started)

    app.agent(source, name=name, concurrency=1)(bronze_agent)
