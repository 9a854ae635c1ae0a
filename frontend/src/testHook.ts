// `window.__rideshare`: a read-only view of the app's live state for end-to-end tests and for poking
// around in the browser console. It reads the same state and colour functions the map draws with.

import type { DeckGLRef } from '@deck.gl/react';
import type { RefObject } from 'react';

import { LAYER_IDS } from './map/layerIds';
import { zoneSurgeColor } from './map/layers';
import { type ZoneCollection, zoneCenter, zoneIdOf } from './map/zones';
import type { LiveState } from './state/live';

export interface RideshareTestHook {
  snapshot(): {
    connection: string;
    frames: number;
    state: string | null;
    simTimeMs: number | null;
    drivers: Record<string, [number, number, string]>;
    riders: number;
    trips: number;
    /** Trips drawn with a route. */
    routes: number;
    surge: Record<string, number>;
  };
  zoneIds(): string[];
  zoneColor(zoneId: string): number[];
  /** Page coordinates (CSS px) of a lon/lat on the map, or null before the map has a viewport. */
  project(lon: number, lat: number): [number, number] | null;
  zoneCenter(zoneId: string): [number, number] | null;
  /** The zone the surge layer draws at a page pixel (GPU picking), or null. */
  pickZone(x: number, y: number): string | null;
}

declare global {
  interface Window {
    __rideshare?: RideshareTestHook;
  }
}

export function installTestHook(live: RefObject<LiveState>, zones: RefObject<ZoneCollection | null>, deck: RefObject<DeckGLRef | null>): () => void {
  const canvasOffset = (): [number, number] => {
    const rect = deck.current?.deck?.getCanvas()?.getBoundingClientRect();
    return rect ? [rect.left, rect.top] : [0, 0];
  };
  const findZone = (zoneId: string) => zones.current?.features.find((f) => zoneIdOf(f) === zoneId) ?? null;
  const hook: RideshareTestHook = {
    snapshot() {
      const state = live.current;
      const drivers: Record<string, [number, number, string]> = {};
      let riders = 0;
      for (const p of Object.values(state.entities)) {
        if (p.entityType === 'driver') drivers[p.entityId] = [p.lon, p.lat, p.status];
        else riders += 1;
      }
      return {
        connection: state.connection,
        frames: state.frames,
        state: state.status?.state ?? null,
        simTimeMs: state.status?.sim_time_ms ?? null,
        drivers,
        riders,
        trips: Object.keys(state.trips).length,
        routes: Object.values(state.trips).filter((t) => t.route.length > 1).length,
        surge: Object.fromEntries(Object.values(state.surge).map((s) => [s.zoneId, s.multiplier])),
      };
    },
    zoneIds: () => zones.current?.features.map(zoneIdOf) ?? [],
    zoneColor: (zoneId) => [...zoneSurgeColor(live.current.surge, zoneId)],
    project(lon, lat) {
      const viewport = deck.current?.deck?.getViewports()[0];
      if (!viewport) return null;
      const [x, y] = viewport.project([lon, lat]);
      const [left, top] = canvasOffset();
      return [left + x!, top + y!];
    },
    zoneCenter(zoneId) {
      const feature = findZone(zoneId);
      return feature ? zoneCenter(feature) : null;
    },
    pickZone(x, y) {
      const [left, top] = canvasOffset();
      const info = deck.current?.pickObject({ x: x - left, y: y - top, radius: 0, layerIds: [LAYER_IDS.surge] });
      return info?.object ? zoneIdOf(info.object as never) : null;
    },
  };
  window.__rideshare = hook;
  return () => {
    if (window.__rideshare === hook) delete window.__rideshare;
  };
}
