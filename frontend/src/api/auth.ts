// Where the UI gets its API key: `?key=` in the URL wins (and is remembered), then localStorage.

export const STORAGE_KEY = 'rideshare.apiKey';

export interface KeyStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function resolveApiKey(search: string, store: KeyStore): string | null {
  const fromUrl = new URLSearchParams(search).get('key')?.trim();
  if (fromUrl) {
    store.setItem(STORAGE_KEY, fromUrl);
    return fromUrl;
  }
  const stored = store.getItem(STORAGE_KEY)?.trim();
  return stored ? stored : null;
}

export function rememberApiKey(key: string | null, store: KeyStore): void {
  if (key) store.setItem(STORAGE_KEY, key);
  else store.removeItem(STORAGE_KEY);
}

/** The WebSocket URL for a page served at `location` (same host; ws/wss follows http/https). */
export function webSocketUrl(location: Pick<Location, 'protocol' | 'host'>, key: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws?key=${encodeURIComponent(key)}`;
}
