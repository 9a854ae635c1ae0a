import { describe, expect, it } from 'vitest';

import { ProtocolError, parseServerMessage, parseStats } from './protocol';

const driverLatest = {
  entity_type: 'driver',
  entity_id: 'D1',
  lat: -23.55,
  lon: -46.63,
  heading_deg: 90,
  speed_kmh: 32.5,
  driver_status: 'on_trip',
  trip_id: 'T1',
  event_time: 1_700_000_000_000,
  window_end: 1_700_000_002_000,
  ping_count: 3,
  distance_m: 40,
};

describe('parseServerMessage', () => {
  it('parses a snapshot with the live-state position objects and the runtime status', () => {
    const message = parseServerMessage(
      JSON.stringify({
        type: 'snapshot',
        tick: 4,
        status: { state: 'running', session_id: 's1', seed: 42, sim_time_ms: 1000, speed: 30, speed_achieved: 29.5, events_emitted: 99, drivers: 300, riders: 2000 },
        stats: { overview: { trips_completed: 12, revenue_brl: 250.5 }, clients: 2 },
        positions: [driverLatest, { entity_type: 'rider', entity_id: 'R1', lat: -23.5, lon: -46.6, status: 'waiting' }],
        trips: [{ trip_id: 'T1', state: 'in_transit', rider_id: 'R9', driver_id: 'D1', route: [[-46.6, -23.5], [-46.61, -23.51]], event_time: 5 }],
        surge: [{ zone_id: '63', surge_multiplier: 1.8, demand_count: 12, supply_count: 3, window_end: 1000 }],
      }),
    );
    expect(message.type).toBe('snapshot');
    if (message.type !== 'snapshot') return;
    expect(message.positions).toHaveLength(2);
    expect(message.positions[0]).toMatchObject({ key: 'driver:D1', status: 'on_trip', lon: -46.63, lat: -23.55, tripId: 'T1', eventTime: 1_700_000_000_000 });
    expect(message.positions[1]).toMatchObject({ key: 'rider:R1', status: 'waiting' });
    expect(message.trips[0]).toMatchObject({ tripId: 'T1', state: 'in_transit', driverId: 'D1', route: [[-46.6, -23.5], [-46.61, -23.51]] });
    expect(message.surge[0]).toEqual({ zoneId: '63', multiplier: 1.8, demand: 12, supply: 3, windowEnd: 1000 });
    expect(message.status).toMatchObject({ state: 'running', speed: 30, simTimeMs: 1000, drivers: 300, error: null });
    expect(message.stats).toEqual({ 'overview.trips_completed': 12, 'overview.revenue_brl': 250.5, clients: 2 });
  });

  it('takes the status of a delta from its stats object', () => {
    const message = parseServerMessage(
      JSON.stringify({ type: 'delta', tick: 9, positions: [], trips: [], surge: [], stats: { status: { state: 'paused', sim_time_ms: 7 }, overview: { trips_completed: 3 } } }),
    );
    expect(message.type).toBe('delta');
    if (message.type !== 'delta') return;
    expect(message.status).toMatchObject({ state: 'paused', simTimeMs: 7 });
    expect(message.stats).toEqual({ 'overview.trips_completed': 3, 'status.sim_time_ms': 7 });
  });

  it('leaves stats null in a delta that carries none, so the reducer keeps the previous ones', () => {
    const message = parseServerMessage('{"type":"delta","positions":[],"trips":[],"surge":[]}');
    expect(message).toMatchObject({ type: 'delta', stats: null, status: null, removed: [] });
  });

  it('reads trip pickup and dropoff from flat trip_event fields', () => {
    const message = parseServerMessage(
      JSON.stringify({ type: 'delta', trips: [{ trip_id: 'T2', event_type: 'requested', pickup_lat: -23.1, pickup_lon: -46.1, dropoff_lat: -23.2, dropoff_lon: -46.2 }] }),
    );
    if (message.type !== 'delta') throw new Error('expected a delta');
    expect(message.trips[0]).toMatchObject({ state: 'requested', pickup: [-46.1, -23.1], dropoff: [-46.2, -23.2], route: [] });
  });

  it('accepts surge sent as a map keyed by zone', () => {
    const message = parseServerMessage(JSON.stringify({ type: 'delta', surge: { '7': { zone_id: '7', surge_multiplier: 2 } } }));
    if (message.type !== 'delta') throw new Error('expected a delta');
    expect(message.surge.map((s) => [s.zoneId, s.multiplier])).toEqual([['7', 2]]);
  });

  it('passes server errors through', () => {
    expect(parseServerMessage('{"type":"error","message":"bad key"}')).toEqual({ type: 'error', message: 'bad key' });
  });

  it.each([
    ['not json', 'frame is not JSON'],
    ['[1,2]', 'frame must be a JSON object'],
    ['{"type":"hello"}', 'unknown message type "hello"'],
    ['{"type":"delta","positions":[{"entity_type":"bus","entity_id":"B1","lat":1,"lon":2}]}', 'unknown entity_type "bus"'],
    ['{"type":"delta","positions":[{"entity_type":"driver","entity_id":"D1","lat":"x","lon":2}]}', 'position D1 without numeric lat/lon'],
    ['{"type":"delta","trips":[{"trip_id":"T1"}]}', 'trip T1 without state'],
    ['{"type":"delta","surge":[{"zone_id":"1"}]}', 'surge 1 without numeric surge_multiplier'],
    ['{"type":"delta","positions":5}', '"positions" must be a list'],
  ])('rejects %s with a ProtocolError saying why', (frame, reason) => {
    expect(() => parseServerMessage(frame)).toThrow(ProtocolError);
    expect(() => parseServerMessage(frame)).toThrow(reason);
  });
});

describe('parseStats', () => {
  it('keeps only finite numeric leaves, flattened with dotted keys', () => {
    expect(parseStats({ a: 1, b: 'x', c: { d: 2, e: { f: 3 } }, g: Number.NaN, h: null })).toEqual({ a: 1, 'c.d': 2, 'c.e.f': 3 });
  });
});

describe('removed positions', () => {
  it('turns {"removed": true} positions of a delta into removed keys', () => {
    const message = parseServerMessage(
      JSON.stringify({ type: 'delta', positions: [driverLatest, { entity_type: 'rider', entity_id: 'R7', removed: true }] }),
    );
    if (message.type !== 'delta') throw new Error('expected a delta');
    expect(message.positions.map((p) => p.key)).toEqual(['driver:D1']);
    expect(message.removed).toEqual(['rider:R7']);
  });
});
