import { describe, expect, it } from 'vitest';

import type { Position, SurgeZone, TripChange } from '../api/protocol';
import { LAYER_IDS } from '../map/layerIds';
import { selectionOf, topSurgeZones } from './selection';

const driver = { entityType: 'driver', entityId: 'D1' } as Position;
const rider = { entityType: 'rider', entityId: 'R1' } as Position;
const trip = { tripId: 'T1', state: 'in_transit' } as TripChange;
const zone = { type: 'Feature', properties: { zone_id: '63', name: 'PIRITUBA' }, geometry: { type: 'Polygon', coordinates: [] } };

describe('selectionOf', () => {
  it('maps a picked object to what the inspector shows, by layer', () => {
    expect(selectionOf({ layerId: LAYER_IDS.drivers, object: driver })).toEqual({ kind: 'driver', id: 'D1' });
    expect(selectionOf({ layerId: LAYER_IDS.riders, object: rider })).toEqual({ kind: 'rider', id: 'R1' });
    expect(selectionOf({ layerId: LAYER_IDS.routes, object: trip })).toEqual({ kind: 'trip', id: 'T1', trip });
    expect(selectionOf({ layerId: LAYER_IDS.surge, object: zone })).toEqual({ kind: 'zone', id: '63' });
  });

  it('ignores clicks on nothing and on layers that are not inspectable', () => {
    expect(selectionOf({ layerId: null, object: null })).toBeNull();
    expect(selectionOf({ layerId: LAYER_IDS.drivers, object: undefined })).toBeNull();
    expect(selectionOf({ layerId: LAYER_IDS.districts, object: zone })).toBeNull();
  });
});

describe('topSurgeZones', () => {
  const z = (zoneId: string, multiplier: number): SurgeZone => ({ zoneId, multiplier, demand: 0, supply: 0, windowEnd: 0 });

  it('lists zones above 1.0, highest first, ties by zone id, at most n', () => {
    const surge = { a: z('a', 1.0), b: z('b', 1.5), c: z('c', 2.5), d: z('d', 1.5), e: z('e', 1.2) };
    expect(topSurgeZones(surge, 3).map((s) => s.zoneId)).toEqual(['c', 'b', 'd']);
    expect(topSurgeZones({ a: z('a', 1.0) }, 5)).toEqual([]);
  });
});
