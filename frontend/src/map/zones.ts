// The districts GeoJSON served by GET /api/zones: types, ids and the map's initial view from its bounds.

import type { Feature, FeatureCollection, MultiPolygon, Polygon } from 'geojson';

export interface ZoneProperties {
  zone_id?: string;
  name?: string;
  sigla?: string;
  subprefecture?: string;
  demand_weight?: number;
  surge_sensitivity?: number;
  centroid_lat?: number;
  centroid_lon?: number;
  [extra: string]: unknown;
}

export type ZoneFeature = Feature<Polygon | MultiPolygon, ZoneProperties>;

export type ZoneCollection = FeatureCollection<Polygon | MultiPolygon, ZoneProperties>;

export function zoneIdOf(feature: ZoneFeature): string {
  return String(feature.properties.zone_id ?? feature.id ?? '');
}

export function zoneNameOf(feature: ZoneFeature): string {
  return String(feature.properties.name ?? zoneIdOf(feature));
}

export function isZoneCollection(value: unknown): value is ZoneCollection {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'FeatureCollection' &&
    Array.isArray((value as { features?: unknown }).features)
  );
}

function walkCoordinates(coordinates: unknown, visit: (lon: number, lat: number) => void): void {
  if (!Array.isArray(coordinates)) return;
  if (typeof coordinates[0] === 'number' && typeof coordinates[1] === 'number') {
    visit(coordinates[0], coordinates[1]);
    return;
  }
  for (const child of coordinates) walkCoordinates(child, visit);
}

export type Bounds = [[number, number], [number, number]];

export function zoneBounds(zones: ZoneCollection): Bounds | null {
  let minLon = Infinity;
  let minLat = Infinity;
  let maxLon = -Infinity;
  let maxLat = -Infinity;
  for (const feature of zones.features) {
    walkCoordinates(feature.geometry.coordinates, (lon, lat) => {
      minLon = Math.min(minLon, lon);
      maxLon = Math.max(maxLon, lon);
      minLat = Math.min(minLat, lat);
      maxLat = Math.max(maxLat, lat);
    });
  }
  return Number.isFinite(minLon) ? [[minLon, minLat], [maxLon, maxLat]] : null;
}

/** Centre of a zone: the centroid the API computed, else the middle of its bounds. */
export function zoneCenter(feature: ZoneFeature): [number, number] | null {
  const { centroid_lon: lon, centroid_lat: lat } = feature.properties;
  if (typeof lon === 'number' && typeof lat === 'number') return [lon, lat];
  const bounds = zoneBounds({ type: 'FeatureCollection', features: [feature] });
  return bounds === null ? null : [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2];
}
