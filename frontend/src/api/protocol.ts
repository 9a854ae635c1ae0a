// WebSocket protocol of `/ws`: the messages the API pushes, and a parser that turns a raw frame into a
// typed message (or says exactly what is wrong with it). Positions are keyed `<entity_type>:<entity_id>`,
// the same member format as the live-state Redis contract (schemas/live_state.py).

export type EntityType = 'driver' | 'rider';

export type LonLat = [number, number];

export interface Position {
  key: string;
  entityType: EntityType;
  entityId: string;
  lon: number;
  lat: number;
  /** Driver status (available, on_trip, ...) or rider status (waiting, ...). */
  status: string;
  headingDeg: number;
  speedKmh: number;
  tripId: string | null;
  /** Simulated time of the ping, ms since the epoch. */
  eventTime: number;
}

export interface TripChange {
  tripId: string;
  /** The trip_event event_type that happened last (requested, driver_assigned, in_transit, completed...). */
  state: string;
  riderId: string | null;
  driverId: string | null;
  pickup: LonLat | null;
  dropoff: LonLat | null;
  /** Route as [[lon, lat], ...]; empty when the server did not send one. */
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

/** Simulation status as returned by GET /api/status and pushed in frames. */
export interface SimStatus {
  state: string;
  sessionId: string | null;
  seed: number | null;
  simTimeMs: number | null;
  speed: number | null;
  speedAchieved: number | null;
  eventsEmitted: number | null;
  drivers: number | null;
  riders: number | null;
  /** Why the simulation thread died, when it did. */
  error: string | null;
}

/** Free-form numeric overview counters (trips completed, drivers by status, ...). */
export type Stats = Record<string, number>;

export interface Snapshot {
  type: 'snapshot';
  positions: Position[];
  trips: TripChange[];
  surge: SurgeZone[];
  stats: Stats;
  status: SimStatus | null;
}

export interface Delta {
  type: 'delta';
  positions: Position[];
  /** Keys (`driver:D1`) of entities that left the map (driver offline, rider picked up or gone). */
  removed: string[];
  trips: TripChange[];
  surge: SurgeZone[];
  stats: Stats | null;
  status: SimStatus | null;
}

export interface ServerError {
  type: 'error';
  message: string;
}

export type ServerMessage = Snapshot | Delta | ServerError;

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function first(obj: Json, ...names: string[]): unknown {
  for (const name of names) {
    if (obj[name] !== undefined && obj[name] !== null) return obj[name];
  }
  return undefined;
}

function list(obj: Json, ...names: string[]): unknown[] {
  const value = first(obj, ...names);
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  // A map keyed by id ({"Z1": {...}}) is accepted as its values.
  if (isObject(value)) return Object.values(value);
  throw new ProtocolError(`"${names[0]}" must be a list`);
}

function partition<T>(items: readonly T[], predicate: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (predicate(item) ? yes : no).push(item);
  return [yes, no];
}

function lonLat(value: unknown): LonLat | null {
  if (Array.isArray(value) && value.length >= 2) {
    const lon = num(value[0]);
    const lat = num(value[1]);
    return lon !== null && lat !== null ? [lon, lat] : null;
  }
  if (isObject(value)) {
    const lon = num(first(value, 'lon', 'lng'));
    const lat = num(value.lat);
    return lon !== null && lat !== null ? [lon, lat] : null;
  }
  return null;
}

export function parsePosition(raw: unknown): Position {
  if (!isObject(raw)) throw new ProtocolError('position must be an object');
  const entityType = first(raw, 'entity_type', 'type');
  if (entityType !== 'driver' && entityType !== 'rider') {
    throw new ProtocolError(`position has unknown entity_type ${JSON.stringify(entityType)}`);
  }
  const entityId = str(first(raw, 'entity_id', 'id'));
  if (entityId === null) throw new ProtocolError('position without entity_id');
  const lat = num(raw.lat);
  const lon = num(first(raw, 'lon', 'lng'));
  if (lat === null || lon === null) throw new ProtocolError(`position ${entityId} without numeric lat/lon`);
  const status = str(first(raw, 'status', 'driver_status', 'rider_status')) ?? (entityType === 'rider' ? 'waiting' : 'unknown');
  return {
    key: `${entityType}:${entityId}`,
    entityType,
    entityId,
    lon,
    lat,
    status,
    headingDeg: num(raw.heading_deg) ?? 0,
    speedKmh: num(raw.speed_kmh) ?? 0,
    tripId: str(raw.trip_id),
    eventTime: num(first(raw, 'event_time', 'window_end')) ?? 0,
  };
}

function parseRoute(value: unknown): LonLat[] {
  if (!Array.isArray(value)) return [];
  const points: LonLat[] = [];
  for (const point of value) {
    const p = lonLat(point);
    if (p !== null) points.push(p);
  }
  return points;
}

export function parseTrip(raw: unknown): TripChange {
  if (!isObject(raw)) throw new ProtocolError('trip must be an object');
  const tripId = str(raw.trip_id);
  if (tripId === null) throw new ProtocolError('trip without trip_id');
  const state = str(first(raw, 'state', 'event_type', 'status'));
  if (state === null) throw new ProtocolError(`trip ${tripId} without state`);
  const pickup = lonLat(raw.pickup) ?? lonLat({ lon: raw.pickup_lon, lat: raw.pickup_lat });
  const dropoff = lonLat(raw.dropoff) ?? lonLat({ lon: raw.dropoff_lon, lat: raw.dropoff_lat });
  return {
    tripId,
    state,
    riderId: str(raw.rider_id),
    driverId: str(raw.driver_id),
    pickup,
    dropoff,
    route: parseRoute(first(raw, 'route', 'route_lonlat', 'polyline')),
    eventTime: num(first(raw, 'event_time', 'updated_at')) ?? 0,
  };
}

export function parseSurge(raw: unknown): SurgeZone {
  if (!isObject(raw)) throw new ProtocolError('surge must be an object');
  const zoneId = str(raw.zone_id);
  if (zoneId === null) throw new ProtocolError('surge without zone_id');
  const multiplier = num(first(raw, 'surge_multiplier', 'multiplier'));
  if (multiplier === null) throw new ProtocolError(`surge ${zoneId} without numeric surge_multiplier`);
  return {
    zoneId,
    multiplier,
    demand: num(first(raw, 'demand_count', 'demand')) ?? 0,
    supply: num(first(raw, 'supply_count', 'supply')) ?? 0,
    windowEnd: num(raw.window_end) ?? 0,
  };
}

export function parseStatus(raw: unknown): SimStatus {
  if (!isObject(raw)) throw new ProtocolError('status must be an object');
  const state = str(raw.state);
  if (state === null) throw new ProtocolError('status without state');
  return {
    state,
    sessionId: str(raw.session_id),
    seed: num(raw.seed),
    simTimeMs: num(raw.sim_time_ms),
    speed: num(raw.speed),
    speedAchieved: num(raw.speed_achieved),
    eventsEmitted: num(raw.events_emitted),
    drivers: num(raw.drivers),
    riders: num(raw.riders),
    error: str(raw.error),
  };
}

/** Keeps the numeric leaves of a (possibly nested) stats object, flattened with dotted keys. */
export function parseStats(raw: unknown, prefix = ''): Stats {
  const out: Stats = {};
  if (!isObject(raw)) return out;
  for (const [name, value] of Object.entries(raw)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
    else if (isObject(value)) Object.assign(out, parseStats(value, key));
  }
  return out;
}

// The status comes either top-level (snapshots) or inside the stats object (`stats.status`, deltas).
function optionalStatus(obj: Json): SimStatus | null {
  const stats = first(obj, 'stats', 'metrics');
  const raw = first(obj, 'status', 'simulation') ?? (isObject(stats) ? stats.status : undefined);
  return raw === undefined || raw === null ? null : parseStatus(raw);
}

export function parseServerMessage(frame: string): ServerMessage {
  let data: unknown;
  try {
    data = JSON.parse(frame);
  } catch {
    throw new ProtocolError('frame is not JSON');
  }
  if (!isObject(data)) throw new ProtocolError('frame must be a JSON object');
  switch (data.type) {
    case 'snapshot':
      return {
        type: 'snapshot',
        positions: list(data, 'positions').filter((p) => !(isObject(p) && p.removed === true)).map(parsePosition),
        trips: list(data, 'trips', 'active_trips').map(parseTrip),
        surge: list(data, 'surge').map(parseSurge),
        stats: parseStats(first(data, 'stats', 'metrics')),
        status: optionalStatus(data),
      };
    case 'delta': {
      // A position `{"entity_type", "entity_id", "removed": true}` says the entity left the map.
      const [gone, moved] = partition(list(data, 'positions'), (p) => isObject(p) && p.removed === true);
      return {
        type: 'delta',
        positions: moved.map(parsePosition),
        removed: [
          ...list(data, 'removed').filter((k): k is string => typeof k === 'string'),
          ...gone.map((p) => `${String((p as Json).entity_type ?? 'driver')}:${String((p as Json).entity_id)}`),
        ],
        trips: list(data, 'trips').map(parseTrip),
        surge: list(data, 'surge').map(parseSurge),
        stats: first(data, 'stats', 'metrics') === undefined ? null : parseStats(first(data, 'stats', 'metrics')),
        status: optionalStatus(data),
      };
    }
    case 'error':
      return { type: 'error', message: str(data.message) ?? str(data.detail) ?? 'unknown server error' };
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(data.type)}`);
  }
}
