// Colour scales of the map: pure functions from domain values to RGBA (0-255), shared by the deck.gl
// layers, the legend and the test hook, so what the legend says is exactly what the map draws.

export type RGBA = [number, number, number, number];

export const DRIVER_STATUS_COLORS: Readonly<Record<string, RGBA>> = {
  available: [46, 204, 113, 255],
  repositioning: [26, 188, 156, 255],
  en_route_pickup: [241, 196, 15, 255],
  on_trip: [52, 152, 219, 255],
  offline: [127, 140, 141, 255],
};

export const UNKNOWN_STATUS_COLOR: RGBA = [236, 240, 241, 255];
export const RIDER_COLOR: RGBA = [231, 76, 60, 255];
export const ROUTE_COLOR: RGBA = [155, 89, 182, 200];
export const BASE_FILL_COLOR: RGBA = [28, 33, 43, 255];
export const BASE_LINE_COLOR: RGBA = [90, 100, 120, 255];

export function driverColor(status: string): RGBA {
  return DRIVER_STATUS_COLORS[status] ?? UNKNOWN_STATUS_COLOR;
}

/** Surge stops: multiplier -> colour. 1.0 is almost transparent so the base map shows through. */
export const SURGE_STOPS: ReadonlyArray<readonly [number, RGBA]> = [
  [1.0, [43, 131, 186, 40]],
  [1.25, [171, 221, 164, 110]],
  [1.5, [255, 255, 191, 140]],
  [2.0, [253, 174, 97, 170]],
  [3.0, [215, 25, 28, 200]],
];

function mix(a: RGBA, b: RGBA, t: number): RGBA {
  return [0, 1, 2, 3].map((i) => Math.round(a[i]! + (b[i]! - a[i]!) * t)) as RGBA;
}

/** Piecewise-linear interpolation over `stops` (sorted by value), clamped at both ends. */
export function rampColor(stops: ReadonlyArray<readonly [number, RGBA]>, value: number): RGBA {
  const [firstValue, firstColor] = stops[0]!;
  if (!(value > firstValue)) return [...firstColor];
  for (let i = 1; i < stops.length; i += 1) {
    const [hi, hiColor] = stops[i]!;
    const [lo, loColor] = stops[i - 1]!;
    if (value <= hi) return mix(loColor, hiColor, (value - lo) / (hi - lo));
  }
  return [...stops[stops.length - 1]![1]];
}

export function surgeColor(multiplier: number): RGBA {
  return rampColor(SURGE_STOPS, multiplier);
}

/** Density ramp (viridis-like), `share` in [0, 1] of the busiest cell. */
export const DENSITY_STOPS: ReadonlyArray<readonly [number, RGBA]> = [
  [0, [68, 1, 84, 90]],
  [0.25, [59, 82, 139, 130]],
  [0.5, [33, 145, 140, 160]],
  [0.75, [94, 201, 98, 180]],
  [1, [253, 231, 37, 200]],
];

export function densityColor(count: number, maxCount: number): RGBA {
  return rampColor(DENSITY_STOPS, maxCount > 0 ? count / maxCount : 0);
}

export function cssColor([r, g, b, a]: RGBA): string {
  return `rgba(${r}, ${g}, ${b}, ${(a / 255).toFixed(2)})`;
}
