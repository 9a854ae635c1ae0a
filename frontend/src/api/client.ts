// REST client of the control API: every call sends `X-API-Key`; failures become ApiError with the
// server's `detail`, so the UI can say what went wrong (401 bad key, 403 viewer key, 422 invalid input).
// Paths, request bodies and responses are typed from the API's own OpenAPI spec (schema.d.ts, generated
// by `npm run gen:api`): a renamed route or changed body fails the type check, not the user.

import type { paths } from './schema';

type Method = 'get' | 'post' | 'put' | 'delete';

/** Paths of the spec that accept `M`. */
export type ApiPath<M extends Method> = { [P in keyof paths]: paths[P][M] extends undefined ? never : P }[keyof paths];

type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

/** The body arguments of an operation: [body] when required, [body?] when optional, [] when it takes none. */
export type BodyArgs<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { requestBody: { content: { 'application/json': infer B } } }
    ? [body: B]
    : Operation<P, M> extends { requestBody?: { content: { 'application/json': infer B } } }
      ? unknown extends B
        ? []
        : [body?: B]
      : [];

type JsonOf<R> = R extends { content: { 'application/json': infer J } } ? J : never;

/** JSON body of a successful (2xx) response. */
export type ResponseBody<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { responses: infer R } ? JsonOf<R[Extract<keyof R, 200 | 201 | 202>]> : never;

/** Fills `{name}` placeholders of a path template, URL-escaping the values. */
export function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`missing path parameter ${name} for ${template}`);
    return encodeURIComponent(value);
  });
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function detailOf(body: unknown, fallback: string): string {
  if (typeof body !== 'object' || body === null) return fallback;
  const detail = (body as { detail?: unknown }).detail;
  if (typeof detail === 'string') return detail;
  // FastAPI validation errors: [{loc: [...], msg: "..."}]
  if (Array.isArray(detail)) {
    return detail
      .map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).slice(1).join('.')}: ${d.msg ?? ''}`.replace(/^: /, ''))
      .join('; ');
  }
  return fallback;
}

export class ApiClient {
  constructor(
    private readonly key: string,
    private readonly baseUrl = '',
    private readonly fetchImpl: typeof fetch = (...args) => fetch(...args),
  ) {}

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { 'X-API-Key': this.key, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) throw new ApiError(response.status, detailOf(parsed, `${method} ${path} failed with HTTP ${response.status}`));
    return parsed as T;
  }

  get<P extends ApiPath<'get'>>(path: P, params: Record<string, string> = {}): Promise<ResponseBody<P, 'get'>> {
    return this.request('GET', fillPath(path, params));
  }

  post<P extends ApiPath<'post'>>(path: P, ...body: BodyArgs<P, 'post'>): Promise<ResponseBody<P, 'post'>> {
    return this.request('POST', path, body[0]);
  }

  put<P extends ApiPath<'put'>>(path: P, ...body: BodyArgs<P, 'put'>): Promise<ResponseBody<P, 'put'>> {
    return this.request('PUT', path, body[0]);
  }
}
