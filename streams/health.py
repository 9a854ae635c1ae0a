"""Worker health: detect partitions that are assigned but not fetched, heal them, and say so at /healthz.

A known upstream bug (faust-streaming/faust#629) leaves a partition assigned to a worker that never
fetches it: the worker looks healthy while that partition's lag grows. Every `stream_stall_check_s`
the watchdog compares, for each assigned partition of a batch topic, the topic's end offset with
what the worker has read. A partition with lag whose read position has not moved for
`stream_stall_timeout_s` (and that is neither waiting in a full batch buffer nor deliberately
stopped) is stalled. The watchdog first heals it in place: it resumes the partition in the aiokafka
consumer and seeks it to where reading should continue, which restarts its fetches. If it is still
stalled one timeout later, the worker exits with `EXIT_STALLED`, and its supervisor
(`rideshare worker --processes`, or the orchestrator) restarts it: a new member rejoins the group and
gets its partitions assigned afresh.

A worker can also be stuck outside any partition: a rebalance that never ends (a revoke waiting on a
group coordinator that does not answer, while the member's session expires). Faust says it is
rebalancing meanwhile, which it also says during table recovery after every assignment. A rebalance
whose recovery offsets and rebalance count have not moved for `stream_rebalance_timeout_s` makes the
worker exit with `EXIT_STALLED` too.

`/healthz` answers 200 while no partition is stalled and 503 (with the partitions) when one is, for
liveness probes. Partitions an operator must act on (bronze's offset discontinuities) are listed but do
not fail the probe: restarting would not fix them.

Faust internals used (pinned faust-streaming 0.15.3, covered by tests/integration/test_worker_health.py):
`Consumer._paused_partitions`, `_thread.call_thread`,
`_thread._ensure_consumer()` (the aiokafka consumer).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import faust
from aiokafka import TopicPartition
from faust.types import TP
from faust.web import Request, Response, View

from core.kafka_admin import topic_state
from core.settings import Settings
from streams.batches import BatchConductor
from streams.metrics import StreamMetrics

__all__ = ["EXIT_STALLED", "StallWatchdog", "install_health"]

log = logging.getLogger(__name__)

EXIT_STALLED = 70  # EX_SOFTWARE: the supervisor restarts the worker


@dataclass
class _Progress:
    position: int | None  # a partition's read position, or a rebalance's fingerprint
    since: float
    healed_at: float | None = None


@dataclass
class StallWatchdog:
    app: faust.App
    settings: Settings
    metrics: StreamMetrics
    stalled: dict[str, int] = field(default_factory=dict)  # "topic:partition" -> lag
    _progress: dict[TP, _Progress] = field(default_factory=dict)
    _rebalance: _Progress | None = None  # since when the rebalance in progress has not moved, and its fingerprint

    async def check(self) -> None:
        app = self.app
        if not app.started or app.consumer is None:
            self._progress.clear()
            return
        if app.rebalancing:
            self._progress.clear()
            self._check_rebalance(time.monotonic())
            return
        self._rebalance = None
        conductor = app.topics
        if not isinstance(conductor, BatchConductor):
            return
        consumer = app.consumer
        assigned = [tp for tp in consumer.assignment() if tp.topic in conductor.batch_buffers]
        if not assigned:
            self.stalled.clear()
            return
        loop = asyncio.get_running_loop()
        ends: dict[TP, int] = {}
        for topic in {tp.topic for tp in assigned}:
            try:
                state = await loop.run_in_executor(None, topic_state, self.settings.bootstrap_servers, topic)
            except Exception as exc:  # the broker not answering: nothing to conclude this round
                log.debug("health: could not read end offsets of %s: %s", topic, exc)
                continue
            ends.update({TP(topic, partition): end for partition, end in state.high_watermarks.items()})
        now = time.monotonic()
        stalled: dict[str, int] = {}
        to_heal: list[tuple[TP, int]] = []
        buffers = conductor.batch_buffers
        for tp in assigned:
            end = ends.get(tp)
            position = buffers[tp.topic].next_offset.get(tp)  # where reading goes on from (None: not sought yet)
            lag = None if end is None or position is None else end - position
            progress = self._progress.get(tp)
            if progress is None or progress.position != position or not lag or lag <= 0 or self._waiting(tp):
                self._progress[tp] = _Progress(position, now)
                continue
            if progress.healed_at is None and now - progress.since < self.settings.stream_stall_timeout_s:
                continue
            stalled[f"{tp.topic}:{tp.partition}"] = lag  # stays reported from detection until it moves again
            if progress.healed_at is None:
                progress.healed_at = now
                to_heal.append((tp, position))
            elif now - progress.healed_at >= self.settings.stream_stall_timeout_s:
                log.critical("partition %s:%d is still not fetched (lag %d) after a resume and seek: exiting for a restart "
                             "(the supervisor starts a new worker that rejoins the group)", tp.topic, tp.partition, lag)
                os._exit(EXIT_STALLED)
        self.stalled = stalled
        for tp in {tp for tp in self._progress if tp not in assigned}:
            del self._progress[tp]
        for tp, position in to_heal:
            try:
                await asyncio.wait_for(self._heal(tp, position), self.settings.stream_stall_check_s * 5)
            except TimeoutError:
                log.error("could not reach the consumer thread to restart fetching %s:%d; the restart follows if it stays stalled",
                          tp.topic, tp.partition)

    def _check_rebalance(self, now: float) -> None:
        """Exit (for the supervisor) from a rebalance that has not moved for `stream_rebalance_timeout_s`: no new
        rebalance round, no changelog record recovered. Restarting is safe: every topology's state and
        offsets are committed where the next owner reads them (bronze's in Delta)."""
        fingerprint = _rebalance_fingerprint(self.app)
        if self._rebalance is None or self._rebalance.position != fingerprint:
            self._rebalance = _Progress(fingerprint, now)
            return
        stuck_s = now - self._rebalance.since
        if stuck_s >= self.settings.stream_rebalance_timeout_s:
            log.critical("the rebalance has not moved for %.0f s (no recovery progress, no new round): exiting for a restart "
                         "(the supervisor starts a new worker that rejoins the group)", stuck_s)
            os._exit(EXIT_STALLED)

    def _waiting(self, tp: TP) -> bool:
        """Read position not moving on purpose: the partition has messages waiting in its batch buffer, the
        buffer is full, or it is paused (stopped by its topology, or by Faust during a recovery)."""
        buffer = self.app.topics.batch_buffers[tp.topic]  # type: ignore[attr-defined]  # a BatchConductor
        return tp in self.app.consumer._paused_partitions or buffer.buffered(tp) > 0 or buffer.holds_back(tp)

    async def _heal(self, tp: TP, position: int) -> None:
        log.error("partition %s:%d is assigned but not fetched (faust-streaming#629): resuming and seeking it to %s",
                  tp.topic, tp.partition, position)
        self.metrics.stalled_partitions_healed.labels(tp.topic, str(tp.partition)).inc()
        thread = self.app.consumer._thread
        kafka_consumer = thread._ensure_consumer()
        aiokafka_tp = TopicPartition(tp.topic, tp.partition)

        async def restart_fetching() -> None:
            kafka_consumer.resume(aiokafka_tp)

        await thread.call_thread(restart_fetching)
        await self.app.consumer.rewind(tp, position)  # type: ignore[attr-defined]  # a LeanConsumer

    def report(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of /healthz."""
        held = self.app.consumer.held if self.app.started else set()  # type: ignore[attr-defined]  # a LeanConsumer
        stopped = sorted(f"{tp.topic}:{tp.partition}" for tp in held)
        body = {"status": "stalled" if self.stalled else "ok", "stalled": self.stalled, "stopped": stopped,
                "rebalancing": bool(self.app.started and self.app.rebalancing)}
        return (503 if self.stalled else 200), body


def _rebalance_fingerprint(app: faust.App) -> int:
    """What moves while a rebalance makes progress: its round, and the changelog offsets table recovery has
    read (active and standby)."""
    recovery = app.tables.recovery
    return hash((app.rebalancing_count, sum(recovery.active_offsets.values()), sum(recovery.standby_offsets.values())))


def install_health(app: faust.App, settings: Settings, metrics: StreamMetrics) -> StallWatchdog:
    """The watchdog's timer and the /healthz view of this worker."""
    watchdog = StallWatchdog(app, settings, metrics)

    @app.timer(settings.stream_stall_check_s)
    async def watch_partitions() -> None:
        await watchdog.check()

    @app.page("/healthz")
    class HealthView(View):
        async def get(self, request: Request) -> Response:
            status, body = watchdog.report()
            return self.json(body, status=status)

    return watchdog
