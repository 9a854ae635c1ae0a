// Client-side live state and the pure reducer that applies WebSocket snapshots and deltas to it.
// Copy-on-write per slice: a frame that only moves drivers leaves `trips` and `surge` referentially
// equal, so the deck.gl layers built from them (useMemo) do not rebuild their attributes.

import type { Delta, Overview, Position, ServerMessage, SimStatus, Snapshot, SurgeZone, TripChange } from '../api/protocol';

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
 * Entities leave the map by themselves when they stop pinging: offline drivers and riders in a car go
 * silent (parked drivers ping every 30 s of simulated time, waiting riders every 15 s), and the GPS
 * topology's latest-position hash never says so. Silence is measured in wall time since the entity's
 * last update *arrived* while the simulation runs: event times cannot be compared across entities,
 * because a lagging worker delivers some Kafka partitions minutes (simulated) behind others.
 * An entity is stale after STALE_AFTER_SIM_MS of simulated time at the current speed, never sooner
 * than MIN_STALE_WALL_MS of wall time.
 */
export const STALE_AFTER_SIM_MS = 10 * 60_000;
export const MIN_STALE_WALL_MS = 60_000;

/** Stale entities are looked for at most this often (wall ms), not on every frame. */
export const PRUNE_EVERY_WALL_MS = 2_000;

/** A position with the client wall time its last update arrived. */
export interface TrackedPosition extends Position {
  receivedAt: number;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'closed' | 'unauthorized';

export interface LiveState {
  connection: ConnectionState;
  entities: Readonly<Record<string, TrackedPosition>>;
  trips: Readonly<Record<string, TripChange>>;
  surge: Readonly<Record<string, SurgeZone>>;
  overview: Overview | null;
  status: SimStatus | null;
  /** Wall ms when the simulation was last seen entering the running state (silence counts from there). */
  runningSince: number;
  /** Wall ms of the last stale-entity sweep. */
  prunedAt: number;
  /** Frames applied since the page loaded (snapshots + deltas). */
  frames: number;
  lastError: string | null;
}

export const initialLiveState: LiveState = {
  connection: 'idle',
  entities: {},
  trips: {},
  surge: {},
  overview: null,
  status: null,
  runningSince: 0,
  prunedAt: 0,
  frames: 0,
  lastError: null,
};

export type LiveAction =
  | { kind: 'message'; message: ServerMessage; receivedAt: number }
  | { kind: 'trip-routes'; trips: TripChange[] }
  | { kind: 'connection'; connection: ConnectionState }
  | { kind: 'status'; status: SimStatus; receivedAt: number }
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
  current: Readonly<Record<string, TrackedPosition>>,
  positions: readonly Position[],
  removed: readonly string[],
  receivedAt: number,
): Readonly<Record<string, TrackedPosition>> {
  if (positions.length === 0 && removed.length === 0) return current;
  const next: Record<string, TrackedPosition> = { ...current };
  for (const position of positions) {
    const previous = next[position.key];
    if (previous !== undefined && previous.eventTime > position.eventTime) continue;
    if (isOnMap(position)) next[position.key] = { ...position, receivedAt };
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

/** The factor of real time the simulation runs at: the set factor, auto's current one, or what `max` achieves. */
export function currentFactor(status: SimStatus | null): number | null {
  if (status === null) return null;
  if (typeof status.speed === 'number') return status.speed;
  return status.speed === 'auto' ? status.auto_factor : status.speed_achieved;
}

/** Wall ms of silence after which an entity is stale, at the simulation's current speed. */
export function staleAfterWallMs(status: SimStatus | null): number {
  const factor = currentFactor(status);
  return factor === null || factor <= 0 ? MIN_STALE_WALL_MS : Math.max(MIN_STALE_WALL_MS, STALE_AFTER_SIM_MS / factor);
}

/** Drops entities silent for longer than `staleAfterMs` while running (silence counts from `runningSince`). */
export function pruneStale(
  entities: Readonly<Record<string, TrackedPosition>>,
  now: number,
  runningSince: number,
  staleAfterMs: number,
): Readonly<Record<string, TrackedPosition>> {
  const cutoff = now - staleAfterMs;
  if (runningSince > cutoff) return entities;
  let next: Record<string, TrackedPosition> | null = null;
  for (const [key, p] of Object.entries(entities)) {
    if (p.receivedAt < cutoff) {
      next ??= { ...entities };
      delete next[key];
    }
  }
  return next ?? entities;
}

function isRunning(status: SimStatus | null): boolean {
  return status?.state.toLowerCase() === 'running';
}

/** A new status: remember when the simulation (re)started running, since pauses are not silence. */
function withStatus(state: LiveState, status: SimStatus | null, now: number): LiveState {
  if (status === null) return state;
  const runningSince = isRunning(status) && !isRunning(state.status) ? now : state.runningSince;
  return { ...state, status, runningSince };
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

function applySnapshot(state: LiveState, snapshot: Snapshot, now: number): LiveState {
  const entities: Record<string, TrackedPosition> = {};
  for (const p of snapshot.positions) if (isOnMap(p)) entities[p.key] = { ...p, receivedAt: now };
  return {
    ...withStatus(state, snapshot.status, now),
    entities,
    trips: boundTrips(byKey(snapshot.trips.filter((t) => !TERMINAL_TRIP_STATES.has(t.state)), (t) => t.tripId)),
    surge: byKey(snapshot.surge, (s) => s.zoneId),
    overview: snapshot.overview,
    frames: state.frames + 1,
    lastError: null,
  };
}

function applyDelta(state: LiveState, delta: Delta, now: number): LiveState {
  const next = withStatus(state, delta.status, now);
  const leaving = ridersLeaving(delta.trips);
  let entities = applyPositions(next.entities, delta.positions, leaving.length ? [...delta.removed, ...leaving] : delta.removed, now);
  let prunedAt = next.prunedAt;
  if (now - prunedAt >= PRUNE_EVERY_WALL_MS) {
    if (isRunning(next.status)) entities = pruneStale(entities, now, next.runningSince, staleAfterWallMs(next.status));
    prunedAt = now;
  }
  return {
    ...next,
    entities,
    prunedAt,
    trips: applyTrips(next.trips, delta.trips),
    surge: applySurge(next.surge, delta.surge),
    overview: delta.overview ?? next.overview,
    frames: next.frames + 1,
  };
}

export function liveReducer(state: LiveState, action: LiveAction): LiveState {
  switch (action.kind) {
    case 'connection':
      return state.connection === action.connection ? state : { ...state, connection: action.connection };
    case 'status':
      return withStatus(state, action.status, action.receivedAt);
    case 'protocol-error':
      return { ...state, lastError: action.error };
    case 'trip-routes':
      return { ...state, trips: applyRoutes(state.trips, action.trips) };
    case 'message': {
      const message = action.message;
      return message.type === 'snapshot' ? applySnapshot(state, message, action.receivedAt) : applyDelta(state, message, action.receivedAt);
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
