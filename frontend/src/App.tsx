import type { DeckGLRef } from '@deck.gl/react';
import { useEffect, useMemo, useRef, useState } from 'react';

import { rememberApiKey, resolveApiKey } from './api/auth';
import { ApiClient } from './api/client';
import { Controls } from './components/Controls';
import { Inspector } from './components/Inspector';
import { Legend } from './components/Legend';
import { Login } from './components/Login';
import { MapView } from './components/MapView';
import { StatsPanel } from './components/StatsPanel';
import { TopologyPanel } from './components/TopologyPanel';
import { useLiveSocket } from './hooks/useLiveSocket';
import { useTripRoutes } from './hooks/useTripRoutes';
import { DEFAULT_VISIBILITY, type LayerVisibility } from './map/layers';
import { type ZoneCollection, isZoneCollection, zoneIdOf, zoneNameOf } from './map/zones';
import { countEntities } from './state/live';
import type { Selection } from './state/selection';
import { installTestHook } from './testHook';

/** Optional raster tiles (`?tiles=https://.../{z}/{x}/{y}.png` or VITE_TILE_URL at build time); none by default. */
function tileUrlFromPage(): string | null {
  return new URLSearchParams(window.location.search).get('tiles') || import.meta.env.VITE_TILE_URL || null;
}

export function App() {
  const [apiKey, setApiKey] = useState<string | null>(() => resolveApiKey(window.location.search, window.localStorage));
  const login = (key: string | null) => {
    rememberApiKey(key, window.localStorage);
    setApiKey(key);
  };
  if (apiKey === null) return <Login error={null} onKey={login} />;
  return <ControlRoom key={apiKey} apiKey={apiKey} onLogout={() => login(null)} />;
}

function ControlRoom({ apiKey, onLogout }: { apiKey: string; onLogout: () => void }) {
  const client = useMemo(() => new ApiClient(apiKey), [apiKey]);
  const [live, dispatch] = useLiveSocket(apiKey);
  useTripRoutes(client, live.trips, dispatch);
  const [zones, setZones] = useState<ZoneCollection | null>(null);
  const [zonesError, setZonesError] = useState<string | null>(null);
  const [selection, setSelection] = useState<Selection | null>(null);
  const [visibility, setVisibility] = useState<LayerVisibility>(DEFAULT_VISIBILITY);
  const tileUrl = useMemo(tileUrlFromPage, []);
  const deckRef = useRef<DeckGLRef | null>(null);
  const liveRef = useRef(live);
  liveRef.current = live;
  const zonesRef = useRef(zones);
  zonesRef.current = zones;

  useEffect(() => installTestHook(liveRef, zonesRef, deckRef), []);

  useEffect(() => {
    let cancelled = false;
    client
      .get('/api/zones')
      .then((value) => {
        if (cancelled) return;
        if (isZoneCollection(value)) setZones(value);
        else setZonesError('GET /api/zones did not return a GeoJSON FeatureCollection');
      })
      .catch((error: Error) => !cancelled && setZonesError(`districts unavailable: ${error.message}`));
    return () => {
      cancelled = true;
    };
  }, [client]);

  const counts = useMemo(() => countEntities(live.entities), [live.entities]);
  const zoneNames = useMemo(() => Object.fromEntries((zones?.features ?? []).map((f) => [zoneIdOf(f), zoneNameOf(f)])), [zones]);

  if (live.connection === 'unauthorized') {
    return <Login error="The API rejected this key: enter a valid admin or viewer key." onKey={(key) => { rememberApiKey(key, window.localStorage); window.location.search = ''; }} />;
  }

  return (
    <div className="app">
      <MapView
        deckRef={deckRef}
        zones={zones}
        entities={live.entities}
        trips={live.trips}
        surge={live.surge}
        visibility={visibility}
        tileUrl={tileUrl}
        onSelect={setSelection}
      />
      <Legend visibility={visibility} onToggle={(layer, visible) => setVisibility((v) => ({ ...v, [layer]: visible }))} />
      <aside className="sidebar">
        <header>
          <h1>Rideshare Streams</h1>
          <span className={`connection connection-${live.connection}`} data-testid="connection">
            {live.connection}
          </span>
          <span className="muted" data-testid="frame-count">
            {live.frames} frames
          </span>
          <button className="link" onClick={onLogout}>
            change key
          </button>
        </header>
        {zonesError && <p className="error">{zonesError}</p>}
        {live.lastError && <p className="error">live feed: {live.lastError}</p>}
        <Controls client={client} status={live.status} onStatus={(status) => dispatch({ kind: 'status', status, receivedAt: Date.now() })} />
        <StatsPanel status={live.status} overview={live.overview} counts={counts} surge={live.surge} zoneNames={zoneNames} onSelectZone={(id) => setSelection({ kind: 'zone', id })} />
        <Inspector client={client} selection={selection} onClose={() => setSelection(null)} />
        <TopologyPanel client={client} />
      </aside>
    </div>
  );
}
