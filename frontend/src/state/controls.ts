// Which lifecycle controls make sense in a given simulation state (the API validates too; this keeps
// the buttons honest). Unknown states enable everything and let the API answer.

import { SPEED_AUTO, SPEED_FACTOR_MAX, SPEED_FACTOR_MIN, SPEED_MAX, type Speed } from '../api/limits';

export type ControlAction = 'start' | 'pause' | 'resume' | 'stop' | 'reset' | 'speed' | 'spawn';

const ALL: readonly ControlAction[] = ['start', 'pause', 'resume', 'stop', 'reset', 'speed', 'spawn'];

const BY_STATE: Readonly<Record<string, readonly ControlAction[]>> = {
  created: ['start', 'reset', 'speed', 'spawn'],
  idle: ['start', 'reset', 'speed', 'spawn'],
  ready: ['start', 'reset', 'speed', 'spawn'],
  running: ['pause', 'stop', 'speed', 'spawn'],
  draining: ['stop', 'speed'],
  paused: ['resume', 'stop', 'reset', 'speed', 'spawn'],
  stopped: ['reset'],
};

export function availableActions(state: string | null | undefined): ReadonlySet<ControlAction> {
  if (state === null || state === undefined) return new Set();
  return new Set(BY_STATE[state.toLowerCase()] ?? ALL);
}

/** Parses the speed field: a factor within the limits (with or without ×), `max` or `auto` (schemas/limits.py). */
export function parseSpeedInput(text: string): { ok: true; speed: Speed } | { ok: false; error: string } {
  const lowered = text.trim().toLowerCase();
  if (lowered === SPEED_MAX || lowered === SPEED_AUTO) return { ok: true, speed: lowered };
  const trimmed = lowered.replace(/\s*[x×]$/, '');
  const value = trimmed === '' ? Number.NaN : Number(trimmed);
  if (!Number.isFinite(value)) return { ok: false, error: `"${text}" is not a speed: use e.g. 30, ${SPEED_MAX} or ${SPEED_AUTO}` };
  if (value < SPEED_FACTOR_MIN || value > SPEED_FACTOR_MAX) {
    return { ok: false, error: `speed must be between ${SPEED_FACTOR_MIN} and ${SPEED_FACTOR_MAX} (or ${SPEED_MAX}, or ${SPEED_AUTO})` };
  }
  return { ok: true, speed: value };
}
