import { describe, expect, it } from 'vitest';

import { reconnectDelayMs } from './useLiveSocket';

describe('reconnectDelayMs', () => {
  it('backs off exponentially from 0.5 s and caps at 10 s', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(reconnectDelayMs)).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(reconnectDelayMs(-3)).toBe(500);
  });
});
