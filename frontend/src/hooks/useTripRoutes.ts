// Fills in routes the WebSocket's trip changes did not carry, from GET /api/trips, only while some trip
// on a leg lacks its route (so a feed that sends routes never triggers a request).

import { useCallback } from 'react';

import type { ApiClient } from '../api/client';
import { toTrip } from '../api/protocol';
import { type LiveAction, tripsMissingRoutes } from '../state/live';
import type { LiveState } from '../state/live';
import { usePolling } from './usePolling';

export function useTripRoutes(client: ApiClient, trips: LiveState['trips'], dispatch: (action: LiveAction) => void): void {
  const missing = tripsMissingRoutes(trips) > 0;
  const load = useCallback(async () => {
    const trips = await client.get('/api/trips');
    dispatch({ kind: 'trip-routes', trips: trips.map(toTrip) });
  }, [client, dispatch]);
  usePolling(load, 3000, missing);
}
