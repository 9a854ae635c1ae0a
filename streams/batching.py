"""Batched stream processing: events are taken in batches (acked after the batch) and grouped by
partition, so table writes are made once per key per batch instead of once per event.

Faust decides the RocksDB partition and the changelog partition of a table write from the *current
event* (a context variable set by the stream for each event it yields). A batch from
`stream.take_events` mixes partitions and sets no current event in the agent's task, so each
partition's group runs inside `on_partition_of(event)`, which makes one event of that group current.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from faust.streams import _current_event  # Faust keeps no public setter: the stream uses this one

__all__ = ["BATCH_MAX_EVENTS", "BATCH_WITHIN_S", "by_partition", "on_partition_of", "raise_if_cancelled"]

# Up to this many events per batch, or what arrived within this many seconds: big enough to cut the
# per-batch table writes to a few per thousand events, small enough to keep live-map latency low.
BATCH_MAX_EVENTS = 2_000
BATCH_WITHIN_S = 0.05


def by_partition(events: list[Any]) -> dict[int, list[Any]]:
    """Events grouped by source partition, keeping their order within each partition."""
    groups: dict[int, list[Any]] = {}
    for event in events:
        groups.setdefault(event.message.partition, []).append(event)
    return groups


@contextmanager
def on_partition_of(event: Any) -> Iterator[None]:
    """Table writes inside go to the partition (store and changelog) of `event`."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def raise_if_cancelled() -> None:
    """Re-raise a cancellation a library swallowed (redis-py's asyncio client can, when the worker
    stops the agent during a pipeline): the agent would otherwise keep waiting for the next batch
    and the worker's shutdown would hang."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
