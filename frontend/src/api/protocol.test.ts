import { describe, expect, it } from 'vitest';

import { ProtocolError, parseServerMessage } from './protocol';
import type { components } from './schema';

type Schemas = components['schemas'];

// Frames built from the generated types: a field the server renames or drops fails the type check here.
const driver: Schemas['LivePosition'] = {
  entity_type: 'driver',
  entity_id: 'D1',
  lat: -23.55,
  lon: -46.63,
  heading_deg: 90,
  speed_kmh: 32.5,
  status: 'on_trip',
  trip_id: 'T1',
  event_time: 1_700_000_000_000,
  window_end: 1_700_000_001_000,
};

const status: Schemas['SimStatus'] = {
  state: 'running', session_id: 's1', seed: 42, sim_time_ms: 1000, speed: 'auto', speed_achieved: 29.5, auto_factor: 31.2,
  events_emitted: 99, drivers: 300, riders: 2000, active_trips: 4, backpressure: false, error: null,
  lag: { group_id: 'rideshare-streams', readable: true, records: 1200, seconds: 0.8, drain_per_s: 1500, target_s: 2 },
  broker: { available: true, queued: 10, undelivered: 0, down_for_s: null, last_error: null },
};

const overview: Schemas['Overview'] = {
  requests: 20, completed: 12, cancelled: 1, cancelled_by_rider: 1, cancelled_by_driver: 0, no_drivers_available: 0,
  surge_refusals: 0, offers: 25, completion_rate: 0.6, median_fare_brl: 22.3, cancel_reasons: { 'rider:patience': 1 },
};

const trip: Schemas['LiveTrip'] = {
  trip_id: 'T1', state: 'in_transit', rider_id: 'R9', driver_id: 'D1', pickup: { lat: -23.5, lon: -46.6, zone_id: '1' },
  dropoff: { lat: -23.51, lon: -46.61, zone_id: '2' }, route: [[-46.6, -23.5], [-46.61, -23.51]], route_purpose: 'dropoff', event_time: 5,
};

const surge: Schemas['SurgeZone'] = { zone_id: '63', surge_multiplier: 1.8, demand_count: 12, supply_count: 3, window_end: 1000 };

describe('parseServerMessage', () => {
  it('maps a snapshot to the reducer types', () => {
    const frame: Schemas['LiveSnapshot'] = {
      type: 'snapshot', tick: 4, status, stats: { status, overview, clients: 2 }, positions: [driver], trips: [trip], surge: [surge],
    };
    const message = parseServerMessage(JSON.stringify(frame));
    expect(message.type).toBe('snapshot');
    if (message.type !== 'snapshot') return;
    expect(message.positions[0]).toEqual({
      key: 'driver:D1', entityType: 'driver', entityId: 'D1', lon: -46.63, lat: -23.55, status: 'on_trip', headingDeg: 90, speedKmh: 32.5,
      tripId: 'T1', eventTime: 1_700_000_000_000,
    });
    expect(message.trips[0]).toEqual({
      tripId: 'T1', state: 'in_transit', riderId: 'R9', driverId: 'D1', pickup: [-46.6, -23.5], dropoff: [-46.61, -23.51],
      route: [[-46.6, -23.5], [-46.61, -23.51]], eventTime: 5,
    });
    expect(message.surge[0]).toEqual({ zoneId: '63', multiplier: 1.8, demand: 12, supply: 3, windowEnd: 1000 });
    expect(message.status.lag?.records).toBe(1200);
    expect(message.overview.completed).toBe(12);
  });

  it('takes the status and overview of a delta from its stats, and none when it carries none', () => {
    const withStats: Schemas['LiveDelta'] = {
      type: 'delta', tick: 9, positions: [], removed: ['rider:R7'], trips: [], surge: [], stats: { status, overview, clients: 1 },
    };
    const message = parseServerMessage(JSON.stringify(withStats));
    if (message.type !== 'delta') throw new Error('expected a delta');
    expect(message.status?.speed).toBe('auto');
    expect(message.overview?.requests).toBe(20);
    expect(message.removed).toEqual(['rider:R7']);
    const between = parseServerMessage(JSON.stringify({ ...withStats, stats: null }));
    expect(between).toMatchObject({ type: 'delta', overview: null, status: null });
  });

  it('reads trips of GET /api/trips the same way (the trip view has requested_ms instead of event_time)', async () => {
    const { toTrip } = await import('./protocol');
    const view: Schemas['TripView'] = {
      trip_id: 'T3', state: 'en_route_pickup', rider_id: 'R1', driver_id: 'D2', pickup: trip.pickup!, dropoff: trip.dropoff!,
      surge_multiplier: 1, fare_estimate_brl: 20, requested_ms: 77, route: [[1, 2], [3, 4]], route_purpose: 'pickup',
    };
    expect(toTrip(view)).toMatchObject({ tripId: 'T3', eventTime: 77, pickup: [-46.6, -23.5], route: [[1, 2], [3, 4]] });
  });

  it.each([
    ['not json', 'frame is not JSON'],
    ['[1,2]', 'frame must be a JSON object'],
    ['{"type":"hello"}', 'unknown message type "hello"'],
    ['{"type":"snapshot","positions":[],"trips":[],"surge":[]}', 'snapshot without status or stats'],
    ['{"type":"delta","positions":[{"entity_type":"driver","entity_id":"D1","lat":"x","lon":2}],"removed":[],"trips":[],"surge":[]}',
      'position D1 without numeric lat/lon'],
    ['{"type":"delta","positions":[],"removed":[],"trips":[{"trip_id":"T1"}],"surge":[]}', 'trip without trip_id or state'],
    ['{"type":"delta","positions":[],"removed":[],"trips":[],"surge":[{"zone_id":"1"}]}', 'surge 1 without numeric surge_multiplier'],
    ['{"type":"delta","positions":5,"removed":[],"trips":[],"surge":[]}', '"positions" must be a list'],
  ])('rejects %s with a ProtocolError saying why', (frame, reason) => {
    expect(() => parseServerMessage(frame)).toThrow(ProtocolError);
    expect(() => parseServerMessage(frame)).toThrow(reason);
  });
});
