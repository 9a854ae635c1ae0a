// Keeps one WebSocket to `/ws` open (reconnecting with backoff) and folds its frames into LiveState.

import { useEffect, useReducer } from 'react';

import { webSocketUrl } from '../api/auth';
import { ProtocolError, parseServerMessage } from '../api/protocol';
import { type LiveAction, type LiveState, initialLiveState, liveReducer } from '../state/live';

/** Close code the API uses for a missing or unknown key (mirrors HTTP 401). */
export const CLOSE_UNAUTHORIZED = 4401;

export function reconnectDelayMs(attempt: number): number {
  return Math.min(10_000, 500 * 2 ** Math.max(0, attempt));
}

export function useLiveSocket(apiKey: string | null): [LiveState, (action: LiveAction) => void] {
  const [state, dispatch] = useReducer(liveReducer, initialLiveState);

  useEffect(() => {
    if (apiKey === null) return undefined;
    let socket: WebSocket | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let stopped = false;

    const connect = () => {
      dispatch({ kind: 'connection', connection: 'connecting' });
      socket = new WebSocket(webSocketUrl(window.location, apiKey));
      socket.onopen = () => {
        attempt = 0;
        dispatch({ kind: 'connection', connection: 'open' });
      };
      socket.onmessage = (event: MessageEvent<string>) => {
        try {
          dispatch({ kind: 'message', message: parseServerMessage(event.data), receivedAt: Date.now() });
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          dispatch({ kind: 'protocol-error', error: error.message });
          // A frame we could not apply leaves us out of step: ask for a fresh snapshot.
          socket?.send('{"type":"resync"}');
        }
      };
      socket.onclose = (event) => {
        if (stopped) return;
        if (event.code === CLOSE_UNAUTHORIZED) {
          dispatch({ kind: 'connection', connection: 'unauthorized' });
          return;
        }
        dispatch({ kind: 'connection', connection: 'closed' });
        timer = setTimeout(connect, reconnectDelayMs(attempt));
        attempt += 1;
      };
    };

    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      socket?.close();
    };
  }, [apiKey]);

  return [state, dispatch];
}
