import { latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';

import type { Position } from '../api/protocol';
import { DENSITY_RESOLUTION, densityCells, maxTotal } from './density';

const at = (entityType: 'driver' | 'rider', id: string, lat: number, lon: number): Position => ({
  key: `${entityType}:${id}`, entityType, entityId: id, lat, lon, status: 'available', headingDeg: 0, speedKmh: 0, tripId: null, eventTime: 0,
});

describe('densityCells', () => {
  it('counts drivers and riders per H3 cell', () => {
    const cells = densityCells([
      at('driver', 'D1', -23.55, -46.63),
      at('driver', 'D2', -23.5501, -46.6301), // ~15 m away: same cell
      at('rider', 'R1', -23.55, -46.63),
      at('driver', 'D3', -23.7, -46.8),
    ]);
    const centre = latLngToCell(-23.55, -46.63, DENSITY_RESOLUTION);
    const byHex = Object.fromEntries(cells.map((c) => [c.hex, c]));
    expect(cells).toHaveLength(2);
    expect(byHex[centre]).toEqual({ hex: centre, drivers: 2, riders: 1, total: 3 });
    expect(byHex[latLngToCell(-23.7, -46.8, DENSITY_RESOLUTION)]?.total).toBe(1);
    expect(maxTotal(cells)).toBe(3);
  });

  it('is empty for no positions', () => {
    expect(densityCells([])).toEqual([]);
    expect(maxTotal([])).toBe(0);
  });
});
