import { MirrorControlError } from '../errors.ts';

/** What the REST controllers need from HTTP: `fetch`'s shape, so tests can count or fail calls. */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export interface HttpJsonOptions {
  fetch?: Fetch;
  /** Per-request deadline. */
  timeoutMs?: number;
  /** Extra headers (Aiven's `authorization`). Never logged or echoed in errors. */
  headers?: Record<string, string>;
}

export interface HttpJsonResult {
  status: number;
  body: unknown;
}

/**
 * One JSON request. Statuses in `accept` come back as results; any other non-2xx becomes a
 * {@link MirrorControlError} with the status and the service's own message (never the request's headers).
 */
export async function httpJson(
  method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  body: unknown,
  options: HttpJsonOptions & { accept?: readonly number[]; what: string },
): Promise<HttpJsonResult> {
  const doFetch = options.fetch ?? ((u: string, init: RequestInit) => fetch(u, init));
  let response: Response;
  try {
    response = await doFetch(url, {
      method,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
  } catch (e: unknown) {
    throw new MirrorControlError(
      `${options.what}: ${method} ${stripQuery(url)} failed: ${(e as Error).name}`,
      {
        cause: e,
        retriable: true,
      },
    );
  }
  const text = await response.text();
  let parsed: unknown = null;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (response.ok || options.accept?.includes(response.status))
    return { status: response.status, body: parsed };
  throw new MirrorControlError(
    `${options.what}: ${method} ${stripQuery(url)} answered ${response.status}: ${messageOf(parsed)}`,
    { status: response.status },
  );
}

function messageOf(body: unknown): string {
  if (body !== null && typeof body === 'object' && 'message' in body && typeof body.message === 'string') {
    return body.message.slice(0, 500);
  }
  return typeof body === 'string' ? body.slice(0, 500) : 'no message';
}

function stripQuery(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}
