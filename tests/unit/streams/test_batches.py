"""The lean batch path's buffer and agent: fair batches, bounded buffering, acks only after a checkpoint,
and nothing left for Faust to wait for when partitions are revoked mid-batch."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faust.types import TP

from core.settings import load_settings
from streams.app import create_app
from streams.batches import FETCH_MAX_WAIT_MS, BatchAgent, MessageBuffer


@dataclass(frozen=True, eq=False)
class Message:
    tp: TP
    offset: int
    value: bytes | None = b"{}"  # None: a step marker


@dataclass
class Consumer:
    """What the buffer and the agent use of Faust's consumer: acks, partition pauses."""

    acked: list[tuple[TP, int]] = field(default_factory=list)
    full: list[TP] = field(default_factory=list)
    dropped: list[TP] = field(default_factory=list)
    highwaters: dict[TP, int] = field(default_factory=dict)  # as of each partition's last fetch
    revoked: set[TP] = field(default_factory=set)  # no longer assigned (the buffer has not been cleared yet)

    def highwater(self, tp: TP) -> int | None:
        assert tp not in self.revoked, "Partition is not assigned"  # as aiokafka's consumer does
        return self.highwaters.get(tp)

    def ack_offsets(self, offsets: dict[TP, list[int]]) -> None:
        self.acked.extend((tp, offset) for tp, tp_offsets in offsets.items() for offset in tp_offsets)

    def on_buffer_full(self, tp: TP) -> None:
        self.full.append(tp)

    def on_buffer_drop(self, tp: TP) -> None:
        self.dropped.append(tp)

    def hold(self, tps: set[TP]) -> None:
        pass


class FlowControl:
    async def acquire(self) -> None:
        return None


@dataclass
class App:
    consumer: Consumer = field(default_factory=Consumer)
    flow_control: FlowControl = field(default_factory=FlowControl)

    async def crash(self, exc: BaseException) -> None:
        raise AssertionError(f"the agent crashed: {exc!r}")


A, B = TP("gps", 0), TP("gps", 1)


def fill(buffer: MessageBuffer, consumer: Consumer, tp: TP, count: int, start: int = 0) -> list[Message]:
    """Deliver offsets start..start+count-1 of `tp` as the consumer's drain loop does."""
    buffer.expect(tp, start)
    messages = [Message(tp, offset) for offset in range(start, start + count)]
    for message in messages:
        assert buffer.put(tp, message)
    return messages


def test_a_deep_partition_does_not_starve_the_others_and_order_is_kept_per_partition() -> None:
    consumer = Consumer()
    buffer = MessageBuffer(lambda: consumer, max_buffered=1_000)
    fill(buffer, consumer, A, 100)
    fill(buffer, consumer, B, 5)
    batch = asyncio.run(buffer.take(20, within_s=0.0))
    assert [m.offset for m in batch if m.tp == B] == [0, 1, 2, 3, 4]
    assert [m.offset for m in batch if m.tp == A] == list(range(15))
    assert len(buffer) == 85 and buffer.next_offset == {A: 100, B: 5}


def test_a_full_buffer_stops_fetching_and_resumes_below_half() -> None:
    consumer = Consumer()
    buffer = MessageBuffer(lambda: consumer, max_buffered=10)
    fill(buffer, consumer, A, 10)
    assert consumer.full == [A]
    asyncio.run(buffer.take(4, within_s=0.0))
    assert consumer.dropped == []  # 6 left: not below half yet
    asyncio.run(buffer.take(2, within_s=0.0))
    assert consumer.dropped == [A]


def test_take_returns_empty_after_the_idle_time_when_nothing_arrives() -> None:
    consumer = Consumer()
    buffer = MessageBuffer(lambda: consumer, max_buffered=10)
    assert asyncio.run(buffer.take(5, within_s=1.0, idle_s=0.01)) == []


def test_a_step_marker_ends_the_wait_for_a_fuller_batch() -> None:
    consumer = Consumer()
    buffer = MessageBuffer(lambda: consumer, max_buffered=100)
    fill(buffer, consumer, A, 3)
    buffer.put(A, Message(A, 3, value=None))

    async def take_within_a_long_linger() -> tuple[list[Message], float]:
        started = time.monotonic()
        batch = await buffer.take(50, within_s=5.0)
        return batch, time.monotonic() - started

    batch, waited_s = asyncio.run(take_within_a_long_linger())
    assert [m.offset for m in batch] == [0, 1, 2, 3]
    assert waited_s < 1.0  # not the 5 s linger: nothing follows a marker until the loop answers


async def timed_take(buffer: MessageBuffer, max_events: int, within_s: float) -> tuple[list[Message], float]:
    started = time.monotonic()
    batch = await buffer.take(max_events, within_s=within_s)
    return batch, time.monotonic() - started


def test_the_batch_after_a_full_one_lands_as_soon_as_the_backlog_is_read_to_its_end() -> None:
    consumer = Consumer()
    buffer = MessageBuffer(lambda: consumer, max_buffered=100)
    fill(buffer, consumer, A, 12)
    fill(buffer, consumer, B, 3)
    consumer.highwaters = {A: 12, B: 3}

    async def drain() -> tuple[list[Message], list[Message], float]:
        full, _ = await timed_take(buffer, 10, within_s=5.0)
        tail, waited_s = await timed_take(buffer, 10, within_s=5.0)
        return full, tail, waited_s

    full, tail, waited_s = asyncio.run(drain())
    assert len(full) == 10 and [(m.tp, m.offset) for m in tail] == [(A, offset) for offset in range(7, 12)]
    assert waited_s < 1.0  # not the 5 s linger: the full batch before it drained a backlog that is now read


def test_a_partial_batch_still_waits_its_linger_while_a_partition_has_more_to_fetch_or_no_full_batch_came_before() -> None:
    consumer = Consumer()
    buffer = MessageBuffer(lambda: consumer, max_buffered=100)
    fill(buffer, consumer, A, 13)
    consumer.highwaters = {A: 20}  # 7 more records on the broker, not fetched yet

    async def take_three() -> tuple[list[Message], float, list[Message], float]:
        await timed_take(buffer, 10, within_s=5.0)
        tail, tail_waited_s = await timed_take(buffer, 10, within_s=0.3)
        consumer.highwaters = {A: 16}
        fill(buffer, consumer, A, 3, start=13)
        live, live_waited_s = await timed_take(buffer, 10, within_s=0.3)  # caught up, after a partial batch: live traffic
        return tail, tail_waited_s, live, live_waited_s

    tail, tail_waited_s, live, live_waited_s = asyncio.run(take_three())
    assert len(tail) == 3 and tail_waited_s >= 0.29
    assert len(live) == 3 and live_waited_s >= 0.29


def test_a_partition_revoked_under_a_waiting_take_only_ends_the_early_return() -> None:
    consumer = Consumer()
    buffer = MessageBuffer(lambda: consumer, max_buffered=100)
    fill(buffer, consumer, A, 12)
    consumer.highwaters = {A: 12}

    async def take_two() -> tuple[list[Message], float]:
        await timed_take(buffer, 10, within_s=5.0)
        consumer.revoked.add(A)
        return await timed_take(buffer, 10, within_s=0.3)

    tail, waited_s = asyncio.run(take_two())
    assert len(tail) == 2 and waited_s >= 0.29  # no crash: the batch waits its linger, as without a backlog


def test_without_a_marker_take_waits_its_linger_for_more() -> None:
    consumer = Consumer()
    buffer = MessageBuffer(lambda: consumer, max_buffered=100)
    fill(buffer, consumer, A, 3)
    started = time.monotonic()
    batch = asyncio.run(buffer.take(50, within_s=0.3))
    assert len(batch) == 3 and time.monotonic() - started >= 0.29


def test_the_worker_consumer_holds_fetches_at_most_the_lean_fetch_wait(tmp_path: Path) -> None:
    settings = load_settings(topic_namespace="unit.", local_dir=tmp_path)
    app = create_app(settings, web_port=16068)

    async def created_consumer() -> Any:
        thread = app.consumer._new_consumer_thread()
        return thread._create_worker_consumer(app.transport)

    consumer = asyncio.run(created_consumer())
    assert consumer._fetch_max_wait_ms == FETCH_MAX_WAIT_MS < 1_500  # Faust's own consumer holds fetches 1.5 s


def test_clear_forgets_buffered_messages_and_positions() -> None:
    consumer = Consumer()
    buffer = MessageBuffer(lambda: consumer, max_buffered=100)
    fill(buffer, consumer, A, 7)
    buffer.clear()
    assert len(buffer) == 0 and buffer.next_offset == {}
    assert not buffer.put(A, Message(A, 7))  # no position: nothing is accepted until the partition is sought again


def test_a_partition_accepts_only_its_next_offset_from_where_it_was_sought() -> None:
    consumer = Consumer()
    buffer = MessageBuffer(lambda: consumer, max_buffered=100)
    assert not buffer.put(A, Message(A, 0))  # not sought yet: nothing is accepted
    buffer.expect(A, 10)
    buffer.expect(A, 3)  # a second seek does not move a partition that has a position
    assert [buffer.put(A, Message(A, offset)) for offset in (10, 11, 12)] == [True, True, True]
    # a seek back re-delivers offsets already buffered: dropped, not buffered twice
    assert [buffer.put(A, Message(A, offset)) for offset in (10, 11, 12, 13)] == [False, False, False, True]
    assert buffer.ahead == set()
    # a record past the position (fetched before a seek went back) is dropped, and the partition is to be re-read
    assert not buffer.put(A, Message(A, 20))
    assert buffer.ahead == {A} and buffer.next_offset[A] == 14


def test_rewind_drops_the_buffered_messages_from_the_offset_on_and_reads_on_from_it() -> None:
    consumer = Consumer()
    buffer = MessageBuffer(lambda: consumer, max_buffered=100)
    fill(buffer, consumer, A, 10)
    fill(buffer, consumer, B, 3)
    buffer.rewind(A, 4)
    assert len(buffer) == 7 and buffer.buffered(A) == 4 and buffer.next_offset[A] == 4
    assert buffer.put(A, Message(A, 4)) and not buffer.put(A, Message(A, 9))
    batch = asyncio.run(buffer.take(100, within_s=0.0))
    assert [m.offset for m in batch if m.tp == A] == [0, 1, 2, 3, 4]


class Processor:
    def __init__(self) -> None:
        self.processed: list[Message] = []
        self.checkpoints = 0

    async def process(self, messages: list[Message]) -> None:
        self.processed.extend(messages)

    def checkpoint(self) -> None:
        self.checkpoints += 1


def agent_for(app: App, processor: Processor, buffer: MessageBuffer, checkpoint_s: float) -> BatchAgent:
    return BatchAgent(app, buffer, processor, name="gps", max_events=10, within_s=0.0, checkpoint_s=checkpoint_s)


def test_messages_are_acked_only_after_the_checkpoint_that_includes_them() -> None:
    async def scenario() -> tuple[Processor, list[int]]:
        app = App()
        buffer = MessageBuffer(lambda: app.consumer, max_buffered=100)
        processor = Processor()
        agent = agent_for(app, processor, buffer, checkpoint_s=0.3)
        await agent.start()
        fill(buffer, app.consumer, A, 25)
        await asyncio.sleep(0.1)  # the first batch (10) is checkpointed at once, the next checkpoint is 0.3 s later
        acked = [len(app.consumer.acked)]
        fill(buffer, app.consumer, A, 5, start=25)
        await asyncio.sleep(0.05)
        acked.append(len(app.consumer.acked))
        await asyncio.sleep(0.4)  # nothing more arrives: the agent wakes up for the checkpoint anyway
        acked.append(len(app.consumer.acked))
        await agent.stop()
        return processor, acked

    processor, acked = asyncio.run(scenario())
    assert len(processor.processed) == 30
    assert acked == [10, 10, 30]


def test_a_batch_taken_as_partitions_are_revoked_is_not_left_for_faust_to_wait_for() -> None:
    async def scenario() -> tuple[Processor, Consumer]:
        app = App()
        buffer = MessageBuffer(lambda: app.consumer, max_buffered=100)
        processor = Processor()
        agent = agent_for(app, processor, buffer, checkpoint_s=0.0)
        await agent.start()
        await asyncio.sleep(0.01)  # the agent waits in take
        fill(buffer, app.consumer, A, 5)
        await agent.before_revoke()  # the revoke begins before the agent gets to run the batch
        await asyncio.sleep(0.05)
        buffer.clear()
        await agent.stop()
        return processor, app.consumer

    processor, consumer = asyncio.run(scenario())
    # processed and acked, or not processed and read again by the next owner
    assert {(m.tp, m.offset) for m in processor.processed} == set(consumer.acked)


def test_pending_messages_are_checkpointed_and_acked_before_a_revoke() -> None:
    async def scenario() -> tuple[Processor, Consumer]:
        app = App()
        buffer = MessageBuffer(lambda: app.consumer, max_buffered=100)
        processor = Processor()
        agent = agent_for(app, processor, buffer, checkpoint_s=60.0)
        agent._next_checkpoint = time.monotonic() + 60
        await agent.start()
        fill(buffer, app.consumer, A, 8)
        await asyncio.sleep(0.05)
        await agent.before_revoke()
        await agent.stop()
        return processor, app.consumer

    processor, consumer = asyncio.run(scenario())
    assert processor.checkpoints == 1 and consumer.acked == [(A, offset) for offset in range(8)]


def test_a_checkpoints_acks_commit_the_run_of_offsets_that_follows_the_last_commit(tmp_path: Path) -> None:
    """`LeanConsumer.ack_offsets` and its `_new_offset` on Faust's own consumer: the offsets Faust commits."""
    settings = load_settings(topic_namespace="unit.", local_dir=tmp_path)
    app = create_app(settings, web_port=16069)
    consumer = app.consumer
    app.topics._acking_topics.update({"gps", "trips"})  # what subscribing a batch topic does
    C = TP("trips", 0)
    consumer._committed_offset[A] = 100
    consumer.ack_offsets({A: list(range(90, 140)), B: [0, 1, 2], C: []})  # below the commit: already committed
    assert consumer._n_acked == 40 + 3
    assert consumer._filter_committable_offsets([A, B, C]) == {A: 140, B: 3}
    assert not consumer._acked[A] and not consumer._acked_index[A]
    # a gap (an offset not acked yet) stops the commit before it, as Faust's own scan does
    consumer._committed_offset.update({A: 140, B: 3})
    consumer.ack_offsets({A: [140, 141, 143, 144]})
    assert consumer._filter_committable_offsets([A]) == {A: 142}
    consumer._committed_offset[A] = 142
    consumer.ack_offsets({A: [142]})
    assert consumer._filter_committable_offsets([A]) == {A: 145}
    # acked twice (a re-delivery): counted once
    consumer._committed_offset[A] = 145
    consumer.ack_offsets({A: [145, 146]})
    consumer.ack_offsets({A: [146, 147]})
    assert consumer._n_acked == 43 + 4 + 1 + 3
    assert consumer._filter_committable_offsets([A]) == {A: 148}
