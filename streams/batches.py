"""The lean consumption path: Kafka messages of batch topics reach their agent in batches.

Faust delivers each message through a chain built for one event at a time: the consumer's drain
loop wraps every callback in `wait_first` (two tasks per message), the conductor decodes it into an
`Event` and puts it on the channel's queue, the stream takes it off, runs sensors and processors,
and acks it with more sensors. That chain costs tens of µs per message on our machines, several
times the work our topologies do per event. This module keeps Faust as the runtime (worker,
group membership, assignment and rebalances, offset commits, tables and their changelogs, web
views) and replaces only that chain for the topics that opt in:

- `LeanConsumer` (through the `rideshare-kafka` transport) hands each fetched message of a batch
  topic to that topic's `MessageBuffer` without an await; every other topic (table changelogs,
  internal topics) takes Faust's own path unchanged.
- `MessageBuffer` holds the messages per partition, bounded: a partition whose buffer is full stops
  being fetched (Faust's own `on_buffer_full`) until it drains. It accepts each partition's offsets
  only in sequence, from the position the partition was last sought to: records fetched before a
  seek but handed over after it (Faust's fetches and seeks run on the consumer thread, its
  deliveries on the event loop) are either the continuation of what it holds or dropped, and a
  record ahead of the sequence makes the consumer seek back to it. So no interleaving of
  rebalances, seeks and fetches can skip a message, or buffer one twice. A revoke clears it.
- `BatchAgent` takes up to `max_events` messages (or what arrived within `within_s`) and awaits its
  `BatchProcessor.process` on the list (state in memory, side effects such as Redis or Delta). Every
  `checkpoint_s` it calls `checkpoint()` (the processor writes its changed state to its Faust tables,
  whose changelogs make it recoverable) and only then acks the messages processed since the last
  checkpoint: an offset is committed only once the state that includes it is durable, and table
  writes are made once per key per checkpoint instead of once per event.
- Batch messages are not tracked as Faust's unacked messages, and the agent keeps only their offsets
  until its checkpoint, which acks them per partition in one step (`LeanConsumer.ack_offsets`). Faust's
  per-message ack (a lock, a weak-set entry, a wake-up each) and a 5 s checkpoint's ~200,000 live
  messages (which the collector's older generations then traversed) stalled the event loop ~0.4 s at
  every checkpoint at 38,000 events/s; the live map's latency tail was those stalls.
- Before Faust revokes partitions (which drops the acked offsets of revoked partitions before it
  commits), the consumer lets each batch agent finish its batch in flight, checkpoint, ack and
  commit; then Faust's own revocation runs. Agents resume taking batches once partitions are assigned.

Faust's read offsets and gap tracking are not used for batch topics: Faust's commits take a gap as
acked, and records fetched before a seek could open one past messages never processed.

Faust internals used (pinned faust-streaming 0.15.3 and aiokafka 0.14.0, covered by
tests/unit/streams/test_batches.py and tests/integration/test_worker_scaleout.py):
`Consumer._drain_messages`, `perform_seek`, `on_partitions_revoked/assigned`, `_committed_offset`,
`_acked`, `_acked_index`, `_n_acked`, `_gap`, `_new_offset`, `_waiting_for_ack`, `ack_lock`, `on_buffer_full/drop`,
`_thread.call_thread`, `_new_consumer_thread` and `AIOKafkaConsumerThread._create_worker_consumer`, `Conductor` (and its
`_update_indices`), the current-event context variable that routes table writes to a partition (`on_partition_of`), and
aiokafka's partition positions (`_subscription`) and fetch wait (`_fetch_max_wait_ms`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, cast

import aiokafka
import faust
from faust.exceptions import ConsumerNotStarted, NotReady
from faust.streams import _current_event  # Faust keeps no public setter: its streams use this one
from faust.transport.conductor import Conductor
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import ack_lock
from mode import Service
from mode.utils.futures import notify

from streams.context import context_of
from streams.metadata import wait_until_listed

__all__ = ["BatchAgent", "BatchConductor", "BatchProcessor", "LeanConsumer", "MessageBuffer", "Transport", "batch_agent",
           "on_partition_of"]

log = logging.getLogger(__name__)


class BatchProcessor(Protocol):
    """What a batch agent runs: `process` each batch, `checkpoint` the state before offsets are acked."""

    async def process(self, messages: Sequence[Any]) -> Sequence[Any] | None:
        """Apply a batch of messages (each has topic, partition, offset, timestamp, key, value, headers).

        Returns the messages it holds back (never acked, so their offsets are never committed: a
        stopped partition), or None."""

    def checkpoint(self) -> None:
        """Write the state changed since the last checkpoint to the tables (synchronously: no await)."""


class _PartitionEvent:
    """The smallest stand-in for a Faust event: table writes read `.message.topic/.partition` from it."""

    __slots__ = ("__weakref__", "message")

    def __init__(self, message: Any) -> None:
        self.message = message


@contextmanager
def on_partition_of(message: Any) -> Iterator[None]:
    """Table writes inside go to the partition (RocksDB store and changelog) of `message`.

    Faust picks the partition of a table write from the current event, a context variable its
    streams set for each event; batch processing has no current event, so this sets one."""
    event = _PartitionEvent(message)
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class MessageBuffer:
    """Fetched messages of one batch topic, per partition, waiting for the topic's agent.

    `put` never blocks: past `max_buffered` messages the partition is taken out of the fetcher's
    active set (the messages already fetched are kept), and put back once the buffer is below half.
    Per partition it accepts only the next offset in sequence (`next_offset`, set where the partition
    is sought to); a partition with no position yet accepts nothing.
    """

    def __init__(self, consumer_of: Callable[[], Any], *, max_buffered: int) -> None:
        self._consumer_of = consumer_of
        self.max_buffered = max_buffered
        self._partitions: dict[TP, deque[Any]] = {}
        self._paused: set[TP] = set()
        self.next_offset: dict[TP, int] = {}  # partition -> the offset it continues with
        self.ahead: set[TP] = set()  # partitions that received a record past `next_offset`: to seek back
        self._size = 0
        self._arrived = asyncio.Event()
        self._marker_arrived = False  # a record with no value (a step marker) ends the wait for more
        self._last_take_full = False  # the last batch was full: a backlog is being drained

    def __len__(self) -> int:
        return self._size

    def buffered(self, tp: TP) -> int:
        """Messages of partition `tp` waiting for the agent."""
        queue = self._partitions.get(tp)
        return len(queue) if queue is not None else 0

    def put(self, tp: TP, message: Any) -> bool:
        """Buffer `message` if it is the next of its partition; False if not (already buffered, before the
        partition's position is known, or ahead of it: then the partition is in `ahead`)."""
        expected = self.next_offset.get(tp)
        offset = message.offset
        if offset != expected:
            if expected is not None and offset > expected:
                self.ahead.add(tp)
            return False
        self.next_offset[tp] = offset + 1
        queue = self._partitions.get(tp)
        if queue is None:
            queue = self._partitions[tp] = deque()
        queue.append(message)
        self._size += 1
        if message.value is None:
            self._marker_arrived = True
        if self._size >= self.max_buffered and tp not in self._paused:
            self._paused.add(tp)
            self._consumer_of().on_buffer_full(tp)
        if not self._arrived.is_set():
            self._arrived.set()
        return True

    def caught_up(self) -> bool:
        """Every partition with a position is buffered up to its high watermark (as of its last fetch)."""
        consumer = self._consumer_of()
        for tp, next_offset in self.next_offset.items():
            try:
                highwater = consumer.highwater(tp)
            except (AssertionError, ConsumerNotStarted):  # aiokafka's "not assigned" (a revoke, which clears this
                return False  # buffer next), or a worker stopping: no early return, the batch waits its linger
            if highwater is None or next_offset < highwater:
                return False
        return bool(self.next_offset)

    def expect(self, tp: TP, offset: int) -> None:
        """Partition `tp` reads on from `offset` (where it was sought to), unless it already has a position."""
        self.next_offset.setdefault(tp, offset)

    def holds_back(self, tp: TP) -> bool:
        """Partition `tp` is not fetched because the buffer is full (it resumes below half)."""
        return tp in self._paused

    def rewind(self, tp: TP, offset: int) -> None:
        """Partition `tp` reads on from `offset`: its buffered messages from there on are dropped (the
        consumer seeks it back to `offset` next)."""
        queue = self._partitions.get(tp)
        if queue:
            kept = deque(message for message in queue if message.offset < offset)
            self._size -= len(queue) - len(kept)
            self._partitions[tp] = kept
        self.next_offset[tp] = offset
        self.ahead.discard(tp)
        if self._paused and self._size < self.max_buffered // 2:
            self._resume_paused()

    async def take(self, max_events: int, within_s: float, *, idle_s: float | None = None) -> list[Any]:
        """Wait for messages (at most `idle_s` when given: then an empty list), then up to `within_s` more
        for `max_events` of them, unless a record with no value (a step marker) came, or the batch ends a
        backlog (the last batch was full and every partition is now read up to its high watermark: nothing
        more is there to wait for, so the tail lands now rather than after `within_s`); per-partition order."""
        if not self._size:
            if idle_s is None:
                await self._arrived.wait()
            else:
                try:
                    await asyncio.wait_for(self._arrived.wait(), max(idle_s, 0.0))
                except TimeoutError:
                    return []
        if self._size < max_events:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + within_s
            # a step marker closes its partition's step: the simulation sends nothing more until the loop answers
            drains_backlog = self._last_take_full
            while (self._size < max_events and not self._marker_arrived and not (drains_backlog and self.caught_up())
                   and (left := deadline - loop.time()) > 0):
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), left)
                except TimeoutError:
                    break
        return self._pop(max_events)

    def _pop(self, max_events: int) -> list[Any]:
        # Equal shares per partition, repeated until the batch is full, so a deep partition cannot
        # starve the others; within a partition the order is kept.
        taken: list[Any] = []
        queues = [queue for queue in self._partitions.values() if queue]
        while queues and len(taken) < max_events:
            share = max(1, (max_events - len(taken)) // len(queues))
            for queue in queues:
                for _ in range(min(share, len(queue), max_events - len(taken))):
                    taken.append(queue.popleft())
            queues = [queue for queue in queues if queue]
        self._size -= len(taken)
        self._marker_arrived = False
        self._last_take_full = len(taken) >= max_events
        if not self._size:
            self._arrived.clear()
        if self._paused and self._size < self.max_buffered // 2:
            self._resume_paused()
        return taken

    def interrupt(self) -> None:
        """Make a waiting `take` return now (empty if nothing arrived)."""
        self._arrived.set()

    def clear(self) -> None:
        """Drop every buffered message and every position (a revoke: partitions are sought to their
        committed offsets once assigned again, here or in another worker)."""
        self._partitions.clear()
        self.next_offset.clear()
        self.ahead.clear()
        self._size = 0
        self._arrived.clear()
        self._resume_paused()

    def _resume_paused(self) -> None:
        consumer = self._consumer_of()
        for tp in self._paused:
            consumer.on_buffer_drop(tp)
        self._paused.clear()


INTERNAL_TOPIC_WAIT_S = 30.0
"""How long the subscription waits for the broker to list an internal topic Faust has just created."""


class BatchConductor(Conductor):
    """Faust's topic conductor plus the buffers of the batch topics (by Kafka topic name)."""

    def __init__(self, app: faust.App, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.batch_buffers: dict[str, MessageBuffer] = {}
        self.batch_agents: list[BatchAgent] = []
        # Fault injection (tests): a partition the consumer stops fetching once it is assigned.
        self.fault_unfetched_partition: TP | None = None

    async def _update_indices(self) -> Iterable[str]:
        # Faust creates its internal topics (table changelogs, repartition topics) here, just before the consumer
        # subscribes. A broker can answer the group leader's next metadata request before it lists a topic created
        # a moment ago; the leader then assigns none of that topic's partitions ("Ignoring missing topic") until a
        # later metadata refresh rebalances the group: routed views answer 503 and a table recovers nothing.
        index = await super()._update_indices()
        await self._wait_until_listed(sorted({name for channel in list(self._topics) if channel.internal for name in channel.topics}))
        return index

    async def _wait_until_listed(self, topics: Sequence[str]) -> None:
        """Return once every broker's metadata lists every one of `topics` (or after `INTERNAL_TOPIC_WAIT_S`)."""
        try:
            producer = self.app.producer._ensure_producer()  # type: ignore[attr-defined]  # Faust's aiokafka driver
        except NotReady:  # Faust starts its producer before the conductor: only a worker shutting down gets here
            return
        unlisted = await wait_until_listed(producer.client, topics, timeout_s=INTERNAL_TOPIC_WAIT_S)
        for topic, brokers in unlisted.items():
            log.warning("internal topic %s is still not in the metadata of broker(s) %s after %.0f s: its partitions "
                        "stay unassigned until a later rebalance", topic, brokers, INTERNAL_TOPIC_WAIT_S)
        for topic in topics:  # the producer's own metadata learns them too: key-routed views hash keys with it
            if topic not in unlisted:
                with contextlib.suppress(TimeoutError, aiokafka.errors.KafkaError):
                    await asyncio.wait_for(producer.partitions_for(topic), INTERNAL_TOPIC_WAIT_S)


async def _never_returns() -> None:
    """Fault injection: a commit whose coordinator never answers."""
    await asyncio.Event().wait()


FETCH_MAX_WAIT_MS = 100
"""How long the broker may hold a fetch with no new record (Faust fixes 1,500 ms). The fetcher keeps
one fetch in flight per broker, and partitions with fetched records not yet taken are left out of it:
their next records wait until that fetch returns. In lockstep nothing follows a step's markers, so a
marker left out waited out the whole hold, stalling the step by up to 1.5 s."""


class LeanConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's aiokafka consumer thread with fetches held at most `FETCH_MAX_WAIT_MS`."""

    def _create_worker_consumer(self, transport: faust_aiokafka.Transport) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts its fetcher (pinned aiokafka)
        return consumer


class LeanConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer whose drain loop hands batch-topic messages to their buffer."""

    def _new_consumer_thread(self) -> LeanConsumerThread:
        return LeanConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held = set()

    @property
    def _conductor(self) -> BatchConductor:
        return cast(BatchConductor, self.app.topics)

    held: set[TP]  # partitions a topology stopped (`hold`) until it `release`s them

    def hold(self, tps: set[TP]) -> None:
        """Stop fetching `tps` until `release` (a topology cannot go on with them; /healthz lists them)."""
        self.held.update(tps)
        self.pause_partitions(tps)

    def release(self, tps: set[TP]) -> None:
        self.held.difference_update(tps)
        self.resume_partitions(tps)

    def ack_offsets(self, offsets: Mapping[TP, list[int]]) -> None:
        """Ack these processed offsets (per partition, in the order read): what `ack` does for each message,
        as one step per partition (Faust commits the run of acked offsets that follows its last commit)."""
        acks_enabled_for = self.app.topics.acks_enabled_for
        with ack_lock:  # the lock Faust's own acks take: `_acked`, `_acked_index` and `_n_acked` are shared
            for tp, tp_offsets in offsets.items():
                if not tp_offsets or not acks_enabled_for(tp.topic):
                    continue
                committed = self._committed_offset[tp]
                if committed is not None and tp_offsets[0] < committed:
                    tp_offsets = [offset for offset in tp_offsets if offset >= committed]
                index = self._acked_index[tp]
                if not index.isdisjoint(tp_offsets):
                    tp_offsets = [offset for offset in dict.fromkeys(tp_offsets) if offset not in index]
                index.update(tp_offsets)
                self._acked[tp].extend(tp_offsets)
                self._n_acked += len(tp_offsets)
            notify(self._waiting_for_ack)

    def _new_offset(self, tp: TP) -> int | None:
        """Faust's next offset to commit for `tp`, without its per-offset scan when the acked offsets are one
        consecutive run (a checkpoint's acks): Faust's scan groups every offset in Python, on the event loop."""
        acked = self._acked[tp]
        if acked and not self._gap[tp]:
            acked.sort()
            first, last = acked[0], acked[-1]
            if last - first + 1 == len(acked):  # offsets are unique (the index): this is the whole list
                committed = self._committed_offset[tp]
                if committed and first - committed > 1:
                    return None  # as Faust: the run does not follow the last commit
                self._acked_index[tp].difference_update(acked)
                acked.clear()
                return last + 1
        return cast(int | None, super()._new_offset(tp))

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self.held.difference_update(revoked)
        for agent in self._conductor.batch_agents:
            await agent.before_revoke()
            agent.buffer.clear()
        await self._commit_before_revoke(revoked)
        await super().on_partitions_revoked(revoked)

    async def _commit_before_revoke(self, revoked: set[TP]) -> None:
        """Commit the offsets acked just now, before Faust forgets those of revoked partitions: bounded, since a
        group coordinator that is still loading after a broker restart retries a commit for minutes, and a
        revoke waiting on it never ends (the member's session expires meanwhile and the worker sits outside
        its group for good). A commit given up only means its records are read again by the next owner."""
        settings = context_of(self.app).settings
        commit = _never_returns() if settings.fault_revoke_commit_hangs and revoked else self.commit()
        try:
            await asyncio.wait_for(commit, settings.stream_revoke_commit_timeout_s)
        except TimeoutError:
            log.warning("the offset commit before a revoke did not finish within %.0f s (is the group coordinator "
                        "loading?): giving the partitions up without it; their records since the last commit are read again",
                        settings.stream_revoke_commit_timeout_s)

    async def wait_empty(self) -> None:
        """Faust waits for every message it tracks to be acked before it stops or rebalances; batch messages
        are not tracked: let batch agents finish their batch in flight and checkpoint, and drop what is only
        buffered (re-read later)."""
        for agent in self._conductor.batch_agents:
            await agent.before_revoke()
            agent.buffer.clear()
        await super().wait_empty()

    async def perform_seek(self) -> None:
        """Faust seeks every assigned partition to its committed offset: batch partitions read on from there.

        A batch partition's records fetched between that seek and its position being known were dropped
        by its buffer, so it is sought once more, to the same offset."""
        await super().perform_seek()
        buffers = self._conductor.batch_buffers
        unsought = [tp for tp in self.assignment() if tp.topic in buffers and tp not in buffers[tp.topic].next_offset]
        if unsought:  # Faust keeps no committed offset of 0 (nor a missing one): the first retained offset then
            await self._read_from({tp: self._committed_offset.get(tp) for tp in unsought})

    async def _seek(self, partition: TP, offset: int) -> None:
        # On the consumer thread, where aiokafka's fetcher drains its fetched records: Faust seeks from the event
        # loop's thread, and a seek deleting a partition's fetched records under that drain crashed the worker
        # (KeyError in aiokafka's Fetcher.fetched_records) when many partitions were sought at start-up.
        await self._thread.call_thread(self._thread.seek, partition, offset)

    async def rewind(self, tp: TP, offset: int) -> None:
        """Read batch partition `tp` again from `offset` (its buffered messages from there on are dropped)."""
        await self._read_from({tp: offset})

    async def _read_from(self, offsets: Mapping[TP, int | None]) -> None:
        """Seek batch partitions to `offsets`; None, or an offset below the first one retained, reads on from
        the first one retained."""
        earliest = await self._thread.earliest_offsets(*offsets)
        buffers = self._conductor.batch_buffers
        for tp, wanted in offsets.items():
            first = earliest.get(tp) or 0
            offset = first if wanted is None else max(wanted, first)
            if wanted is not None and wanted < first:
                log.warning("partition %s:%d: %d records before offset %d were deleted (retention) before they were read",
                            tp.topic, tp.partition, first - wanted, first)
            buffers[tp.topic].rewind(tp, offset)
            await self.seek(tp, offset)

    def _went_back(self, tp: Any, offset: int, expected: int | None) -> bool:
        """The fetcher itself moved partition `tp` below `expected`, the position it was sought to: aiokafka resets
        a position out of range (a topic recreated under its name, offsets reset) without a seek of ours.
        A record behind `expected` is otherwise one fetched before a seek forward, to be dropped."""
        if expected is None or offset >= expected:
            return False
        subscription = self._thread._ensure_consumer()._subscription.subscription
        state = subscription.assignment.state_value(tp) if subscription is not None and subscription.assignment else None
        return state is not None and state.has_valid_position and state.position < expected

    async def _seek_back(self, buffers: Iterable[MessageBuffer]) -> None:
        """Partitions that received records past their position (fetched before a seek that went back):
        read them again from their position."""
        for buffer in buffers:
            for tp in list(buffer.ahead):
                log.info("partition %s:%d: re-reading from offset %d", tp.topic, tp.partition, buffer.next_offset[tp])
                await self.rewind(tp, buffer.next_offset[tp])

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        await super().on_partitions_assigned(assigned, generation_id)
        for agent in self._conductor.batch_agents:
            agent.resume()
        unfetched = self._conductor.fault_unfetched_partition
        if unfetched is not None and unfetched in assigned:
            await self._stop_fetching(unfetched)

    async def _stop_fetching(self, tp: TP) -> None:
        """Fault injection: stop fetching `tp` behind Faust's back (as faust-streaming#629 does)."""
        kafka_consumer = self._thread._ensure_consumer()

        async def pause() -> None:
            kafka_consumer.pause(aiokafka.TopicPartition(tp.topic, tp.partition))

        log.warning("fault injection: partition %s:%d is assigned but will not be fetched", tp.topic, tp.partition)
        await self._thread.call_thread(pause)

    async def _drain_messages(self, fetcher: Service) -> None:  # the loop of faust's Consumer, one branch added
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        buffers = self._conductor.batch_buffers
        unique_buffers = list({id(buffer): buffer for buffer in buffers.values()}.values())
        flow = self.app.flow_control
        faust_tps: dict[Any, TP] = {}  # the fetcher's partition keys are aiokafka's; Faust's own bookkeeping wants its TP
        yield_every, since_yield = 100, 0
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                messages = getmany(timeout=1.0)
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in messages:
                        if commit_every is not None and self._n_acked >= commit_every:
                            self._n_acked = 0
                            await self.commit()
                        buffer = buffers.get(tp.topic)
                        if buffer is not None:  # the buffer keeps each partition's sequence: no read offsets, no gaps
                            if not flow.is_active():  # a rebalance: Faust seeks every partition before flow resumes
                                await self.wait_first(flow.acquire(), self.suspend_flow.wait())
                                if not flow.is_active():
                                    continue
                            faust_tp = faust_tps.get(tp)
                            if faust_tp is None:
                                faust_tp = faust_tps[tp] = TP(tp.topic, tp.partition)
                            if not buffer.put(faust_tp, message) and self._went_back(tp, message.offset, buffer.next_offset.get(faust_tp)):
                                log.warning("partition %s:%d: offsets went back from %d to %d (topic recreated, or offsets reset "
                                            "out of range): reading on from %d", tp.topic, tp.partition,
                                            buffer.next_offset[faust_tp], message.offset, message.offset)
                                buffer.rewind(faust_tp, message.offset)
                                buffer.put(faust_tp, message)
                            continue
                        offset = message.offset
                        read_offset = get_read_offset(tp)
                        if read_offset is not None and offset < read_offset:
                            continue  # already delivered (Faust drops these too)
                        if offset - (read_offset or 0) > 1 and read_offset and acks_enabled_for(message.topic):
                            await self._add_gap(tp, read_offset + 1, offset)
                        since_yield += 1
                        if since_yield > yield_every:
                            await asyncio.sleep(0)
                            since_yield = 0
                        await self.wait_first(callback(message), self.suspend_flow.wait())
                        set_read_offset(tp, offset)
                    unset_flag(CONSUMER_FETCHING)
                    if any(buffer.ahead for buffer in unique_buffers):
                        await self._seek_back(unique_buffers)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)


class Transport(faust_aiokafka.Transport):
    """The aiokafka transport with the lean consumer and the batch conductor (URL scheme `rideshare-kafka://`)."""

    Consumer = LeanConsumer
    Conductor = BatchConductor


class BatchAgent(Service):
    """The loop of one batch topic: take a batch, process it, checkpoint and ack every `checkpoint_s`."""

    def __init__(self, app: faust.App, buffer: MessageBuffer, processor: BatchProcessor, *, name: str,
                 max_events: int, within_s: float, checkpoint_s: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app
        self.buffer = buffer
        self.processor = processor
        self.name = name
        self.max_events = max_events
        self.within_s = within_s
        self.checkpoint_s = checkpoint_s
        self.batches = 0
        self.events = 0
        self._pending: dict[TP, list[int]] = {}  # offsets processed since the last checkpoint, per partition, in order
        self._next_checkpoint = 0.0
        self._taking = asyncio.Event()
        self._taking.set()
        self._idle = asyncio.Event()
        self._idle.set()

    @Service.task
    async def _run(self) -> None:
        flow = self.app.flow_control
        while not self.should_stop:
            await self._taking.wait()  # held back while partitions are being revoked
            await flow.acquire()
            # with processed messages pending, wake up for their checkpoint even if nothing more arrives
            idle_s = self._next_checkpoint - time.monotonic() if self._pending else None
            batch = await self.buffer.take(self.max_events, self.within_s, idle_s=idle_s)
            if batch and self._taking.is_set():  # a batch taken as the revoke began is not processed (read again)
                self._idle.clear()
                try:
                    held = await self.processor.process(batch)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.exception("batch agent %s crashed on a batch of %d messages", self.name, len(batch))
                    await self.app.crash(exc)
                    raise
                finally:
                    self._idle.set()
                if held:
                    cast(LeanConsumer, self.app.consumer).hold({message.tp for message in held})  # never acked
                    held_ids = {id(message) for message in held}
                    batch = [message for message in batch if id(message) not in held_ids]
                pending = self._pending
                for message in batch:
                    offsets = pending.get(message.tp)
                    if offsets is None:
                        offsets = pending[message.tp] = []
                    offsets.append(message.offset)
                self.batches += 1
                self.events += len(batch)
            if self._pending and time.monotonic() >= self._next_checkpoint:
                self.checkpoint()

    def checkpoint(self) -> None:
        """Persist the processor's state, then ack what it includes (Faust commits acked offsets)."""
        self.processor.checkpoint()
        self.app.consumer.ack_offsets(self._pending)
        self._pending = {}
        self._next_checkpoint = time.monotonic() + self.checkpoint_s

    async def before_revoke(self) -> None:
        """Stop taking batches, let the one in flight finish, checkpoint and ack."""
        self._taking.clear()
        self.buffer.interrupt()
        await self._idle.wait()
        if self._pending:
            self.checkpoint()

    def resume(self) -> None:
        self._taking.set()



def batch_agent(app: faust.App, topic: faust.TopicT, processor: BatchProcessor, *, name: str, max_events: int,
                within_s: float, checkpoint_s: float = 1.0, max_buffered: int | None = None) -> BatchAgent:
    """Run `processor` on batches of `topic`'s messages (raw key/value bytes) in this app's workers.

    The topic is subscribed through Faust's conductor (so the group assigns its partitions); its
    messages bypass Faust's per-event streams. Offsets are acked after the checkpoint that follows
    their batch.
    """
    conductor = app.topics
    if not isinstance(conductor, BatchConductor):
        raise TypeError("batch agents need streams.app.create_app's conductor (BatchConductor)")
    buffer = MessageBuffer(lambda: app.consumer, max_buffered=max_buffered or 4 * max_events)
    for topic_name in topic.topics:
        if topic_name in conductor.batch_buffers:
            raise ValueError(f"topic {topic_name} already has a batch agent")
        conductor.batch_buffers[topic_name] = buffer
    conductor.add(topic)
    agent = BatchAgent(app, buffer, processor, name=name, max_events=max_events, within_s=within_s, checkpoint_s=checkpoint_s)
    conductor.batch_agents.append(agent)
    app._extra_services.append(agent)  # started with the app's services, after table recovery
    return agent
