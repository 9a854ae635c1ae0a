// Which lifecycle controls make sense in a given simulation state (the API validates too; this keeps
// the buttons honest). Unknown states enable everything and let the API answer.

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

/** Parses the speed field: a factor in 0.5..1000, or "max" / empty for as fast as possible. */
export function parseSpeedInput(text: string): { ok: true; speed: number | null } | { ok: false; error: string } {
  const lowered = text.trim().toLowerCase();
  if (lowered === '' || lowered === 'max') return { ok: true, speed: null };
  const trimmed = lowered.replace(/\s*[x×]$/, '');
  const value = Number(trimmed);
  if (!Number.isFinite(value)) return { ok: false, error: `"${text}" is not a number: use e.g. 30 or max` };
  if (value < 0.5 || value > 1000) return { ok: false, error: 'speed must be between 0.5 and 1000 (or max)' };
  return { ok: true, speed: value };
}
