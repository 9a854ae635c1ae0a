"""Bronze: every record of every catalog event topic lands once in its Delta table, or in the DLQ.

Bronze runs in a worker role of its own (`streams.app.WorkerRole.BRONZE`): its own consumer group, so
no worker running other topologies can take its partitions, and a lake outage stalls only bronze
while the real-time path keeps flowing; bronze catches up once the lake is back.

Per source topic one batch agent (the lean path of streams/batches.py) takes micro-batches of up to
`bronze_batch_max_records` records or `bronze_batch_max_seconds` seconds, and for each batch:

1. checks, once per partition after each assignment, that the topic's offsets continue what bronze
   committed (same Kafka topic id, end offset not below the committed one); a partition that does not
   is stopped — never acked, not fetched — with an error saying what to run (`rideshare lakehouse
   rebase`), and a metric;
2. classifies the records and drops those already committed (the writer reads the Delta app
   transactions: a batch re-delivered after a crash is skipped);
3. publishes the new dead letters to the DLQ topic (raw bytes; source coordinates and the reason in
   headers; a dead letter larger than a Kafka message may be is published truncated, with its size and
   SHA-256) and waits for the broker's acks;
4. commits the dead letters, then the event rows, to Delta (in a worker thread, off the event loop),

and only then returns, which is when the batch agent acks the batch's offsets. Failures are
classified: the lake unreachable or full is retried with bounded back-off until it is back (metric
`rideshare_bronze_retries`); any other commit failure is retried `bronze_max_batch_attempts` times,
then the batch's events are dead-lettered with the reason and ingestion continues.
The DLQ *topic* is at-least-once (a crash between its publish and the DLQ table commit re-publishes);
the DLQ *table* is exactly-once.

Bronze reads the raw catalog topics, not the dedup output: duplicates in the stream stay separate
rows, silver dedups them. Step markers of the lockstep loop are counted and skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import faust

from core.kafka_admin import topic_state
from core.settings import Settings
from lakehouse.bronze.exceptions import BronzeTransientError, OffsetDiscontinuityError
from lakehouse.bronze.specs import EVENT_TABLES, bronze_table_uri
from lakehouse.bronze.validation import KafkaRecord, Rejected
from lakehouse.bronze.writer import BatchPlan, BatchResult, BronzeWriter
from schemas.catalog import topic_spec
from streams.batches import LeanConsumer, batch_agent
from streams.context import context_of
from streams.graph import Node, Topology
from streams.topics import catalog_topic

__all__ = ["BronzeIngest", "build", "dead_letter_message", "kafka_record"]

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_RETRY_DELAY_S = 30.0
STOP_GRACE_S = 60.0
STOPPED_RECHECK_S = 15.0
EXIT_BATCH_NOT_COMMITTED = 75  # EX_TEMPFAIL: restart the worker, the batch is re-delivered
# Kafka's default max.message.bytes is 1 MiB; a dead letter stays well below it, headers included.
DEAD_LETTER_MAX_BYTES = 512 * 1024
HEADER_VALUE_MAX_BYTES = 1024


def kafka_record(message: Any) -> KafkaRecord:
    """Our view of a Faust message: coordinates, broker timestamp in ms, raw key, value and headers."""
    return KafkaRecord(message.topic, message.partition, message.offset, round(message.timestamp * 1000),
                       message.key, message.value, tuple(message.headers or ()))


def _clip(data: bytes, limit: int) -> bytes:
    return data if len(data) <= limit else data[:limit]


DeadLetterMessage = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


def dead_letter_message(dead: Rejected, *, max_bytes: int = DEAD_LETTER_MAX_BYTES) -> DeadLetterMessage:
    """(key, value, headers) of the DLQ topic record of a rejected record, always small enough to produce.

    Headers say where it came from and why it was rejected. A key or value that would not fit is
    truncated, and the headers then carry the original size and SHA-256 so it can be matched with the
    whole bytes kept in the DLQ table."""
    record = dead.record
    headers = [
        ("source_topic", record.topic.encode()),
        ("source_partition", str(record.partition).encode()),
        ("source_offset", str(record.offset).encode()),
        ("source_timestamp_ms", str(record.timestamp_ms).encode()),
        ("error_type", dead.error_type.encode()),
        ("error_message", _clip(dead.error_message.encode(), HEADER_VALUE_MAX_BYTES)),
    ]
    key, value = record.key, record.value
    if key is not None and len(key) > HEADER_VALUE_MAX_BYTES:
        headers += [("key_truncated_from_bytes", str(len(key)).encode()), ("key_sha256", hashlib.sha256(key).hexdigest().encode())]
        key = key[:HEADER_VALUE_MAX_BYTES]
    room = max_bytes - sum(len(name) + len(data) for name, data in headers) - len(key or b"") - 256
    if value is not None and len(value) > room:
        headers += [("value_truncated_from_bytes", str(len(value)).encode()),
                    ("value_sha256", hashlib.sha256(value).hexdigest().encode())]
        value = value[:max(0, room)]
    return key, value, headers


def _timed(node: Node, function: Callable[..., T]) -> Callable[..., T]:
    """`function`, its CPU time counted on `node` (in the executor thread that runs it)."""
    def call(*args: Any) -> T:
        with node.timed():
            return function(*args)
    return call


class BronzeIngest:
    """One topic's batch processor: continuity check → plan → DLQ topic → Delta commits."""

    def __init__(self, app: faust.App, settings: Settings, writer: BronzeWriter, dlq_topic: faust.TopicT,
                 nodes: dict[str, Node]) -> None:
        self.app = app
        self.settings = settings
        self.writer = writer
        self.dlq_topic = dlq_topic
        self.metrics = context_of(app).metrics
        self.nodes = nodes
        self.table_name = writer.table.table_name
        self.topic = writer.spec.qualified(settings.topic_namespace)
        self.max_attempts = settings.bronze_max_batch_attempts
        self.checked: set[int] = set()  # partitions checked since the last assignment
        self.stopped: dict[int, str] = {}  # partition -> why it is stopped
        self.resume_at: dict[int, int] = {}  # stopped partition -> first offset it held back

    def on_revoked(self) -> None:
        self.checked.clear()
        self.stopped.clear()
        self.resume_at.clear()

    async def process(self, messages: Sequence[Any]) -> Sequence[Any] | None:
        loop = asyncio.get_running_loop()
        # Continuity is checked at the first batch of each partition after an assignment (which also binds the
        # table to the topic's id), and whenever records would be skipped as already committed: a re-delivery
        # after a crash, or a topic whose offsets restarted under the same name.
        suspicious = await loop.run_in_executor(None, self._redelivered, messages)
        if suspicious:
            await loop.run_in_executor(None, self._check, suspicious)
        held = [m for m in messages if m.partition in self.stopped]
        for message in held:  # where to read again from once the partition is resumed
            self.resume_at[message.partition] = min(self.resume_at.get(message.partition, message.offset), message.offset)
        records = [kafka_record(m) for m in messages if m.partition not in self.stopped]
        if records:
            await self.ingest(records)
            unbound = {r.partition for r in records} - self.checked
            if unbound:  # the table was created by this batch: bind it to the topic's id now
                await loop.run_in_executor(None, self._check, unbound)
        return held

    def _redelivered(self, messages: Sequence[Any]) -> set[int]:
        """Partitions of the batch not checked since the assignment, or holding offsets bronze already committed."""
        self.writer.refresh()
        lowest: dict[int, int] = {}
        for message in messages:
            lowest[message.partition] = min(lowest.get(message.partition, message.offset), message.offset)
        return {partition for partition, offset in lowest.items() if partition not in self.checked
                or ((committed := self.writer.committed_offset(self.topic, partition)) is not None and offset <= committed)}

    def _check(self, partitions: set[int]) -> list[int]:
        """Check offset continuity of `partitions`; returns those that are fine again after being stopped."""
        try:
            state = topic_state(self.settings.bootstrap_servers, self.topic)
        except Exception as exc:  # the broker not answering is not a discontinuity: check again next batch
            log.warning("bronze %s: could not check offset continuity (%s); checking again with the next batch", self.table_name, exc)
            return []
        resumed = []
        for partition in partitions:
            try:
                bound = self.writer.check_continuity(self.topic, state.topic_id, {partition: state.high_watermarks.get(partition, 0)})
            except OffsetDiscontinuityError as exc:
                if partition not in self.stopped:
                    log.error("bronze %s partition %d stopped: %s", self.table_name, partition, exc)
                self.stopped[partition] = str(exc)
                self.metrics.offset_discontinuities.labels(self.writer.spec.key, str(partition)).set(1)
            else:
                if self.stopped.pop(partition, None) is not None:
                    self.metrics.offset_discontinuities.labels(self.writer.spec.key, str(partition)).set(0)
                    resumed.append(partition)
                if not bound:
                    continue  # the table does not exist yet: check again once it binds to the topic's id
            self.checked.add(partition)
        return resumed

    async def recheck_stopped(self) -> None:
        """Resume stopped partitions an operator has rebased (`rideshare lakehouse rebase`)."""
        if not self.stopped:
            return
        resumed = await asyncio.get_running_loop().run_in_executor(None, self._check, set(self.stopped))
        if resumed:
            consumer = cast(LeanConsumer, self.app.consumer)
            tps = {tp for tp in consumer.assignment() if tp.topic == self.topic and tp.partition in resumed}
            for tp in tps:  # read the held-back records again (the partition's read position is past them)
                offset = self.resume_at.pop(tp.partition, None)
                if offset is not None:
                    await consumer.rewind(tp, offset)
            consumer.release(tps)
            log.warning("bronze %s: partitions %s continue after a rebase", self.table_name, sorted(resumed))

    async def ingest(self, records: Sequence[KafkaRecord]) -> BatchResult:
        """Write one batch to bronze; returns only once it is durably in Delta (retrying until then)."""
        loop = asyncio.get_running_loop()
        delay_s, attempts = 0.5, 0
        dead_letter_events: str | None = None
        while True:
            try:
                plan: BatchPlan = await loop.run_in_executor(None, _timed(self.nodes["batch"], self.writer.plan), records)
                await self._publish(plan.dead_letters)
                result: BatchResult = await loop.run_in_executor(None, _timed(self.nodes["table"], self.writer.commit), plan,
                                                                 dead_letter_events)
            except BronzeTransientError as exc:
                attempts += 1
                self._retrying("lake_unreachable" if exc.lake_unreachable else "commit_failed", records, exc, delay_s)
                if not exc.lake_unreachable and attempts >= self.max_attempts:
                    dead_letter_events = f"bronze could not commit these events after {attempts} attempts: {exc}"
            except Exception as exc:  # the broker down for the DLQ publish, or a bug: never ack an unwritten batch
                self._retrying("unexpected", records, exc, delay_s)
            else:
                self._observe(len(records), result)
                return result
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, MAX_RETRY_DELAY_S)

    def _retrying(self, reason: str, records: Sequence[KafkaRecord], exc: BaseException, delay_s: float) -> None:
        self.nodes["batch"].record(errors=1)
        self.metrics.bronze_retries.labels(self.table_name, reason).inc()
        log.error("bronze %s: batch of %d records not written (%s: %s); retrying in %.1f s", self.table_name, len(records),
                  reason, exc, delay_s, exc_info=reason == "unexpected")

    async def _publish(self, dead_letters: list[Rejected]) -> None:
        if not dead_letters:
            return
        pending = []
        for dead in dead_letters:
            key, value, headers = dead_letter_message(dead)
            pending.append(await self.dlq_topic.send(key=key, value=value, headers=headers, force=True))
        await asyncio.gather(*pending)  # broker acks before the DLQ table commit

    def _observe(self, received: int, result: BatchResult) -> None:
        self.nodes["batch"].record(events_in=received, events_out=received - result.skipped - result.markers)
        self.nodes["table"].record(events_in=result.written, events_out=result.written)
        self.nodes["dlq"].record(events_in=result.dead_lettered, events_out=result.dead_lettered)
        self.metrics.events_processed.labels("bronze").inc(received)
        if result.commits:
            self.metrics.batch_size.labels(self.table_name).observe(result.written + result.dead_lettered)
            self.metrics.commit_latency_seconds.labels(self.table_name).observe(result.commit_seconds)
        for reason, count in result.error_types.items():
            self.metrics.dlq_records.labels(self.writer.spec.name, reason).inc(count)
        if result.skipped:
            log.info("bronze %s: skipped %d re-delivered records already in Delta", self.table_name, result.skipped)


class _BronzeProcessor:
    """The batch processor wrapper: bronze keeps no table state, so its checkpoint writes nothing."""

    def __init__(self, ingest: BronzeIngest) -> None:
        self.ingest = ingest

    async def process(self, messages: Sequence[Any]) -> Sequence[Any] | None:
        started = time.perf_counter()
        batch = asyncio.ensure_future(self.ingest.process(messages))
        try:
            held = await asyncio.shield(batch)
        except asyncio.CancelledError:
            await _finish_before_ack(batch, self.ingest.table_name)
            raise
        log.debug("bronze %s: %d records in %.3f s", self.ingest.table_name, len(messages), time.perf_counter() - started)
        return held

    def checkpoint(self) -> None:
        return None


async def _finish_before_ack(batch: asyncio.Future[Any], table_name: str) -> None:
    """The agent is being cancelled (worker stop) with a batch in flight: let it reach Delta first. If it
    cannot (the lake is down and the batch is retrying), leave without committing any offset rather
    than lose it."""
    try:
        await asyncio.wait_for(asyncio.shield(batch), STOP_GRACE_S)
    except (TimeoutError, asyncio.CancelledError):
        if not batch.done():
            log.critical("bronze %s: stopping with a batch not yet in Delta; exiting without committing its offsets "
                         "(it is re-delivered on restart)", table_name)
            os._exit(EXIT_BATCH_NOT_COMMITTED)


def build(app: faust.App, settings: Settings) -> Topology:
    """One batch agent per catalog event topic, into its Delta table and the DLQ."""
    max_records, within_s = settings.bronze_batch_max_records, settings.bronze_batch_max_seconds
    topology = Topology("bronze", f"micro-batches of up to {max_records} records or {within_s:g} s per topic "
                                  "-> Delta bronze tables, exactly once; invalid records -> DLQ topic + DLQ table")
    dlq_spec = topic_spec("dlq")
    dlq_topic = catalog_topic(app, settings, "dlq")
    dlq_topic_node = topology.sink("dlq-topic", "dead letters: raw bytes + source/error headers",
                                   target=dlq_spec.qualified(settings.topic_namespace))
    dlq_table_node = topology.sink("dlq-table", "dead letters with error type and message", target=bronze_table_uri(settings, "dlq"))
    topology.connect(dlq_topic_node, dlq_table_node)
    ingests: list[BronzeIngest] = []
    for table in EVENT_TABLES:
        spec = topic_spec(table.topic_key)
        source = topology.source(spec.key, f"raw {spec.value_schema} records", target=spec.qualified(settings.topic_namespace))
        batch = topology.operator(f"batch-{spec.key}", "shared classification + clock, drop offsets already committed")
        sink = topology.sink(f"delta-{table.table_name}", "append with app transaction per partition",
                             target=bronze_table_uri(settings, spec.key))
        topology.connect(source, batch, sink)
        topology.connect(batch, dlq_topic_node)
        ingest = BronzeIngest(app, settings, BronzeWriter(settings, spec.key), dlq_topic,
                              {"batch": batch, "table": sink, "dlq": dlq_topic_node})
        ingests.append(ingest)
        batch_agent(app, catalog_topic(app, settings, spec.key), _BronzeProcessor(ingest),
                    name=f"{settings.topic_namespace}bronze-{spec.key}", max_events=max_records, within_s=within_s,
                    checkpoint_s=0.0, max_buffered=2 * max_records)

    @app.on_partitions_revoked.connect
    async def forget_checks(sender: Any, revoked: Any, **kwargs: Any) -> None:
        for ingest in ingests:
            ingest.on_revoked()

    @app.timer(STOPPED_RECHECK_S)
    async def recheck_stopped() -> None:
        for ingest in ingests:
            await ingest.recheck_stopped()

    return topology
