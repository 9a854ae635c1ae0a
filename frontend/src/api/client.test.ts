import { describe, expect, it } from 'vitest';

import { ApiClient, ApiError, fillPath } from './client';

// A recording fetch stands in for the network here: these tests are about the client's own request
// building and error mapping. The real API is exercised by the e2e test.
function recordingFetch(status: number, body: unknown) {
  const calls: { url: string; init: RequestInit }[] = [];
  const impl = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(body === undefined ? '' : JSON.stringify(body), { status });
  }) as unknown as typeof fetch;
  return { calls, impl };
}

describe('fillPath', () => {
  it('fills and escapes path parameters and names a missing one', () => {
    expect(fillPath('/api/drivers/{driver_id}', { driver_id: 'D 1/2' })).toBe('/api/drivers/D%201%2F2');
    expect(() => fillPath('/api/zones/{zone_id}', {})).toThrow('missing path parameter zone_id');
  });
});

describe('ApiClient', () => {
  it('sends the key header and a JSON body', async () => {
    const { calls, impl } = recordingFetch(200, { state: 'running' });
    const result = await new ApiClient('k1', 'http://api', impl).post('/api/sim/drivers', { count: 3 });
    expect(result).toEqual({ state: 'running' });
    expect(calls[0]!.url).toBe('http://api/api/sim/drivers');
    expect(calls[0]!.init.method).toBe('POST');
    expect((calls[0]!.init.headers as Record<string, string>)['X-API-Key']).toBe('k1');
    expect(calls[0]!.init.body).toBe('{"count":3}');
  });

  it('raises ApiError with the server detail', async () => {
    const { impl } = recordingFetch(403, { detail: 'this key may only read' });
    await expect(new ApiClient('viewer', '', impl).post('/api/sim/start')).rejects.toMatchObject({ status: 403, message: 'this key may only read' });
  });

  it('joins FastAPI validation errors into one readable message', async () => {
    const { impl } = recordingFetch(422, { detail: [{ loc: ['body', 'count'], msg: 'Input should be less than or equal to 1000' }] });
    const error = await new ApiClient('k', '', impl).post('/api/sim/riders', { count: 5000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe('count: Input should be less than or equal to 1000');
  });

  it('says which call failed when the body has no detail', async () => {
    const { impl } = recordingFetch(502, undefined);
    await expect(new ApiClient('k', '', impl).get('/api/topology')).rejects.toThrow('GET /api/topology failed with HTTP 502');
  });
});
