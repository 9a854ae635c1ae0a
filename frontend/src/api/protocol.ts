// WebSocket protocol of `/ws`. The wire messages are the API's `LiveSnapshot` and `LiveDelta` models, typed
// here from the generated OpenAPI types (schema.d.ts), so a change on the server fails the type check. The
// parser checks the frame's shape once (a frame we cannot apply makes the client ask for a fresh snapshot)
// and maps it to the reducer's types; positions are keyed `<entity_type>:<entity_id>`, as in the live-state
// Redis contract (schemas/live_state.py).

import type { components } from './schema';

type Schemas = components['schemas'];
type WireSnapshot = Schemas['LiveSnapshot'];
type WireDelta = Schemas['LiveDelta'];
type WirePosition = Schemas['LivePosition'];
type WireTrip = Schemas['LiveTrip'];
type WireSurge = Schemas['SurgeZone'];

/** The simulation's status as GET /api/sim/status returns it and the frames carry it. */
export type SimStatus = Schemas['SimStatus'];
/** The simulation's headline counters. */
export type Overview = Schemas['Overview'];

export type EntityType = WirePosition['entity_type'];

export type LonLat = [number, number];

export interface Position {
  key: string;
  entityType: EntityType;
  entityId: string;
  lon: number;
  lat: number;
  /** Driver status (available, on_trip, ...) or `waiting` for riders. */
  status: string;
  headingDeg: number;
  speedKmh: number;
  tripId: string | null;
  /** Simulated time of the position, ms since the epoch. */
  eventTime: number;
}

export interface TripChange {
  tripId: string;
  /** The trip's state (requested, driver_assigned, in_transit, completed...). */
  state: string;
  riderId: string | null;
  driverId: string | null;
  pickup: LonLat | null;
  dropoff: LonLat | null;
  /** Route as [[lon, lat], ...]; empty while the trip is not on a leg. */
  route: LonLat[];
  eventTime: number;
}

export interface SurgeZone {
  zoneId: string;
  multiplier: number;
  demand: number;
  supply: number;
  windowEnd: number;
}

export interface Snapshot {
  type: 'snapshot';
  positions: Position[];
  trips: TripChange[];
  surge: SurgeZone[];
  overview: Overview;
  status: SimStatus;
}

export interface Delta {
  type: 'delta';
  positions: Position[];
  /** Keys (`driver:D1`) of entities that left the map (driver offline, rider picked up or gone). */
  removed: string[];
  trips: TripChange[];
  surge: SurgeZone[];
  /** Null in the frames between two stats updates: the client keeps the previous ones. */
  overview: Overview | null;
  status: SimStatus | null;
}

export type ServerMessage = Snapshot | Delta;

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function listOf<T>(frame: Record<string, unknown>, name: string): T[] {
  const value = frame[name];
  if (!Array.isArray(value)) throw new ProtocolError(`"${name}" must be a list`);
  return value as T[];
}

export function toPosition(p: WirePosition): Position {
  if (!finite(p.lat) || !finite(p.lon)) throw new ProtocolError(`position ${p.entity_id} without numeric lat/lon`);
  return {
    key: `${p.entity_type}:${p.entity_id}`,
    entityType: p.entity_type,
    entityId: p.entity_id,
    lon: p.lon,
    lat: p.lat,
    status: p.status,
    headingDeg: p.heading_deg,
    speedKmh: p.speed_kmh,
    tripId: p.trip_id,
    eventTime: p.event_time,
  };
}

type Place = Schemas['Place'];

const lonLat = (place: Place | null | undefined): LonLat | null => (place ? [place.lon, place.lat] : null);

/** A trip as the WebSocket (`LiveTrip`) or GET /api/trips (`TripView`) sends it. */
export function toTrip(t: WireTrip | Schemas['TripView']): TripChange {
  if (typeof t.trip_id !== 'string' || typeof t.state !== 'string') throw new ProtocolError('trip without trip_id or state');
  return {
    tripId: t.trip_id,
    state: t.state,
    riderId: t.rider_id,
    driverId: t.driver_id,
    pickup: lonLat(t.pickup),
    dropoff: lonLat(t.dropoff),
    route: t.route,
    eventTime: 'event_time' in t ? t.event_time : t.requested_ms,
  };
}

export function toSurge(s: WireSurge): SurgeZone {
  if (!finite(s.surge_multiplier)) throw new ProtocolError(`surge ${s.zone_id} without numeric surge_multiplier`);
  return { zoneId: s.zone_id, multiplier: s.surge_multiplier, demand: s.demand_count, supply: s.supply_count, windowEnd: s.window_end };
}

export function parseServerMessage(frame: string): ServerMessage {
  let data: unknown;
  try {
    data = JSON.parse(frame);
  } catch {
    throw new ProtocolError('frame is not JSON');
  }
  if (!isObject(data)) throw new ProtocolError('frame must be a JSON object');
  if (data.type === 'snapshot') {
    const snapshot = data as unknown as WireSnapshot;
    if (!isObject(snapshot.status) || !isObject(snapshot.stats)) throw new ProtocolError('snapshot without status or stats');
    return {
      type: 'snapshot',
      positions: listOf<WirePosition>(data, 'positions').map(toPosition),
      trips: listOf<WireTrip>(data, 'trips').map(toTrip),
      surge: listOf<WireSurge>(data, 'surge').map(toSurge),
      overview: snapshot.stats.overview,
      status: snapshot.status,
    };
  }
  if (data.type === 'delta') {
    const delta = data as unknown as WireDelta;
    return {
      type: 'delta',
      positions: listOf<WirePosition>(data, 'positions').map(toPosition),
      removed: listOf<string>(data, 'removed'),
      trips: listOf<WireTrip>(data, 'trips').map(toTrip),
      surge: listOf<WireSurge>(data, 'surge').map(toSurge),
      overview: delta.stats?.overview ?? null,
      status: delta.stats?.status ?? null,
    };
  }
  throw new ProtocolError(`unknown message type ${JSON.stringify(data.type)}`);
}
