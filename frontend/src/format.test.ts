import { describe, expect, it } from 'vitest';

import { formatInt, formatLabel, formatLag, formatMultiplier, formatRate, formatSimTime, formatSpeed } from './format';

describe('format', () => {
  it('formats integers with separators and a dash for missing values', () => {
    expect(formatInt(1234567)).toBe('1,234,567');
    expect(formatInt(null)).toBe('–');
    expect(formatInt(Number.POSITIVE_INFINITY)).toBe('–');
  });

  it('formats surge multipliers with two decimals', () => {
    expect(formatMultiplier(1.5)).toBe('1.50×');
    expect(formatMultiplier(undefined)).toBe('–');
  });

  it('formats speed, null meaning as fast as possible', () => {
    expect(formatSpeed(30)).toBe('30.0×');
    expect(formatSpeed('max')).toBe('max');
    expect(formatSpeed('auto')).toBe('auto');
    expect(formatSpeed(null)).toBe('–');
  });

  it('formats simulated time as UTC', () => {
    expect(formatSimTime(Date.UTC(2026, 0, 5, 8, 30, 15))).toBe('2026-01-05 08:30:15 UTC');
    expect(formatSimTime(null)).toBe('–');
  });

  it('formats rates compactly across magnitudes', () => {
    expect(formatRate(0.25)).toBe('0.3/s');
    expect(formatRate(850)).toBe('850/s');
    expect(formatRate(12_345)).toBe('12.3k/s');
    expect(formatRate(2_500_000)).toBe('2.5M/s');
    expect(formatRate(undefined)).toBe('–');
  });

  it('formats lag in records', () => {
    expect(formatLag(0)).toBe('0');
    expect(formatLag(950)).toBe('950');
    expect(formatLag(12_500)).toBe('12.5k');
    expect(formatLag(null)).toBe('–');
  });

  it('turns keys into labels', () => {
    expect(formatLabel('trips.en_route_pickup')).toBe('trips · en route pickup');
  });
});
