// H3 density of the live map: drivers and waiting riders counted per H3 cell, computed from the positions
// the WebSocket already pushes. Resolution 7 (~5 km² cells): at the zoom that shows the whole city the
// live-state hash's resolution 8 cells are a few pixels wide and read as dots, not as a heatmap.

import { latLngToCell } from 'h3-js';

import type { Position } from '../api/protocol';

export const DENSITY_RESOLUTION = 7;

export interface DensityCell {
  hex: string;
  drivers: number;
  riders: number;
  total: number;
}

export function densityCells(positions: Iterable<Position>, resolution: number = DENSITY_RESOLUTION): DensityCell[] {
  const cells = new Map<string, DensityCell>();
  for (const p of positions) {
    const hex = latLngToCell(p.lat, p.lon, resolution);
    let cell = cells.get(hex);
    if (cell === undefined) {
      cell = { hex, drivers: 0, riders: 0, total: 0 };
      cells.set(hex, cell);
    }
    if (p.entityType === 'driver') cell.drivers += 1;
    else cell.riders += 1;
    cell.total += 1;
  }
  return [...cells.values()];
}

export function maxTotal(cells: readonly DensityCell[]): number {
  return cells.reduce((max, cell) => Math.max(max, cell.total), 0);
}
