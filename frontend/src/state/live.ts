// Client-side live state and the pure reducer that applies WebSocket snapshots and deltas to it.
// Copy-on-write per slice: a frame that only moves drivers leaves `trips` and `surge` referentially
// equal, so the deck.gl layers built from them (useMemo) do not rebuild their attributes.

import type { Delta, Position, ServerMessage, SimStatus, Snapshot, Stats, SurgeZone, TripChange } from '../api/protocol';

/** Trip states after which a trip leaves the map. */
export const TERMINAL_TRIP_STATES: ReadonlySet<string> = new Set(['completed', 'cancelled', 'no_drivers_available']);

/** Bound on the trips kept client-side: the oldest (by event time) are dropped beyond it. */
export const MAX_TRIPS = 5000;

/** Trip states with a driver on a route (to the pickup, then to the dropoff). */
export const LEG_STATES: ReadonlySet<string> = new Set(['driver_assigned', 'en_route_pickup', 'at_pickup', 'in_transit']);

/** Trip state that starts a new leg: the route known for the previous one no longer applies. */
const NEW_LEG_STATE = 'in_transit';

/** Trip states after which the rider is no longer waiting on the street. */
export const RIDER_LEFT_STATES: ReadonlySet<string> = new Set(['in_transit', ...TERMINAL_TRIP_STATES]);

/**
 * An entity that has not pinged for this long (simulated time) has left the map: parked drivers ping
 * every 30 s and waiting riders every 15 s, while offline drivers and riders in a car stop pinging,
 * and the GPS topology's latest-position hash does not say when they stop.
 */
export const STALE_AFTER_MS = 120_000;

/** Stale entities are looked for at most once per this much simulated time (not on every frame). */
export const PRUNE_EVERY_MS = 10_000;

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'closed' | 'unauthorized';

export interface LiveState {
  connection: ConnectionState;
  entities: Readonly<Record<string, Position>>;
  trips: Readonly<Record<string, TripChange>>;
  surge: Readonly<Record<string, SurgeZone>>;
  stats: Stats;
  status: SimStatus | null;
  /** Newest event time seen in positions (ms): the client's view of simulated now. */
  clockMs: number;
  /** clockMs at the last stale-entity sweep. */
  prunedAtMs: number;
  /** Frames applied since the page loaded (snapshots + deltas). */
  frames: number;
  lastError: string | null;
}

export const initialLiveState: LiveState = {
  connection: 'idle',
  entities: {},
  trips: {},
  surge: {},
  stats: {},
  status: null,
  clockMs: 0,
  prunedAtMs: 0,
  frames: 0,
  lastError: null,
};

export type LiveAction =
  | { kind: 'message'; message: ServerMessage }
  | { kind: 'trip-routes'; trips: TripChange[] }
  | { kind: 'connection'; connection: ConnectionState }
  | { kind: 'status'; status: SimStatus }
  | { kind: 'protocol-error'; error: string };

/** An entity stays on the map while it is online (drivers) or waiting (riders). */
export function isOnMap(position: Position): boolean {
  if (position.entityType === 'driver') return position.status !== 'offline';
  return position.status === 'waiting' || position.status === 'requesting' || position.status === 'unknown';
}

function byKey<T>(items: readonly T[], keyOf: (item: T) => string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const item of items) out[keyOf(item)] = item;
  return out;
}

function boundTrips(trips: Record<string, TripChange>): Record<string, TripChange> {
  const ids = Object.keys(trips);
  if (ids.length <= MAX_TRIPS) return trips;
  const newestFirst = ids.sort((a, b) => trips[b]!.eventTime - trips[a]!.eventTime);
  const kept: Record<string, TripChange> = {};
  for (const id of newestFirst.slice(0, MAX_TRIPS)) kept[id] = trips[id]!;
  return kept;
}

export function applyTrips(current: Readonly<Record<string, TripChange>>, changes: readonly TripChange[]): Readonly<Record<string, TripChange>> {
  if (changes.length === 0) return current;
  const next: Record<string, TripChange> = { ...current };
  for (const change of changes) {
    const previous = next[change.tripId];
    // Out-of-order frames must not resurrect an older state.
    if (previous !== undefined && previous.eventTime > change.eventTime) continue;
    if (TERMINAL_TRIP_STATES.has(change.state)) {
      delete next[change.tripId];
      continue;
    }
    // A state change often carries no route: keep the one we already know while the leg is the same.
    const sameLeg = previous !== undefined && (change.state !== NEW_LEG_STATE || previous.state === NEW_LEG_STATE);
    next[change.tripId] = change.route.length === 0 && sameLeg ? { ...change, route: previous.route } : change;
  }
  return boundTrips(next);
}

export function applyPositions(
  current: Readonly<Record<string, Position>>,
  positions: readonly Position[],
  removed: readonly string[],
): Readonly<Record<string, Position>> {
  if (positions.length === 0 && removed.length === 0) return current;
  const next: Record<string, Position> = { ...current };
  for (const position of positions) {
    const previous = next[position.key];
    if (previous !== undefined && previous.eventTime > position.eventTime) continue;
    if (isOnMap(position)) next[position.key] = position;
    else delete next[position.key];
  }
  // Removals win over a ping in the same frame: the frame says the entity has left by now.
  for (const key of removed) delete next[key];
  return next;
}

export function applySurge(current: Readonly<Record<string, SurgeZone>>, updates: readonly SurgeZone[]): Readonly<Record<string, SurgeZone>> {
  if (updates.length === 0) return current;
  const next: Record<string, SurgeZone> = { ...current };
  for (const update of updates) {
    const previous = next[update.zoneId];
    if (previous !== undefined && previous.windowEnd > update.windowEnd) continue;
    next[update.zoneId] = update;
  }
  return next;
}

function newestEventTime(positions: readonly Position[], since: number): number {
  let newest = since;
  for (const p of positions) if (p.eventTime > newest) newest = p.eventTime;
  return newest;
}

/** Drops entities whose last ping is older than STALE_AFTER_MS before `clockMs` (unknown times are kept). */
export function pruneStale(entities: Readonly<Record<string, Position>>, clockMs: number): Readonly<Record<string, Position>> {
  const cutoff = clockMs - STALE_AFTER_MS;
  let next: Record<string, Position> | null = null;
  for (const [key, p] of Object.entries(entities)) {
    if (p.eventTime > 0 && p.eventTime < cutoff) {
      next ??= { ...entities };
      delete next[key];
    }
  }
  return next ?? entities;
}

/** Riders whose trip reached in_transit or ended are no longer waiting on the street. */
function ridersLeaving(trips: readonly TripChange[]): string[] {
  return trips.filter((t) => t.riderId !== null && RIDER_LEFT_STATES.has(t.state)).map((t) => `rider:${t.riderId}`);
}

/** Trips on a leg whose route we do not know (the WebSocket's trip changes may come without routes). */
export function tripsMissingRoutes(trips: Readonly<Record<string, TripChange>>): number {
  let missing = 0;
  for (const trip of Object.values(trips)) if (LEG_STATES.has(trip.state) && trip.route.length < 2) missing += 1;
  return missing;
}

/**
 * Routes from GET /api/trips for trips we already track. Trips we do not track are ignored: the
 * WebSocket announces every trip, and a late REST answer must not bring back a finished one.
 */
export function applyRoutes(current: Readonly<Record<string, TripChange>>, fromApi: readonly TripChange[]): Readonly<Record<string, TripChange>> {
  let next: Record<string, TripChange> | null = null;
  for (const trip of fromApi) {
    const known = current[trip.tripId];
    if (known === undefined || known.state !== trip.state || trip.route.length < 2 || known.route === trip.route) continue;
    next ??= { ...current };
    next[trip.tripId] = { ...known, route: trip.route, pickup: known.pickup ?? trip.pickup, dropoff: known.dropoff ?? trip.dropoff };
  }
  return next ?? current;
}

function applySnapshot(state: LiveState, snapshot: Snapshot): LiveState {
  const clockMs = newestEventTime(snapshot.positions, 0);
  return {
    ...state,
    entities: pruneStale(byKey(snapshot.positions.filter(isOnMap), (p) => p.key), clockMs),
    clockMs,
    prunedAtMs: clockMs,
    trips: boundTrips(byKey(snapshot.trips.filter((t) => !TERMINAL_TRIP_STATES.has(t.state)), (t) => t.tripId)),
    surge: byKey(snapshot.surge, (s) => s.zoneId),
    stats: snapshot.stats,
    status: snapshot.status ?? state.status,
    frames: state.frames + 1,
    lastError: null,
  };
}

function applyDelta(state: LiveState, delta: Delta): LiveState {
  const clockMs = newestEventTime(delta.positions, state.clockMs);
  const leaving = ridersLeaving(delta.trips);
  let entities = applyPositions(state.entities, delta.positions, leaving.length ? [...delta.removed, ...leaving] : delta.removed);
  let prunedAtMs = state.prunedAtMs;
  if (clockMs - prunedAtMs >= PRUNE_EVERY_MS) {
    entities = pruneStale(entities, clockMs);
    prunedAtMs = clockMs;
  }
  return {
    ...state,
    entities,
    clockMs,
    prunedAtMs,
    trips: applyTrips(state.trips, delta.trips),
    surge: applySurge(state.surge, delta.surge),
    stats: delta.stats === null ? state.stats : { ...state.stats, ...delta.stats },
    status: delta.status ?? state.status,
    frames: state.frames + 1,
  };
}

export function liveReducer(state: LiveState, action: LiveAction): LiveState {
  switch (action.kind) {
    case 'connection':
      return state.connection === action.connection ? state : { ...state, connection: action.connection };
    case 'status':
      return { ...state, status: action.status };
    case 'protocol-error':
      return { ...state, lastError: action.error };
    case 'trip-routes':
      return { ...state, trips: applyRoutes(state.trips, action.trips) };
    case 'message': {
      const message = action.message;
      if (message.type === 'snapshot') return applySnapshot(state, message);
      if (message.type === 'delta') return applyDelta(state, message);
      return { ...state, lastError: message.message };
    }
  }
}

export interface EntityCounts {
  drivers: number;
  riders: number;
  driversByStatus: Record<string, number>;
}

export function countEntities(entities: Readonly<Record<string, Position>>): EntityCounts {
  const counts: EntityCounts = { drivers: 0, riders: 0, driversByStatus: {} };
  for (const p of Object.values(entities)) {
    if (p.entityType === 'driver') {
      counts.drivers += 1;
      counts.driversByStatus[p.status] = (counts.driversByStatus[p.status] ?? 0) + 1;
    } else {
      counts.riders += 1;
    }
  }
  return counts;
}
