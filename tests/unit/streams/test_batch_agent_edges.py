"""Batch agents at the edges of a stream: partitions revoked while a batch is taken, and a stream gone quiet.

A batch agent that has taken messages from its buffer when partitions start being revoked must let go of
them: Faust waits for every tracked message to be acked before it rebalances, so one the agent neither
processes nor releases hangs the rebalance for ever (seen when a broker of a 3-node cluster died: the group
coordinator moved while fetches from the other nodes kept filling the buffers)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from streams.batches import BatchAgent, MessageBuffer


class _Flow:
    async def acquire(self) -> None:
        return None


class _Consumer:
    def __init__(self) -> None:
        self._unacked_messages: set[Any] = set()
        self.acked: list[Any] = []

    def on_buffer_full(self, tp: Any) -> None:
        return None

    def on_buffer_drop(self, tp: Any) -> None:
        return None

    def ack(self, message: Any) -> None:
        self.acked.append(message)
        self._unacked_messages.discard(message)


class _App:
    def __init__(self) -> None:
        self.flow_control = _Flow()
        self.consumer = _Consumer()


class _Recorder:
    def __init__(self) -> None:
        self.processed: list[Any] = []

    async def process(self, messages: Sequence[Any]) -> None:
        self.processed.extend(messages)

    def checkpoint(self) -> None:
        return None


def test_messages_taken_while_partitions_are_revoked_are_released_not_left_waiting_for_an_ack() -> None:
    async def scenario() -> tuple[_App, _Recorder]:
        app, processor = _App(), _Recorder()
        buffer = MessageBuffer(lambda: app.consumer, max_buffered=100)
        # The agent is waiting inside take() for a fuller batch (up to `within_s`) when the revocation begins.
        agent = BatchAgent(app, buffer, processor, name="test", max_events=50, within_s=0.3, checkpoint_s=0.0)  # type: ignore[arg-type]
        await agent.start()
        for message in ("m1", "m2"):
            app.consumer._unacked_messages.add(message)  # what the consumer's drain loop does before put()
            buffer.put(("topic", 0), message)  # type: ignore[arg-type]  # any hashable partition key
        await asyncio.sleep(0.05)  # the agent is now inside take(), waiting for more
        await agent.before_revoke()
        await asyncio.sleep(0.6)  # take() hands over its batch once `within_s` is up, the revocation still going on
        await agent.stop()
        return app, processor

    app, processor = asyncio.run(scenario())
    assert processor.processed == []  # not processed during the revocation ...
    assert app.consumer._unacked_messages == set()  # ... and not tracked any more: the rebalance does not wait for them
    assert app.consumer.acked == []  # never acked either: their offsets are not committed, the next owner reads them


def test_a_batch_processed_just_before_the_stream_goes_quiet_is_still_checkpointed_and_acked() -> None:
    # Before: the agent checkpointed only after its next take() returned, and take() waited for ever on an
    # empty buffer, so the last batches before a quiet spell (the end of a run) stayed unacked: their offsets
    # never committed, the group's lag never reached 0.
    async def scenario() -> _App:
        app, processor = _App(), _Recorder()
        buffer = MessageBuffer(lambda: app.consumer, max_buffered=100)
        agent = BatchAgent(app, buffer, processor, name="test", max_events=50, within_s=0.01, checkpoint_s=0.3)  # type: ignore[arg-type]
        await agent.start()
        for message in ("first", "second"):  # the first batch is checkpointed at once, the second waits for the interval
            app.consumer._unacked_messages.add(message)
            buffer.put(("topic", 0), message)  # type: ignore[arg-type]
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # nothing arrives any more
        await agent.stop()
        return app

    app = asyncio.run(scenario())
    assert app.consumer.acked == ["first", "second"]
