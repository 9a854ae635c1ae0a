import { describe, expect, it } from 'vitest';

import { type KeyStore, STORAGE_KEY, rememberApiKey, resolveApiKey, webSocketUrl } from './auth';

function memoryStore(initial: Record<string, string> = {}): KeyStore & { data: Record<string, string> } {
  const data = { ...initial };
  return {
    data,
    getItem: (k) => data[k] ?? null,
    setItem: (k, v) => {
      data[k] = v;
    },
    removeItem: (k) => {
      delete data[k];
    },
  };
}

describe('resolveApiKey', () => {
  it('prefers ?key= and remembers it', () => {
    const store = memoryStore({ [STORAGE_KEY]: 'old' });
    expect(resolveApiKey('?key=dev-admin-key', store)).toBe('dev-admin-key');
    expect(store.data[STORAGE_KEY]).toBe('dev-admin-key');
  });

  it('falls back to the remembered key, and to none', () => {
    expect(resolveApiKey('', memoryStore({ [STORAGE_KEY]: 'kept' }))).toBe('kept');
    expect(resolveApiKey('?key=', memoryStore())).toBeNull();
  });

  it('forgets a key on logout', () => {
    const store = memoryStore({ [STORAGE_KEY]: 'kept' });
    rememberApiKey(null, store);
    expect(store.data).toEqual({});
  });
});

describe('webSocketUrl', () => {
  it('follows the page scheme and escapes the key', () => {
    expect(webSocketUrl({ protocol: 'http:', host: '127.0.0.1:8000' }, 'a b&c')).toBe('ws://127.0.0.1:8000/ws?key=a%20b%26c');
    expect(webSocketUrl({ protocol: 'https:', host: 'example.org' }, 'k')).toBe('wss://example.org/ws?key=k');
  });
});
