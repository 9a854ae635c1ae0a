import { describe, expect, it } from 'vitest';

import { DRIVER_STATUS_COLORS, SURGE_STOPS, UNKNOWN_STATUS_COLOR, cssColor, densityColor, driverColor, rampColor, surgeColor } from './colors';

describe('surgeColor', () => {
  it('is the first stop at 1.0 and below, the last stop at the cap and above', () => {
    expect(surgeColor(1)).toEqual(SURGE_STOPS[0]![1]);
    expect(surgeColor(0.5)).toEqual(SURGE_STOPS[0]![1]);
    expect(surgeColor(3)).toEqual(SURGE_STOPS[SURGE_STOPS.length - 1]![1]);
    expect(surgeColor(10)).toEqual(SURGE_STOPS[SURGE_STOPS.length - 1]![1]);
  });

  it('interpolates linearly between stops', () => {
    // Halfway between 2.0 [253,174,97,170] and 3.0 [215,25,28,200].
    expect(surgeColor(2.5)).toEqual([234, 100, 63, 185]);
  });

  it('gets redder and more opaque as the multiplier grows', () => {
    const values = [1, 1.2, 1.5, 1.8, 2.2, 2.7, 3];
    const colors = values.map(surgeColor);
    for (let i = 1; i < colors.length; i += 1) {
      expect(colors[i]![3]).toBeGreaterThanOrEqual(colors[i - 1]![3]);
      // blue fades out as surge rises
      expect(colors[i]![2]).toBeLessThanOrEqual(colors[i - 1]![2] + 60);
    }
    expect(surgeColor(3)[0]).toBeGreaterThan(surgeColor(1)[0]);
    expect(surgeColor(1)).not.toEqual(surgeColor(1.5));
  });

  it('treats NaN as no surge', () => {
    expect(surgeColor(Number.NaN)).toEqual(SURGE_STOPS[0]![1]);
  });
});

describe('rampColor', () => {
  it('returns copies, so callers cannot corrupt the scale', () => {
    const color = rampColor(SURGE_STOPS, 0);
    color[0] = 999;
    expect(SURGE_STOPS[0]![1][0]).not.toBe(999);
  });
});

describe('driverColor', () => {
  it('has a distinct colour per status and a fallback for unknown ones', () => {
    const distinct = new Set(Object.values(DRIVER_STATUS_COLORS).map((c) => c.join(',')));
    expect(distinct.size).toBe(Object.keys(DRIVER_STATUS_COLORS).length);
    expect(driverColor('on_trip')).toEqual(DRIVER_STATUS_COLORS.on_trip);
    expect(driverColor('teleporting')).toEqual(UNKNOWN_STATUS_COLOR);
  });
});

describe('densityColor', () => {
  it('spans the ramp from empty to the busiest cell and survives an empty map', () => {
    expect(densityColor(0, 10)).toEqual([68, 1, 84, 90]);
    expect(densityColor(10, 10)).toEqual([253, 231, 37, 200]);
    expect(densityColor(5, 0)).toEqual([68, 1, 84, 90]);
  });
});

describe('cssColor', () => {
  it('formats RGBA with alpha in 0..1', () => {
    expect(cssColor([255, 128, 0, 255])).toBe('rgba(255, 128, 0, 1.00)');
    expect(cssColor([0, 0, 0, 51])).toBe('rgba(0, 0, 0, 0.20)');
  });
});
