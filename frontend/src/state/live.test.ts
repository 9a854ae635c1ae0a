import { describe, expect, it } from 'vitest';

import type { Delta, Overview, Position, SimStatus, Snapshot, SurgeZone, TripChange } from '../api/protocol';
import {
  MAX_TRIPS,
  MIN_STALE_WALL_MS,
  PRUNE_EVERY_WALL_MS,
  STALE_AFTER_SIM_MS,
  applyRoutes,
  countEntities,
  initialLiveState,
  liveReducer,
  pruneStale,
  staleAfterWallMs,
  tripsMissingRoutes,
} from './live';

function position(entityType: 'driver' | 'rider', id: string, lon: number, status: string, eventTime = 1): Position {
  return { key: `${entityType}:${id}`, entityType, entityId: id, lon, lat: -23.5, status, headingDeg: 0, speedKmh: 0, tripId: null, eventTime };
}

function trip(id: string, state: string, eventTime: number, route: [number, number][] = []): TripChange {
  return { tripId: id, state, riderId: 'R1', driverId: 'D1', pickup: null, dropoff: null, route, eventTime };
}

function surge(zoneId: string, multiplier: number, windowEnd: number): SurgeZone {
  return { zoneId, multiplier, demand: 1, supply: 1, windowEnd };
}

function status(state: SimStatus['state'], speed: SimStatus['speed'], extra: Partial<SimStatus> = {}): SimStatus {
  return {
    state, session_id: 's', seed: 1, sim_time_ms: 0, speed, speed_achieved: 0, auto_factor: null, events_emitted: 0, drivers: 0,
    riders: 0, active_trips: 0, lag: null, broker: null, backpressure: false, error: null, ...extra,
  };
}

function overview(completed: number): Overview {
  return {
    requests: 0, completed, cancelled: 0, cancelled_by_rider: 0, cancelled_by_driver: 0, no_drivers_available: 0, surge_refusals: 0,
    offers: 0, completion_rate: null, median_fare_brl: null, cancel_reasons: {},
  };
}

function snapshot(partial: Partial<Snapshot>): Snapshot {
  return { type: 'snapshot', positions: [], trips: [], surge: [], overview: overview(0), status: status('created', 30), ...partial };
}

function delta(partial: Partial<Delta>): Delta {
  return { type: 'delta', positions: [], removed: [], trips: [], surge: [], overview: null, status: null, ...partial };
}

const apply = (state: typeof initialLiveState, message: Snapshot | Delta, receivedAt = 0) => liveReducer(state, { kind: 'message', message, receivedAt });

describe('liveReducer', () => {
  it('replaces the whole state with a snapshot, leaving out offline drivers and finished trips', () => {
    const before = apply(initialLiveState, snapshot({ positions: [position('driver', 'OLD', 1, 'available')] }));
    const after = apply(
      before,
      snapshot({
        positions: [position('driver', 'D1', -46.6, 'available'), position('driver', 'D2', -46.7, 'offline'), position('rider', 'R1', -46.5, 'waiting')],
        trips: [trip('T1', 'in_transit', 1), trip('T2', 'completed', 1)],
        surge: [surge('63', 1.5, 10)],
        status: status('running', 30, { sim_time_ms: 5 }),
      }),
    );
    expect(Object.keys(after.entities).sort()).toEqual(['driver:D1', 'rider:R1']);
    expect(Object.keys(after.trips)).toEqual(['T1']);
    expect(after.surge['63']?.multiplier).toBe(1.5);
    expect(after.status?.state).toBe('running');
    expect(after.frames).toBe(2);
  });

  it('moves a driver on a delta and keeps the other slices referentially equal', () => {
    const start = apply(initialLiveState, snapshot({ positions: [position('driver', 'D1', -46.6, 'available')], trips: [trip('T1', 'requested', 1)], surge: [surge('1', 1.2, 1)] }));
    const moved = apply(start, delta({ positions: [position('driver', 'D1', -46.5, 'en_route_pickup', 2)] }));
    expect(moved.entities['driver:D1']).toMatchObject({ lon: -46.5, status: 'en_route_pickup' });
    expect(moved.entities).not.toBe(start.entities);
    expect(moved.trips).toBe(start.trips);
    expect(moved.surge).toBe(start.surge);
    expect(moved.overview).toBe(start.overview);
  });

  it('ignores a position older than the one it already has', () => {
    const start = apply(initialLiveState, snapshot({ positions: [position('driver', 'D1', -46.6, 'available', 10)] }));
    const after = apply(start, delta({ positions: [position('driver', 'D1', -46.9, 'available', 5)] }));
    expect(after.entities['driver:D1']?.lon).toBe(-46.6);
  });

  it('removes drivers going offline, riders no longer waiting and keys listed as removed', () => {
    const start = apply(
      initialLiveState,
      snapshot({ positions: [position('driver', 'D1', 1, 'available'), position('driver', 'D2', 2, 'available'), position('rider', 'R1', 3, 'waiting')] }),
    );
    const after = apply(start, delta({ positions: [position('driver', 'D1', 1, 'offline', 2), position('rider', 'R1', 3, 'in_trip', 2)], removed: ['driver:D2'] }));
    expect(after.entities).toEqual({});
  });

  it('keeps the known route when a trip state change comes without one, and drops finished trips', () => {
    const route: [number, number][] = [[1, 2], [3, 4]];
    const start = apply(initialLiveState, snapshot({ trips: [trip('T1', 'driver_assigned', 1, route), trip('T2', 'in_transit', 1)] }));
    const after = apply(start, delta({ trips: [trip('T1', 'at_pickup', 2), trip('T2', 'cancelled', 2)] }));
    expect(after.trips['T1']).toMatchObject({ state: 'at_pickup', route });
    expect(after.trips['T2']).toBeUndefined();
  });

  it('does not let a late frame resurrect an older trip state', () => {
    const start = apply(initialLiveState, snapshot({ trips: [trip('T1', 'in_transit', 10)] }));
    const after = apply(start, delta({ trips: [trip('T1', 'driver_assigned', 5)] }));
    expect(after.trips['T1']?.state).toBe('in_transit');
  });

  it('bounds the trips it keeps, dropping the oldest', () => {
    const many = Array.from({ length: MAX_TRIPS + 10 }, (_, i) => trip(`T${i}`, 'requested', i));
    const after = apply(initialLiveState, delta({ trips: many }));
    expect(Object.keys(after.trips)).toHaveLength(MAX_TRIPS);
    expect(after.trips['T0']).toBeUndefined();
    expect(after.trips[`T${MAX_TRIPS + 9}`]).toBeDefined();
  });

  it('applies surge per zone, newest window wins', () => {
    const start = apply(initialLiveState, snapshot({ surge: [surge('1', 1.0, 10), surge('2', 2.0, 10)] }));
    const after = apply(start, delta({ surge: [surge('1', 2.5, 20), surge('2', 1.1, 5)] }));
    expect(after.surge['1']?.multiplier).toBe(2.5);
    expect(after.surge['2']?.multiplier).toBe(2.0);
  });

  it('takes a newer overview and status, and keeps both through deltas that carry none', () => {
    const start = apply(initialLiveState, snapshot({ overview: overview(1) }));
    const between = apply(start, delta({}));
    expect(between.overview).toBe(start.overview);
    const after = apply(between, delta({ overview: overview(3), status: status('paused', 30) }));
    expect(after.overview?.completed).toBe(3);
    expect(after.status?.state).toBe('paused');
  });

  it('records protocol errors and connection changes without touching the map', () => {
    const start = apply(initialLiveState, snapshot({ positions: [position('driver', 'D1', 1, 'available')] }));
    const errored = liveReducer(start, { kind: 'protocol-error', error: 'boom' });
    expect(errored.lastError).toBe('boom');
    expect(errored.entities).toBe(start.entities);
    const open = liveReducer(errored, { kind: 'connection', connection: 'open' });
    expect(open.connection).toBe('open');
    expect(liveReducer(open, { kind: 'connection', connection: 'open' })).toBe(open);
  });
});

describe('countEntities', () => {
  it('counts drivers by status and riders', () => {
    const state = apply(
      initialLiveState,
      snapshot({ positions: [position('driver', 'D1', 1, 'available'), position('driver', 'D2', 1, 'on_trip'), position('driver', 'D3', 1, 'available'), position('rider', 'R1', 1, 'waiting')] }),
    );
    expect(countEntities(state.entities)).toEqual({ drivers: 3, riders: 1, driversByStatus: { available: 2, on_trip: 1 } });
  });
});

describe('entities leaving the map', () => {
  it('drops a waiting rider once the trip is in transit or over', () => {
    const start = apply(initialLiveState, snapshot({ positions: [position('rider', 'R1', 1, 'waiting'), position('rider', 'R2', 1, 'waiting')] }));
    const after = apply(start, delta({ trips: [{ ...trip('T1', 'in_transit', 2), riderId: 'R1' }, { ...trip('T2', 'driver_assigned', 2), riderId: 'R2' }] }));
    expect(Object.keys(after.entities)).toEqual(['rider:R2']);
  });

  it('sweeps entities whose updates stopped arriving while the simulation runs', () => {
    const running = status('running', 30);
    const wait = staleAfterWallMs(running);
    const start = apply(initialLiveState, snapshot({ status: running, positions: [position('driver', 'GONE', 1, 'available'), position('driver', 'BUSY', 1, 'on_trip')] }), 0);
    const soon = apply(start, delta({ positions: [position('driver', 'BUSY', 2, 'on_trip', 2)] }), wait / 2);
    expect(Object.keys(soon.entities).sort()).toEqual(['driver:BUSY', 'driver:GONE']);
    const later = apply(soon, delta({ positions: [position('driver', 'BUSY', 3, 'on_trip', 3)] }), wait + PRUNE_EVERY_WALL_MS);
    expect(Object.keys(later.entities)).toEqual(['driver:BUSY']);
  });

  it('does not count a pause as silence: nothing is swept while paused, nor right after resuming', () => {
    const start = apply(initialLiveState, snapshot({ status: status('running', 30), positions: [position('driver', 'PARKED', 1, 'available')] }), 0);
    const wait = staleAfterWallMs(status('running', 30));
    const paused = apply(start, delta({ status: status('paused', 30) }), 1_000);
    const stillPaused = apply(paused, delta({}), 10 * wait);
    expect(stillPaused.entities).toHaveProperty('driver:PARKED');
    const resumed = apply(stillPaused, delta({ status: status('running', 30) }), 10 * wait + 1);
    const shortlyAfter = apply(resumed, delta({}), 10 * wait + wait / 2);
    expect(shortlyAfter.entities).toHaveProperty('driver:PARKED');
    const muchLater = apply(shortlyAfter, delta({}), 12 * wait);
    expect(muchLater.entities).toEqual({});
  });

  it('waits longer at slower speeds, never less than the minimum', () => {
    expect(staleAfterWallMs(status('running', 1))).toBe(STALE_AFTER_SIM_MS);
    expect(staleAfterWallMs(status('running', 1000))).toBe(MIN_STALE_WALL_MS);
    expect(staleAfterWallMs(null)).toBe(MIN_STALE_WALL_MS);
  });

  it('reads the factor that auto paces at, or what max achieves', () => {
    expect(staleAfterWallMs(status('running', 'auto', { auto_factor: 2 }))).toBe(STALE_AFTER_SIM_MS / 2);
    expect(staleAfterWallMs(status('running', 'max', { speed_achieved: 4 }))).toBe(STALE_AFTER_SIM_MS / 4);
    expect(staleAfterWallMs(status('running', 'max', { speed_achieved: 0 }))).toBe(MIN_STALE_WALL_MS);
  });

  it('keeps everything when nothing is old enough', () => {
    const entities = { 'driver:D1': { ...position('driver', 'D1', 1, 'available'), receivedAt: 100 } };
    expect(pruneStale(entities, 150, 0, 100)).toBe(entities);
  });
});

describe('trip routes', () => {
  const pickupLeg: [number, number][] = [[1, 1], [2, 2]];
  const dropoffLeg: [number, number][] = [[2, 2], [3, 3]];

  it('forgets the pickup route when the trip starts its dropoff leg', () => {
    const start = apply(initialLiveState, snapshot({ trips: [trip('T1', 'at_pickup', 1, pickupLeg)] }));
    const after = apply(start, delta({ trips: [trip('T1', 'in_transit', 2)] }));
    expect(after.trips['T1']?.route).toEqual([]);
    expect(tripsMissingRoutes(after.trips)).toBe(1);
  });

  it('counts only trips on a leg as missing a route', () => {
    const state = apply(initialLiveState, snapshot({ trips: [trip('T1', 'requested', 1), trip('T2', 'en_route_pickup', 1), trip('T3', 'in_transit', 1, dropoffLeg)] }));
    expect(tripsMissingRoutes(state.trips)).toBe(1);
  });

  it('fills routes from the API for tracked trips in the same state, and never brings back untracked ones', () => {
    const start = apply(initialLiveState, snapshot({ trips: [trip('T1', 'in_transit', 1), trip('T2', 'en_route_pickup', 1)] }));
    const after = liveReducer(start, {
      kind: 'trip-routes',
      trips: [trip('T1', 'in_transit', 0, dropoffLeg), trip('T2', 'at_pickup', 0, pickupLeg), trip('GONE', 'in_transit', 0, dropoffLeg)],
    });
    expect(after.trips['T1']?.route).toEqual(dropoffLeg);
    expect(after.trips['T1']?.eventTime).toBe(1);
    expect(after.trips['T2']?.route).toEqual([]);
    expect(after.trips['GONE']).toBeUndefined();
    expect(applyRoutes(after.trips, [])).toBe(after.trips);
  });
});
