import { useCallback, useState } from 'react';

import { ApiError, type ApiClient } from '../api/client';
import type { Selection } from '../state/selection';
import { usePolling } from '../hooks/usePolling';


interface Props {
  client: ApiClient;
  selection: Selection | null;
  onClose: () => void;
}

const PATHS = { driver: '/api/drivers/{driver_id}', rider: '/api/riders/{rider_id}', zone: '/api/zones/{zone_id}' } as const;

function Value({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">–</span>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span className="muted">[]</span>;
    if (value.every((v) => typeof v !== 'object' || v === null)) return <span>{value.join(', ')}</span>;
    return (
      <ol className="kv-list">
        {value.slice(0, 20).map((item, i) => (
          <li key={i}>
            <Value value={item} />
          </li>
        ))}
        {value.length > 20 && <li className="muted">… {value.length - 20} more</li>}
      </ol>
    );
  }
  if (typeof value === 'object') {
    return (
      <dl className="kv">
        {Object.entries(value as Record<string, unknown>)
          .filter(([key]) => key !== 'geometry' && key !== 'route')
          .map(([key, v]) => (
            <div key={key}>
              <dt>{key}</dt>
              <dd>
                <Value value={v} />
              </dd>
            </div>
          ))}
      </dl>
    );
  }
  return <span>{typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(4) : String(value)}</span>;
}

export function Inspector({ client, selection, onClose }: Props) {
  const [details, setDetails] = useState<{ key: string; value: unknown } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const selectionKey = selection ? `${selection.kind}:${selection.id}` : null;

  const load = useCallback(async () => {
    if (selection === null || selection.kind === 'trip') return;
    try {
      const value = await client.get(PATHS[selection.kind], { [`${selection.kind}_id`]: selection.id });
      setDetails({ key: `${selection.kind}:${selection.id}`, value });
      setError(null);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 404 ? `${selection.kind} ${selection.id} is no longer in the simulation` : String((e as Error).message));
    }
  }, [client, selection]);
  // Agent details are not pushed on the WebSocket (only positions are): refresh the open one.
  usePolling(load, 2000, selection !== null && selection.kind !== 'trip');

  if (selection === null) {
    return (
      <section className="panel inspector">
        <h2>Inspect</h2>
        <p className="muted">Click a driver, rider, route or zone on the map.</p>
      </section>
    );
  }
  const value = selection.kind === 'trip' ? selection.trip : details?.key === selectionKey ? details.value : null;
  return (
    <section className="panel inspector" data-testid="inspector">
      <h2>
        {selection.kind} {selection.id}
        <button className="close" onClick={onClose} aria-label="close">
          ×
        </button>
      </h2>
      {error && <p className="error">{error}</p>}
      {value === null ? <p className="muted">Loading…</p> : <Value value={value} />}
    </section>
  );
}
