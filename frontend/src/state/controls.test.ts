import { describe, expect, it } from 'vitest';

import { availableActions, parseSpeedInput } from './controls';

describe('availableActions', () => {
  it('offers pause but not start while running, resume but not pause while paused', () => {
    const running = availableActions('running');
    expect(running.has('pause')).toBe(true);
    expect(running.has('start')).toBe(false);
    const paused = availableActions('PAUSED');
    expect(paused.has('resume')).toBe(true);
    expect(paused.has('pause')).toBe(false);
  });

  it('offers nothing before the status is known and everything for a state it does not know', () => {
    expect(availableActions(null).size).toBe(0);
    expect(availableActions('warping').size).toBe(7);
  });
});

describe('parseSpeedInput', () => {
  it('accepts factors in range, with or without ×, and the words max and auto', () => {
    expect(parseSpeedInput('30')).toEqual({ ok: true, speed: 30 });
    expect(parseSpeedInput(' 2.5x ')).toEqual({ ok: true, speed: 2.5 });
    expect(parseSpeedInput('MAX')).toEqual({ ok: true, speed: 'max' });
    expect(parseSpeedInput('auto')).toEqual({ ok: true, speed: 'auto' });
  });

  it('has one spelling of as fast as possible and explains what is wrong with other input', () => {
    expect(parseSpeedInput('fast')).toEqual({ ok: false, error: '"fast" is not a speed: use e.g. 30, max or auto' });
    for (const other of ['', '0', 'null']) expect(parseSpeedInput(other)).toMatchObject({ ok: false });
    expect(parseSpeedInput('0.1')).toMatchObject({ ok: false });
    expect(parseSpeedInput('5000')).toMatchObject({ ok: false, error: 'speed must be between 0.5 and 1000 (or max, or auto)' });
  });
});
