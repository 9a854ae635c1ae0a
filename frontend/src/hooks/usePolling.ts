// Calls `load` now and every `intervalMs` while mounted; for data the WebSocket does not push
// (the Faust topology graph lives in the workers, not in the simulation process).

import { useEffect, useRef } from 'react';

export function usePolling(load: () => Promise<void>, intervalMs: number, enabled = true): void {
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    if (!enabled) return undefined;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        await latest.current();
      } catch (error) {
        // Callers show their own errors; a failed poll must not stop the next one.
        console.warn('poll failed', error);
      } finally {
        if (!cancelled) timer = setTimeout(tick, intervalMs);
      }
    };
    void tick();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [intervalMs, enabled]);
}
