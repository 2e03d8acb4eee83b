import * as z from 'zod';
import { describeError, Mm2FailoverError } from '../errors.ts';

/**
 * The part of the schema registry REST API that Karapace and Confluent Schema Registry share and the audit
 * reads: `GET /subjects` and `GET /subjects/{subject}/versions/latest`, in the registry's JSON media type.
 */
export interface SchemaRegistry {
  readonly url: string;
  subjects(): Promise<string[]>;
  /** The subject's latest version, or `undefined` when the registry does not know the subject (404, 40401). */
  latest(subject: string): Promise<SubjectVersion | undefined>;
}

const subjectVersionSchema = z.object({
  subject: z.string(),
  version: z.int(),
  id: z.int(),
  schema: z.string(),
  // Absent for AVRO, the default type.
  schemaType: z.string().optional(),
});
export type SubjectVersion = z.output<typeof subjectVersionSchema>;

const subjectsSchema = z.array(z.string());

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export function httpSchemaRegistry(
  url: string,
  options: { fetch?: Fetch; timeoutMs?: number } = {},
): SchemaRegistry {
  const base = url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((u: string, init: RequestInit) => fetch(u, init));
  const get = async (path: string): Promise<{ status: number; body: unknown }> => {
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method: 'GET',
        headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json' },
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (e: unknown) {
      throw new Mm2FailoverError(`schema registry ${base}: GET ${path} failed: ${describeError(e)}`, {
        cause: e,
        retriable: true,
      });
    }
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: kept as text for the error message.
    }
    return { status: response.status, body };
  };
  const fail = (path: string, status: number, body: unknown): never => {
    const message =
      typeof body === 'object' && body !== null && 'message' in body ? String(body.message) : String(body);
    throw new Mm2FailoverError(
      `schema registry ${base}: GET ${path}: expected 200, found ${status} (${message.slice(0, 200)})`,
      { retriable: status >= 500 },
    );
  };
  return {
    url: base,
    async subjects() {
      const { status, body } = await get('/subjects');
      if (status !== 200) return fail('/subjects', status, body);
      const parsed = subjectsSchema.safeParse(body);
      if (!parsed.success) {
        throw new Mm2FailoverError(
          `schema registry ${base}: GET /subjects: expected a list of subject names`,
        );
      }
      return parsed.data;
    },
    async latest(subject) {
      const path = `/subjects/${encodeURIComponent(subject)}/versions/latest`;
      const { status, body } = await get(path);
      if (status === 404) return undefined;
      if (status !== 200) return fail(path, status, body);
      const parsed = subjectVersionSchema.safeParse(body);
      if (!parsed.success) {
        throw new Mm2FailoverError(
          `schema registry ${base}: GET ${path}: expected { subject, version, id, schema }`,
        );
      }
      return parsed.data;
    },
  };
}
