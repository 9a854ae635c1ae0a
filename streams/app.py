"""Build the Faust app: broker, RocksDB store, producer tuning, web views. No topology is named here.

`create_app(settings)` is the only constructor; nothing is built at import time. Which topologies a
worker runs is decided by the composition root (`rideshare.workers`), which registers itself as the
`rideshare.streams` entry point `app`: for the plain Faust CLI (`faust -A streams.app worker -l info`)
the module attribute `app` is built on first access through that entry point (module `__getattr__`
below), so importing this module has no side effects and this library never imports an app.
"""

from __future__ import annotations

import gc
import logging
from enum import StrEnum
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import faust
from faust.types import TP
from faust.web import Request, Response, View
from mode import Service

from core.exceptions import RideshareError
from core.settings import Settings, load_settings
from schemas.catalog import WORKER_PARTITIONS
from streams.codecs import register_codecs
from streams.context import StreamsContext, attach_context, context_of
from streams.graph import TopologyRegistry
from streams.health import install_health
from streams.metrics import StreamMetrics
from streams.monitor import LeanMonitor
from streams.tables import ChangelogTable

__all__ = ["GC_YOUNG_THRESHOLD", "LEAN_TRANSPORT_SCHEME", "GarbageCollectorTuning", "StreamsContext", "WorkerRole", "app_id_for",
           "broker_urls", "context_of", "create_app", "datadir_for"]

log = logging.getLogger(__name__)

class AppEntryPointError(RideshareError):
    """No composition root is installed under the `rideshare.streams` entry point."""


class WorkerRole(StrEnum):
    """A kind of worker process: each role is its own Faust app, so its own consumer group.

    Bronze reads every catalog topic in a group of its own, so no worker of another role can take its
    partitions, and a lake outage stalls bronze alone: the real-time path keeps flowing."""

    REALTIME = "realtime"
    BRONZE = "bronze"


_APP_NAMES = {WorkerRole.REALTIME: "rideshare-streams", WorkerRole.BRONZE: "rideshare-bronze"}


def app_id_for(settings: Settings, role: WorkerRole = WorkerRole.REALTIME) -> str:
    """Faust app id of a role (its consumer group and changelog prefix); the namespace isolates deployments."""
    return f"{settings.topic_namespace}{_APP_NAMES[role]}"


LEAN_TRANSPORT_SCHEME = "rideshare-kafka"

# Cyclic garbage collection once per this many net allocations (CPython's default is 700). Batch
# decoding allocates a few objects per field of every event, so at the default a worker ran a young
# collection every ~100 events and, through the older generations, rescanned its whole heap (tables'
# state, entity windows) every few seconds: about a quarter of a real-time worker's CPU. Memory is
# still freed by reference counting at once; only cycles wait longer.
GC_YOUNG_THRESHOLD = 100_000


def broker_urls(scheme: str, bootstrap_servers: str) -> str:
    """Faust's broker URL list (`;`-separated) for Kafka's comma-separated bootstrap servers."""
    return ";".join(f"{scheme}://{server.strip()}" for server in bootstrap_servers.split(",") if server.strip())


def datadir_for(settings: Settings, app_id: str, web_port: int) -> Path:
    """RocksDB folder of one worker: per web port, since two workers on one machine cannot share it."""
    return settings.local_dir / "faust" / app_id / f"worker-{web_port}"


def create_app(settings: Settings, *, role: WorkerRole = WorkerRole.REALTIME, app_id: str | None = None,
               web_port: int | None = None) -> faust.App:
    """A configured Faust app of `role` with no agent yet (not started): topologies are built into it by the caller."""
    register_codecs()
    app_id = app_id or app_id_for(settings, role)
    web_port = web_port or settings.worker_web_port
    datadir = datadir_for(settings, app_id, web_port)
    datadir.mkdir(parents=True, exist_ok=True)  # the Faust worker chdirs into it before anything else
    app = faust.App(
        app_id,
        broker=broker_urls("kafka", settings.bootstrap_servers),
        # The consumer takes the lean path for batch topics (streams/batches.py); its transport is
        # registered under this scheme as a `faust.transports` entry point.
        broker_consumer=broker_urls(LEAN_TRANSPORT_SCHEME, settings.bootstrap_servers),
        Monitor=LeanMonitor,
        store="rocksdb://",
        Table=ChangelogTable,
        datadir=str(datadir),
        web_enabled=True,
        web_tables_enabled=True,  # Faust's /table/<name>/<key>/ views, routed to the key's owner
        web_port=web_port,
        web_host=settings.worker_web_host,
        web_bind=settings.worker_web_host,  # Faust binds 0.0.0.0 unless told (web_host only names the URL)
        web_in_thread=False,
        table_standby_replicas=0,  # one machine: standbys double RocksDB writes for no availability gain
        topic_replication_factor=settings.kafka_replication_factor,  # changelogs as replicated as the catalog topics
        topic_partitions=WORKER_PARTITIONS,
        consumer_auto_offset_reset="earliest",
        consumer_metadata_max_age_ms=30_000,  # notice a recreated topic (or new partitions) within 30 s, not 5 min
        broker_commit_every=2_000,
        broker_commit_interval=1.0,
        broker_max_poll_records=2_000,
        stream_buffer_maxsize=8_192,
        producer_compression_type="lz4",
        producer_linger_ms=10,
        producer_max_batch_size=512 * 1024,
        producer_acks=-1,
        table_cleanup_interval=60.0,
        autodiscover=False,
    )
    context = StreamsContext(settings, TopologyRegistry(), StreamMetrics())
    attach_context(app, context)
    context.registry.lag_probe = _lag_probe(app)
    _add_views(app, context)
    install_health(app, settings, context.metrics)
    # first of the app's extra services, so it runs before the batch agents take a batch (a Faust Worker
    # replaces `app.on_startup_finished` with its own, so that hook cannot carry it)
    app._extra_services.insert(0, GarbageCollectorTuning())
    if settings.fault_unfetched_partition:
        topic, _, partition = settings.fault_unfetched_partition.rpartition(":")
        app.topics.fault_unfetched_partition = TP(topic, int(partition))  # type: ignore[attr-defined]  # a BatchConductor
    return app


class GarbageCollectorTuning(Service):
    """Started with the worker, after table recovery: what exists now lives as long as the process, so it
    leaves the collector's generations (`gc.freeze`), and young collections run `GC_YOUNG_THRESHOLD`
    allocations apart."""

    async def on_start(self) -> None:
        gc.collect()
        gc.freeze()
        _, middle, oldest = gc.get_threshold()
        gc.set_threshold(GC_YOUNG_THRESHOLD, max(middle, 20), max(oldest, 100))
        log.info("garbage collector: %d start-up objects frozen, thresholds %s", gc.get_freeze_count(), gc.get_threshold())


def _lag_probe(app: faust.App) -> Any:
    def lag(topic: str) -> dict[int, int]:
        """Per assigned partition of `topic`: high watermark minus committed offset (0 before start)."""
        consumer = app.consumer if app.started else None
        if consumer is None:
            return {}
        result: dict[int, int] = {}
        for tp in consumer.assignment():
            if tp.topic != topic:
                continue
            committed = consumer._committed_offset.get(tp)  # Faust keeps no public accessor
            highwater = consumer.highwater(tp) or 0
            result[tp.partition] = max(0, highwater - (committed or 0))
        return result

    return lag


def _consumer_state(app: faust.App) -> dict[str, Any]:
    """Flow and partition state of the worker's consumer (why a worker is idle)."""
    if not app.started:
        return {}
    consumer = app.consumer
    active = consumer._active_partitions  # Faust keeps no public accessor for these
    return {"flow_active": consumer.flow_active, "rebalancing": app.rebalancing,
            "paused": sorted(f"{tp.topic}:{tp.partition}" for tp in consumer._paused_partitions),
            "active": sorted(f"{tp.topic}:{tp.partition}" for tp in active or ())}


def _add_views(app: faust.App, context: StreamsContext) -> None:
    @app.page("/metrics")
    class MetricsView(View):
        async def get(self, request: Request) -> Response:
            for graph in context.registry.as_dict()["topologies"]:
                for node in graph["nodes"]:
                    for partition, lag in node.get("lag", {}).get("partitions", {}).items():
                        context.metrics.consumer_lag.labels(node["target"], str(partition)).set(lag)
            return self.bytes(context.metrics.exposition(), content_type="text/plain; version=0.0.4")

    @app.page("/topology/")
    class TopologyView(View):
        async def get(self, request: Request) -> Response:
            collector = {"thresholds": gc.get_threshold(), "frozen": gc.get_freeze_count()}
            return self.json({**context.registry.as_dict(), "consumer": _consumer_state(app), "collector": collector})


def __getattr__(name: str) -> Any:
    # `faust -A streams.app` looks up the module attribute `app` (the real-time worker), and
    # `faust -A streams.app:bronze` the bronze worker: each is built on first access only.
    if name in ("app", "bronze"):
        found = entry_points(group="rideshare.streams", name=name)
        if not found:
            raise AppEntryPointError(f"no `rideshare.streams` entry point {name!r}: install the project (`make setup`)")
        built = next(iter(found)).load()(load_settings())
        globals()[name] = built
        return built
    raise AttributeError(name)
