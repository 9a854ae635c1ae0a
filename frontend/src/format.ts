// Display formatting: numbers, multipliers, simulated time, rates and lag, in one place.

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export function formatInt(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : integer.format(value);
}

export function formatMultiplier(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : `${value.toFixed(2)}×`;
}

/** A factor as `30.0×`; the words of the limits contract (`max`, `auto`) as they are. */
export function formatSpeed(speed: number | string | null | undefined): string {
  if (speed === null || speed === undefined) return '–';
  return typeof speed === 'number' ? `${oneDecimal.format(speed)}×` : speed;
}

/** Seconds with one decimal: `1.3 s`. */
export function formatSeconds(seconds: number | null | undefined): string {
  return seconds === null || seconds === undefined || !Number.isFinite(seconds) ? '–' : `${oneDecimal.format(seconds)} s`;
}

/** Simulated instant (ms since the epoch, UTC) as `YYYY-MM-DD HH:MM:SS UTC`. */
export function formatSimTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Events per second: `850/s`, `12.3k/s`, `1.2M/s`. */
export function formatRate(perSecond: number | null | undefined): string {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return '–';
  const abs = Math.abs(perSecond);
  if (abs >= 1e6) return `${oneDecimal.format(perSecond / 1e6)}M/s`;
  if (abs >= 1e4) return `${oneDecimal.format(perSecond / 1e3)}k/s`;
  if (abs >= 10) return `${integer.format(perSecond)}/s`;
  return `${oneDecimal.format(perSecond)}/s`;
}

/** Consumer lag in records, compact: `0`, `950`, `12.5k`. */
export function formatLag(records: number | null | undefined): string {
  if (records === null || records === undefined || !Number.isFinite(records)) return '–';
  if (records >= 1e4) return `${oneDecimal.format(records / 1e3)}k`;
  return integer.format(records);
}

/** snake_case / dotted keys as labels: `trips.en_route_pickup` -> `trips · en route pickup`. */
export function formatLabel(key: string): string {
  return key.split('.').map((part) => part.replace(/_/g, ' ')).join(' · ');
}
