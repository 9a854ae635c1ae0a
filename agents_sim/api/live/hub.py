"""The live hub: collects changes from the feeds, cuts them into frames at a bounded rate and hands each
frame to every connected client's one-slot mailbox.

Threads: feeds and the broadcaster run on the event loop; `trip_changed` is called by the simulation
thread (through `SimulationRuntime.subscribe`) and only touches a lock-guarded dict, so it stays cheap.

Wire messages (JSON text frames; the models are `LiveSnapshot` and `LiveDelta` in agents_sim.api.models,
part of the OpenAPI spec, and the frontend's types are generated from them):
- `{"type": "snapshot", "tick", "status", "stats", "positions", "trips", "surge"}`: the full state, first frame
  of every connection (and again after a slow client had to be resynced).
- `{"type": "delta", "tick", "positions", "removed", "trips", "surge", "stats"?}`: changes since the previous
  frame, latest value per identity; at most one frame per `frame_interval_s` per client.

Positions are `LivePosition` (the feeds translate every source to it), trips `LiveTrip` (a runtime trip
change with, while the trip is in flight, its current `route`, `pickup` and `dropoff`), surge `SurgeZone`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agents_sim.api.live.coalesce import Delta, JsonObject, Mailbox, to_json
from agents_sim.api.runtime_port import SimulationControl

__all__ = ["Client", "LiveHub", "SnapshotPart", "TooManyClients", "live_trip"]

log = logging.getLogger(__name__)

SnapshotPart = Callable[[], Awaitable[list[JsonObject]]]


def live_trip(change: JsonObject, view: JsonObject | None) -> JsonObject:
    """A trip in the WebSocket's shape (`LiveTrip`): its state from a runtime trip change or trip view, its
    geometry from the trip view while it is in flight."""
    return {
        "trip_id": change["trip_id"], "state": change["state"], "rider_id": change.get("rider_id"),
        "driver_id": change.get("driver_id"), "pickup": view["pickup"] if view else None,
        "dropoff": view["dropoff"] if view else None, "route": view["route"] if view else [],
        "route_purpose": view["route_purpose"] if view else None,
        "event_time": change.get("event_time", change.get("requested_ms", 0)),
    }


class TooManyClients(Exception):
    """The hub serves `max_clients` already: the connection is refused (the client retries later)."""


@dataclass(eq=False)
class Client:
    """One WebSocket connection's state in the hub."""

    mailbox: Mailbox
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    connected_at: float = field(default_factory=time.time)
    frames_sent: int = 0
    bytes_sent: int = 0
    snapshots_sent: int = 0

    def stats(self) -> dict[str, Any]:
        return {
            "connected_at": self.connected_at,
            "frames_sent": self.frames_sent,
            "bytes_sent": self.bytes_sent,
            "snapshots_sent": self.snapshots_sent,
            "frames_coalesced": self.mailbox.stats.frames_coalesced,
            "resyncs": self.mailbox.stats.resyncs,
            "pending_objects": self.mailbox.pending_objects,
            "pending_bytes": self.mailbox.pending_bytes(),
        }


class LiveHub:
    def __init__(
        self,
        runtime: SimulationControl,
        *,
        frame_interval_s: float = 0.1,
        stats_interval_s: float = 0.5,
        max_pending_objects: int = 20_000,
        max_clients: int = 32,
    ) -> None:
        self.runtime = runtime
        self.frame_interval_s = frame_interval_s
        self.stats_interval_s = stats_interval_s
        self.max_pending_objects = max_pending_objects
        self.max_clients = max_clients
        self.overflows = 0  # frames dropped for a snapshot because changes outgrew max_pending_objects
        self.clients: set[Client] = set()
        self.tick = 0  # frames cut so far (the `tick` of the latest delta)
        self._incoming = Delta()  # event-loop thread only
        self._trip_lock = threading.Lock()
        self._incoming_trips: dict[str, JsonObject] = {}  # written by the simulation thread
        self._trips_overflowed = False
        self._wakeup = asyncio.Event()
        self._positions_snapshot: SnapshotPart | None = None
        self._surge_snapshot: SnapshotPart | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- feeds -------------------------------------------------------------------------------------
    def set_snapshot_sources(self, *, positions: SnapshotPart, surge: SnapshotPart) -> None:
        self._positions_snapshot, self._surge_snapshot = positions, surge

    def push_positions(self, positions: list[JsonObject], removed: list[str] | None = None) -> None:
        """New positions and keys of entities that left the map (event-loop thread)."""
        if removed:
            self._incoming.add_removed(removed)
        if positions:
            self._incoming.add_positions(positions)
        if positions or removed:
            self._bound_incoming()
            self._wakeup.set()

    def push_surge(self, zone: JsonObject) -> None:
        """A zone's surge changed (event-loop thread)."""
        self._incoming.add_surge(zone)
        self._bound_incoming()
        self._wakeup.set()

    def _bound_incoming(self) -> None:
        """Changes gathered for the next frame are bounded like a client's mailbox: past the bound they are
        dropped and every client gets a fresh snapshot instead (the snapshot is bounded by the world)."""
        if self._incoming.object_count > self.max_pending_objects:
            self._incoming = Delta()
            self._resync_all()

    def _resync_all(self) -> None:
        self.overflows += 1
        for client in self.clients:
            client.mailbox.request_snapshot()
            client.ready.set()

    def trip_changed(self, change: JsonObject) -> None:
        """A trip changed state. Called from the simulation thread: store and return, nothing else."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # the hub is not running (app shut down): nobody would ever read it
        with self._trip_lock:
            if len(self._incoming_trips) >= self.max_pending_objects:
                self._trips_overflowed = True  # the event loop is behind: clients get a snapshot instead
                return
            self._incoming_trips[str(change.get("trip_id"))] = change
        # Event.set() is not thread-safe; if the loop is closing, the change simply waits for no one.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._wakeup.set)

    # -- clients -----------------------------------------------------------------------------------
    def register(self) -> Client:
        """A new client (raises TooManyClients at `max_clients`); call before any await so the cap holds."""
        if len(self.clients) >= self.max_clients:
            raise TooManyClients(f"{len(self.clients)} live clients already (at most {self.max_clients}): try again later")
        client = Client(Mailbox(max_pending_objects=self.max_pending_objects))
        client.ready.set()  # the snapshot is due right away
        self.clients.add(client)
        return client

    def unregister(self, client: Client) -> None:
        self.clients.discard(client)

    def client_stats(self) -> list[dict[str, Any]]:
        return [client.stats() for client in self.clients]

    async def snapshot(self) -> JsonObject:
        """The full live state: what a client needs before deltas make sense."""
        status, stats, trips = await asyncio.gather(
            asyncio.to_thread(self.runtime.status),
            asyncio.to_thread(self._stats),
            asyncio.to_thread(self.runtime.active_trips),
        )
        positions = await self._positions_snapshot() if self._positions_snapshot else []
        surge = await self._surge_snapshot() if self._surge_snapshot else []
        return {"type": "snapshot", "tick": self.tick, "status": status, "stats": stats,
                "positions": positions, "trips": [live_trip(view, view) for view in trips], "surge": surge}

    # -- frames ------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Cut frames forever: as soon as something changed, but never more often than `frame_interval_s`."""
        self._loop = asyncio.get_running_loop()
        unsubscribe = self.runtime.subscribe(self.trip_changed)
        stats_task = asyncio.create_task(self._push_stats_forever())
        last_frame = 0.0
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self.frame_interval_s)
                wait_s = self.frame_interval_s - (time.monotonic() - last_frame)
                if wait_s > 0:
                    await asyncio.sleep(wait_s)  # rate bound: changes keep accumulating meanwhile
                self._wakeup.clear()
                last_frame = time.monotonic()
                frame = self._cut_frame()
                if frame.trips and self.clients:
                    await self._attach_routes(frame)
                self.broadcast(frame)
        finally:
            stats_task.cancel()
            self._loop = None
            if callable(unsubscribe):
                unsubscribe()

    def _cut_frame(self) -> Delta:
        frame, self._incoming = self._incoming, Delta()
        with self._trip_lock:
            trips, self._incoming_trips = self._incoming_trips, {}
            overflowed, self._trips_overflowed = self._trips_overflowed, False
        frame.trips.update(trips)
        if overflowed:
            self._resync_all()
            return Delta()
        return frame

    async def _attach_routes(self, frame: Delta) -> None:
        """Trip changes carry no geometry: the wire trips get the route, pickup and dropoff of the trips still in
        flight, so clients draw routes from the stream alone (one cheap runtime read per frame, off the event loop)."""
        try:
            in_flight = {view["trip_id"]: view for view in await asyncio.to_thread(self.runtime.active_trips)}
        except Exception:  # a frame without routes beats no frame
            log.exception("reading active trips for their routes failed")
            in_flight = {}
        frame.trips = {trip_id: live_trip(change, in_flight.get(trip_id)) for trip_id, change in frame.trips.items()}

    def broadcast(self, frame: Delta) -> None:
        """Offer one frame to every client (serialised once, shared by the clients that keep up)."""
        if frame.is_empty() or not self.clients:
            return  # nobody to tell: a client that connects later starts from a fresh snapshot
        self.tick += 1
        text = to_json(frame.to_message(self.tick))
        for client in self.clients:
            client.mailbox.offer(frame, text, self.tick)
            client.ready.set()

    async def _push_stats_forever(self) -> None:
        while True:
            await asyncio.sleep(self.stats_interval_s)
            try:
                self._incoming.stats = await asyncio.to_thread(self._stats)
            except Exception:  # a failing stats read must not stop the frames
                log.exception("reading simulation stats failed")
                continue
            self._wakeup.set()

    def _stats(self) -> JsonObject:
        status = self.runtime.status()
        metrics = self.runtime.metrics()
        return {"status": status, "overview": metrics.get("overview", {}), "clients": len(self.clients)}
