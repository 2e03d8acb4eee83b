import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * A local stand-in for the schema registry REST API that Karapace and Confluent Schema Registry share, following
 * the published reference (docs.confluent.io, "Schema Registry API Reference"; Karapace implements the same):
 *
 * - `GET /subjects` → `["orders-value", ...]`
 * - `GET /subjects/{subject}/versions` → `[1, 2]`
 * - `GET /subjects/{subject}/versions/{version|latest}` → `{ subject, version, id, schema, schemaType? }`
 *   (`schemaType` is left out for AVRO, as the registries do)
 * - `POST /subjects/{subject}/versions` with `{ schema, schemaType? }` → `{ id }` (the same schema text under
 *   any subject gets the same id; a schema already latest under the subject is not added again)
 * - errors as `{ error_code, message }`: 40401 subject not found, 40402 version not found, 404 route unknown,
 *   42201 invalid schema, 405 method; responses in `application/vnd.schemaregistry.v1+json`.
 *
 * It records every request so tests can count calls; `failWith` makes every request answer that status.
 */
interface Version {
  version: number;
  id: number;
  schema: string;
  schemaType: string;
}

export interface FakeSchemaRegistry {
  url: string;
  /** Register `schema` under `subject` as the registry would (same schema text, same id). */
  register(subject: string, schema: string, schemaType?: string): { id: number; version: number };
  requests: Array<{ method: string; path: string; status: number }>;
  /** When set, every request answers this HTTP status with an error body. */
  failWith: number | undefined;
  close(): Promise<void>;
}

const MEDIA_TYPE = 'application/vnd.schemaregistry.v1+json';

export async function startFakeSchemaRegistry(
  options: { firstId?: number } = {},
): Promise<FakeSchemaRegistry> {
  const subjects = new Map<string, Version[]>();
  const ids = new Map<string, number>();
  let nextId = options.firstId ?? 1;
  const requests: FakeSchemaRegistry['requests'] = [];

  const register = (subject: string, schema: string, schemaType = 'AVRO') => {
    const key = `${schemaType}\u0000${schema}`;
    let id = ids.get(key);
    if (id === undefined) {
      id = nextId++;
      ids.set(key, id);
    }
    const versions = subjects.get(subject) ?? [];
    const last = versions.at(-1);
    if (last && last.id === id) return { id, version: last.version };
    const version = (last?.version ?? 0) + 1;
    versions.push({ version, id, schema, schemaType });
    subjects.set(subject, versions);
    return { id, version };
  };

  const fake: FakeSchemaRegistry = {
    url: '',
    register,
    requests,
    failWith: undefined,
    close: async () => {},
  };

  const error = (status: number, code: number, message: string) => ({
    status,
    body: { error_code: code, message },
  });

  const handle = async (req: IncomingMessage): Promise<{ status: number; body: unknown }> => {
    if (fake.failWith !== undefined)
      return error(fake.failWith, fake.failWith * 100, 'Internal Server Error');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const parts = path
      .split('/')
      .filter((p) => p.length > 0)
      .map(decodeURIComponent);
    if (parts[0] !== 'subjects') return error(404, 404, 'HTTP 404 Not Found');
    if (parts.length === 1) {
      return req.method === 'GET'
        ? { status: 200, body: [...subjects.keys()] }
        : error(405, 405, 'Method Not Allowed');
    }
    const subject = parts[1] as string;
    if (parts[2] !== 'versions' || parts.length > 4) return error(404, 404, 'HTTP 404 Not Found');
    if (req.method === 'POST' && parts.length === 3) {
      let body: { schema?: unknown; schemaType?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        return error(422, 42201, 'Invalid schema');
      }
      if (typeof body.schema !== 'string') return error(422, 42201, 'Invalid schema');
      const schemaType = typeof body.schemaType === 'string' ? body.schemaType : 'AVRO';
      return { status: 200, body: { id: register(subject, body.schema, schemaType).id } };
    }
    if (req.method !== 'GET') return error(405, 405, 'Method Not Allowed');
    const versions = subjects.get(subject);
    if (versions === undefined) return error(404, 40401, `Subject '${subject}' not found.`);
    if (parts.length === 3) return { status: 200, body: versions.map((v) => v.version) };
    const wanted = parts[3];
    const v = wanted === 'latest' ? versions.at(-1) : versions.find((x) => String(x.version) === wanted);
    if (v === undefined) return error(404, 40402, `Version ${wanted} not found.`);
    return {
      status: 200,
      body: {
        subject,
        version: v.version,
        id: v.id,
        schema: v.schema,
        ...(v.schemaType === 'AVRO' ? {} : { schemaType: v.schemaType }),
      },
    };
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    handle(req).then(
      ({ status, body }) => {
        requests.push({
          method: req.method ?? '',
          path: new URL(req.url ?? '/', 'http://x').pathname,
          status,
        });
        res.writeHead(status, { 'content-type': MEDIA_TYPE });
        res.end(JSON.stringify(body));
      },
      () => {
        res.writeHead(500, { 'content-type': MEDIA_TYPE });
        res.end(JSON.stringify({ error_code: 50001, message: 'Error in the backend data store' }));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  fake.url = `http://127.0.0.1:${address.port}`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}
