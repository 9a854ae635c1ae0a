import { type PickingInfo, WebMercatorViewport } from '@deck.gl/core';
import DeckGL, { type DeckGLRef } from '@deck.gl/react';
import { type Ref, useMemo } from 'react';

import type { Position, SurgeZone, TripChange } from '../api/protocol';
import { formatMultiplier } from '../format';
import { densityCells, maxTotal } from '../map/density';
import { LAYER_IDS } from '../map/layerIds';
import { type LayerVisibility, buildLayers } from '../map/layers';
import { type ZoneCollection, type ZoneFeature, zoneBounds, zoneIdOf, zoneNameOf } from '../map/zones';
import { type Selection, selectionOf } from '../state/selection';

interface Props {
  deckRef: Ref<DeckGLRef>;
  zones: ZoneCollection | null;
  entities: Readonly<Record<string, Position>>;
  trips: Readonly<Record<string, TripChange>>;
  surge: Readonly<Record<string, SurgeZone>>;
  visibility: LayerVisibility;
  tileUrl: string | null;
  onSelect: (selection: Selection) => void;
}

/** Width of the sidebar next to the map (styles.css `.sidebar`). */
const SIDEBAR_PX = 420;

// São Paulo, until the districts arrive and give the real bounds.
const FALLBACK_VIEW = { longitude: -46.63, latitude: -23.6, zoom: 10, pitch: 0, bearing: 0 };

export function MapView({ deckRef, zones, entities, trips, surge, visibility, tileUrl, onSelect }: Props) {
  // Each layer's data is rebuilt only when its own slice of state changes (referential stability).
  const positions = useMemo(() => Object.values(entities), [entities]);
  const drivers = useMemo(() => positions.filter((p) => p.entityType === 'driver'), [positions]);
  const riders = useMemo(() => positions.filter((p) => p.entityType === 'rider'), [positions]);
  const routes = useMemo(() => Object.values(trips).filter((t) => t.route.length > 1), [trips]);
  const density = useMemo(() => densityCells(positions), [positions]);
  const layers = useMemo(
    () => buildLayers({ zones, surge, drivers, riders, routes, density, densityMax: maxTotal(density) }, visibility, tileUrl),
    [zones, surge, drivers, riders, routes, density, visibility, tileUrl],
  );
  const initialViewState = useMemo(() => {
    const bounds = zones ? zoneBounds(zones) : null;
    if (bounds === null) return FALLBACK_VIEW;
    // Fit the whole city in the map area (the window minus the sidebar).
    const viewport = new WebMercatorViewport({ width: Math.max(200, window.innerWidth - SIDEBAR_PX), height: Math.max(200, window.innerHeight) });
    const { longitude, latitude, zoom } = viewport.fitBounds(bounds, { padding: 24 });
    return { ...FALLBACK_VIEW, longitude, latitude, zoom };
  }, [zones]);

  const tooltip = (info: PickingInfo) => {
    const object = info.object as unknown;
    if (!object || !info.layer) return null;
    if (info.layer.id === LAYER_IDS.surge) {
      const feature = object as ZoneFeature;
      return `${zoneNameOf(feature)}: ${formatMultiplier(surge[zoneIdOf(feature)]?.multiplier ?? 1)}`;
    }
    if (info.layer.id === LAYER_IDS.drivers || info.layer.id === LAYER_IDS.riders) {
      const p = object as Position;
      return `${p.entityType} ${p.entityId}: ${p.status}`;
    }
    if (info.layer.id === LAYER_IDS.routes) return `trip ${(object as TripChange).tripId}: ${(object as TripChange).state}`;
    if (info.layer.id === LAYER_IDS.density) {
      const cell = object as { drivers: number; riders: number };
      return `${cell.drivers} drivers, ${cell.riders} riders`;
    }
    return null;
  };

  return (
    <div className="map" data-testid="map">
      <DeckGL
        ref={deckRef}
        initialViewState={initialViewState}
        controller
        layers={layers}
        getTooltip={tooltip}
        onClick={(info) => {
          const selection = selectionOf({ layerId: info.layer?.id ?? null, object: info.object });
          if (selection) onSelect(selection);
        }}
      />
    </div>
  );
}
