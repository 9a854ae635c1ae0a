// What the user clicked on the map, from deck.gl's picking info (pure: unit-tested without a GPU).

import type { Position, SurgeZone, TripChange } from '../api/protocol';
import { LAYER_IDS } from '../map/layerIds';
import { type ZoneFeature, zoneIdOf } from '../map/zones';

export type Selection = { kind: 'driver' | 'rider' | 'zone'; id: string } | { kind: 'trip'; id: string; trip: TripChange };

export interface Picked {
  layerId: string | null;
  object: unknown;
}

export function selectionOf({ layerId, object }: Picked): Selection | null {
  if (!object || layerId === null) return null;
  switch (layerId) {
    case LAYER_IDS.drivers:
      return { kind: 'driver', id: (object as Position).entityId };
    case LAYER_IDS.riders:
      return { kind: 'rider', id: (object as Position).entityId };
    case LAYER_IDS.routes:
      return { kind: 'trip', id: (object as TripChange).tripId, trip: object as TripChange };
    case LAYER_IDS.surge:
      return { kind: 'zone', id: zoneIdOf(object as ZoneFeature) };
    default:
      return null;
  }
}

/** The `n` zones with the highest surge above 1.0 (ties by zone id, so the list does not flicker). */
export function topSurgeZones(surge: Readonly<Record<string, SurgeZone>>, n: number): SurgeZone[] {
  return Object.values(surge)
    .filter((zone) => zone.multiplier > 1)
    .sort((a, b) => b.multiplier - a.multiplier || a.zoneId.localeCompare(b.zoneId))
    .slice(0, n);
}
