// The deck.gl layer stack, built from already-memoised data. Layer ids are stable and hidden layers stay
// in the stack with `visible: false` (deck.gl keeps their GPU buffers); accessors that read state other
// than their `data` declare it in `updateTriggers`.

import type { Layer } from '@deck.gl/core';
import { H3HexagonLayer, TileLayer } from '@deck.gl/geo-layers';
import { BitmapLayer, GeoJsonLayer, PathLayer, ScatterplotLayer } from '@deck.gl/layers';

import type { Position, SurgeZone, TripChange } from '../api/protocol';
import { BASE_FILL_COLOR, BASE_LINE_COLOR, RIDER_COLOR, ROUTE_COLOR, densityColor, driverColor, surgeColor } from './colors';
import type { DensityCell } from './density';
import { LAYER_IDS } from './layerIds';
import { type ZoneCollection, type ZoneFeature, zoneIdOf } from './zones';


export type ToggleableLayer = 'surge' | 'density' | 'routes' | 'riders' | 'drivers';

export type LayerVisibility = Record<ToggleableLayer, boolean>;

export const DEFAULT_VISIBILITY: LayerVisibility = { surge: true, density: false, routes: true, riders: true, drivers: true };

export interface MapData {
  zones: ZoneCollection | null;
  surge: Readonly<Record<string, SurgeZone>>;
  drivers: Position[];
  riders: Position[];
  routes: TripChange[];
  density: DensityCell[];
  densityMax: number;
}

/** The fill colour of a zone in the surge layer (1.0× when no surge was reported for it). */
export function zoneSurgeColor(surge: Readonly<Record<string, SurgeZone>>, zoneId: string) {
  return surgeColor(surge[zoneId]?.multiplier ?? 1);
}

function tileLayer(tileUrl: string | null): Layer {
  return new TileLayer({
    id: LAYER_IDS.tiles,
    // Only used when a tile URL is configured: the map works fully offline on the district polygons.
    data: tileUrl ?? undefined,
    visible: tileUrl !== null,
    minZoom: 0,
    maxZoom: 19,
    tileSize: 256,
    renderSubLayers: (props) => {
      // Geographic tiles: the box is [[west, south], [east, north]].
      const [[west, south], [east, north]] = props.tile.boundingBox as [[number, number], [number, number]];
      return new BitmapLayer(props, { data: undefined, image: props.data, bounds: [west, south, east, north] });
    },
  });
}

export function buildLayers(data: MapData, visibility: LayerVisibility, tileUrl: string | null): Layer[] {
  const zones = data.zones ?? { type: 'FeatureCollection', features: [] };
  return [
    tileLayer(tileUrl),
    new GeoJsonLayer<ZoneFeature['properties']>({
      id: LAYER_IDS.districts,
      data: zones,
      filled: tileUrl === null,
      stroked: true,
      getFillColor: BASE_FILL_COLOR,
      getLineColor: BASE_LINE_COLOR,
      lineWidthMinPixels: 1,
    }),
    new GeoJsonLayer<ZoneFeature['properties']>({
      id: LAYER_IDS.surge,
      data: zones,
      visible: visibility.surge,
      pickable: true,
      filled: true,
      stroked: false,
      getFillColor: (feature) => zoneSurgeColor(data.surge, zoneIdOf(feature as ZoneFeature)),
      updateTriggers: { getFillColor: data.surge },
    }),
    new H3HexagonLayer<DensityCell>({
      id: LAYER_IDS.density,
      data: data.density,
      visible: visibility.density,
      pickable: true,
      extruded: false,
      stroked: false,
      getHexagon: (cell) => cell.hex,
      getFillColor: (cell) => densityColor(cell.total, data.densityMax),
      updateTriggers: { getFillColor: data.densityMax },
    }),
    new PathLayer<TripChange>({
      id: LAYER_IDS.routes,
      data: data.routes,
      visible: visibility.routes,
      pickable: true,
      getPath: (trip) => trip.route,
      getColor: ROUTE_COLOR,
      widthUnits: 'pixels',
      getWidth: 2,
    }),
    new ScatterplotLayer<Position>({
      id: LAYER_IDS.riders,
      data: data.riders,
      visible: visibility.riders,
      pickable: true,
      getPosition: (p) => [p.lon, p.lat],
      getFillColor: RIDER_COLOR,
      radiusUnits: 'pixels',
      getRadius: 3,
    }),
    new ScatterplotLayer<Position>({
      id: LAYER_IDS.drivers,
      data: data.drivers,
      visible: visibility.drivers,
      pickable: true,
      getPosition: (p) => [p.lon, p.lat],
      getFillColor: (p) => driverColor(p.status),
      radiusUnits: 'pixels',
      getRadius: 4,
      stroked: true,
      getLineColor: [15, 20, 25, 255],
      lineWidthUnits: 'pixels',
      getLineWidth: 1,
    }),
  ];
}
