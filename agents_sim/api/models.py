"""Request and response bodies of the control API and the messages of the live WebSocket (pydantic).

Every route declares its response model, so the OpenAPI spec (and the TypeScript types generated from it,
frontend/src/api/schema.d.ts) describes exactly what the API sends; the WebSocket's messages are added to
the spec's components (`LiveSnapshot`, `LiveDelta`) and a unit test holds the hub's frames to them.
Requests are strict: an unknown field is a 422, not silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents_sim.agents.dna import DriverDNA, RiderDNA
from schemas.limits import AUTO_LAG_TARGET_S, SPAWN_PER_REQUEST_MAX, SPEED_FACTOR_MAX, SPEED_FACTOR_MIN, SpeedWord, parse_speed

__all__ = [
    "BrokerStatus", "DriverView", "Health", "LagStatus", "LiveClients", "LiveDelta", "LivePosition", "LiveSnapshot", "LiveStats",
    "LiveTrip", "Metrics", "Overview", "PauseRequest", "Place", "RiderView", "SimStatus", "SpawnRequest", "Spawned", "SpeedRequest",
    "SurgeZone", "TopologyView", "TripView", "WorkerTopology", "ZoneCollection", "ZoneDetail", "ZoneMetrics",
]

LonLat = tuple[float, float]
Factor = Annotated[float, Field(ge=SPEED_FACTOR_MIN, le=SPEED_FACTOR_MAX)]
SpeedValue = Factor | SpeedWord
RunState = Literal["created", "running", "draining", "paused", "stopped"]
SPEED_DOC = (f"Simulated seconds per wall-clock second ({SPEED_FACTOR_MIN:g}-{SPEED_FACTOR_MAX:g}), `max` for as fast as "
             f"possible, or `auto`: paced by the stream workers' consumer lag (kept near {AUTO_LAG_TARGET_S:g} s).")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a typo in a field name is an error, not silently ignored


# ---------------------------------------------------------------- requests

class PauseRequest(_Strict):
    drain_timeout_s: float = Field(
        120.0, gt=0, le=86_400,
        description="Simulated seconds to let trips in flight finish (DRAINING) before the rest are cancelled and the run PAUSES.",
    )


class SpeedRequest(_Strict):
    speed: SpeedValue = Field(..., description=SPEED_DOC)

    @field_validator("speed", mode="before")
    @classmethod
    def _one_spelling(cls, value: object) -> object:
        # The limits contract decides (a JSON null or 0 is not "as fast as possible").
        if isinstance(value, bool) or value is None:
            raise ValueError(f"speed must be {SPEED_DOC}")
        return parse_speed(value)


class SpawnRequest(_Strict):
    count: int = Field(..., ge=1, le=SPAWN_PER_REQUEST_MAX, description=f"How many agents to add (1-{SPAWN_PER_REQUEST_MAX} per request).")


# ---------------------------------------------------------------- status and metrics

class LagStatus(BaseModel):
    """The real-time stream workers' backlog, from their consumer group's committed offsets."""

    group_id: str
    readable: bool | None = Field(description="Did the last reading answer (None: not read yet).")
    records: int | None = Field(description="Records the group is behind, over all its partitions.")
    seconds: float | None = Field(description="Wall seconds of work behind: records / drain rate.")
    drain_per_s: float | None = Field(description="Records per second the group commits.")
    target_s: float = Field(description="What `auto` keeps `seconds` near.")


class BrokerStatus(BaseModel):
    """The Kafka broker as the simulation's producer sees it."""

    available: bool | None = Field(description="False during an outage (None until the first report).")
    queued: int = Field(description="Events queued or in flight, not yet acknowledged.")
    undelivered: int = Field(description="Events still queued when the run stopped during an outage.")
    down_for_s: float | None
    last_error: str | None


class SimStatus(BaseModel):
    state: RunState
    session_id: str
    seed: int
    sim_time_ms: int = Field(description="Simulated now, ms since the epoch (UTC).")
    speed: SpeedValue = Field(description=SPEED_DOC)
    speed_achieved: float = Field(description="Simulated seconds per wall second, measured over the last second.")
    auto_factor: float | None = Field(description="With speed `auto`: the factor it paces at now.")
    events_emitted: int
    drivers: int
    riders: int
    active_trips: int
    lag: LagStatus | None = Field(description="None when the run has no Kafka sink.")
    broker: BrokerStatus | None = Field(description="None when the run has no Kafka sink.")
    backpressure: bool = Field(description="True while the simulation waits for the broker to take its queued events.")
    error: str | None = Field(description="Why the simulation thread died, when it did.")


class Overview(BaseModel):
    requests: int
    completed: int
    cancelled: int
    cancelled_by_rider: int
    cancelled_by_driver: int
    no_drivers_available: int
    surge_refusals: int
    offers: int
    completion_rate: float | None
    median_fare_brl: float | None
    cancel_reasons: dict[str, int] = Field(description="`<by>:<reason>` -> count.")


class ZoneMetrics(BaseModel):
    zone_id: str
    name: str
    surge_multiplier: float
    requests: int
    completed: int
    cancelled: int
    no_drivers: int
    available_drivers: int
    active_trips: int


class Metrics(BaseModel):
    sim_time_ms: int
    events_emitted: int
    events_by_schema: dict[str, int]
    overview: Overview
    trips_by_state: dict[str, int]
    drivers_by_status: dict[str, int]
    riders_by_status: dict[str, int]
    zones: list[ZoneMetrics]


# ---------------------------------------------------------------- agents, trips, zones

class Place(BaseModel):
    lat: float
    lon: float
    zone_id: str


class TripView(BaseModel):
    trip_id: str
    state: str
    rider_id: str
    driver_id: str | None
    pickup: Place
    dropoff: Place
    surge_multiplier: float
    fare_estimate_brl: float
    requested_ms: int
    route: list[LonLat] = Field(description="The leg being driven, [[lon, lat], ...] (empty when none).")
    route_purpose: str | None


class HistoryEntry(BaseModel):
    """A status change (`status`, `reason`) or a finished trip (`trip_id`, `outcome`)."""

    t: int
    status: str | None = None
    reason: str | None = None
    trip_id: str | None = None
    outcome: str | None = None


ProfileValue = str | int | float | bool | None


class DriverView(BaseModel):
    driver_id: str
    status: str
    lat: float
    lon: float
    rating: float
    trips_completed: int
    shift_end_ms: int | None
    profile: dict[str, ProfileValue]
    dna: DriverDNA
    active_trip: TripView | None
    history: list[HistoryEntry]


class RiderView(BaseModel):
    rider_id: str
    status: str
    lat: float
    lon: float
    zone_id: str
    rating: float
    trips_completed: int
    profile: dict[str, ProfileValue]
    dna: RiderDNA
    active_trip: TripView | None
    history: list[HistoryEntry]


class ZoneProperties(BaseModel):
    zone_id: str
    name: str
    sigla: str
    subprefecture: str
    demand_weight: float
    surge_sensitivity: float
    centroid_lat: float
    centroid_lon: float
    area_km2: float
    dense_core: bool


class Polygon(BaseModel):
    type: Literal["Polygon"]
    coordinates: list[list[LonLat]]


class ZoneFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: Polygon
    properties: ZoneProperties


class ZoneCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[ZoneFeature]


class ZoneDetail(BaseModel):
    feature: ZoneFeature
    metrics: ZoneMetrics | None


class Spawned(BaseModel):
    count: int
    ids: list[str]


class Health(BaseModel):
    status: Literal["ok"]


# ---------------------------------------------------------------- the live WebSocket

class LivePosition(BaseModel):
    """One entity on the map (key `<entity_type>:<entity_id>`, as in the live-state Redis contract)."""

    entity_type: Literal["driver", "rider"]
    entity_id: str
    lat: float
    lon: float
    heading_deg: float
    speed_kmh: float
    status: str = Field(description="Driver status (available, on_trip, ...) or `waiting` for riders.")
    trip_id: str | None
    event_time: int = Field(description="Simulated time of the position, ms since the epoch.")
    window_end: int | None = Field(description="End of the GPS window it was aggregated in (positions from the GPS topology); "
                                   "null for positions read from the simulation itself.")


class LiveTrip(BaseModel):
    """A trip's latest state; `route` is the leg being driven while the trip is in flight."""

    trip_id: str
    state: str
    rider_id: str | None
    driver_id: str | None
    pickup: Place | None
    dropoff: Place | None
    route: list[LonLat]
    route_purpose: str | None
    event_time: int


class SurgeZone(BaseModel):
    zone_id: str
    surge_multiplier: float
    demand_count: int
    supply_count: int
    window_end: int


class LiveStats(BaseModel):
    status: SimStatus
    overview: Overview
    clients: int


class LiveSnapshot(BaseModel):
    """First message of every connection (and after a resync): the whole live state."""

    type: Literal["snapshot"]
    tick: int
    status: SimStatus
    stats: LiveStats
    positions: list[LivePosition]
    trips: list[LiveTrip]
    surge: list[SurgeZone]


class LiveDelta(BaseModel):
    """Changes since the previous frame, latest value per identity."""

    type: Literal["delta"]
    tick: int
    positions: list[LivePosition]
    removed: list[str] = Field(description="Keys (`driver:D1`) of entities that left the map.")
    trips: list[LiveTrip]
    surge: list[SurgeZone]
    stats: LiveStats | None = Field(description="The status and counters, at most twice a second; null in the frames between.")


class ClientStats(BaseModel):
    connected_at: float
    frames_sent: int
    bytes_sent: int
    snapshots_sent: int
    frames_coalesced: int
    resyncs: int
    pending_objects: int
    pending_bytes: int


class RedisFeedStatus(BaseModel):
    connected: bool
    messages: int


class LiveClients(BaseModel):
    tick: int
    max_clients: int
    overflows: int = Field(description="Times the changes outgrew the bound and every client was sent a snapshot instead.")
    clients: list[ClientStats]
    redis_feed: RedisFeedStatus | None


# ---------------------------------------------------------------- the Faust workers' topology

class NodeLag(BaseModel):
    partitions: dict[str, int]
    total: int


class TopologyNode(BaseModel):
    model_config = ConfigDict(extra="allow")  # proxied from the workers: newer workers may add counters

    id: str
    kind: str
    description: str
    target: str
    events_in: int
    events_out: int
    errors: int
    lag: NodeLag | None = None


class TopologyGraph(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    description: str
    nodes: list[TopologyNode]
    edges: list[tuple[str, str]]


class WorkerGraphs(BaseModel):
    model_config = ConfigDict(extra="allow")

    topologies: list[TopologyGraph]
    consumer: dict[str, Any] = Field(default_factory=dict, description="The worker's consumer state (flow, partitions).")


class WorkerTopology(BaseModel):
    url: str
    ok: bool
    topology: WorkerGraphs | None = None
    error: str | None = None


class TopologyView(BaseModel):
    workers: list[WorkerTopology]
