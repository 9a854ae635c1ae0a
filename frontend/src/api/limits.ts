// Generated from schemas/limits.py by `npm run gen:api` (scripts/dump_limits.py): do not edit.
// Speed: a factor of real time within the bounds, 'max' (as fast as possible) or 'auto' (paced by the stream workers' lag).

export const SPEED_FACTOR_MIN = 0.5;
export const SPEED_FACTOR_MAX = 1000;
export const SPEED_MAX = 'max' as const;
export const SPEED_AUTO = 'auto' as const;
export type SpeedWord = typeof SPEED_MAX | typeof SPEED_AUTO;
export type Speed = number | SpeedWord;
/** What `auto` keeps the workers' backlog near (wall seconds). */
export const AUTO_LAG_TARGET_S = 2;
/** Agents one spawn request may add. */
export const SPAWN_PER_REQUEST_MAX = 1_000;
