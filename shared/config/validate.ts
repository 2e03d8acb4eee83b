import type * as z from 'zod';
import { ValidationError, type ValidationProblem } from '../errors.ts';

/** Turn zod issues into problems listed by dotted path (`clusters.primary.auth`). */
export function problemsOf(error: z.ZodError): ValidationProblem[] {
  return error.issues.map((issue) => ({
    path: issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
      .join('.')
      .replace(/\.\[/g, '['),
    message: issue.message,
  }));
}

/**
 * What a parse needs to know beyond the input. `once`: the value is parsed once per process (the deployment
 * config at cold start), so zod should not compile a fast path for the schema: compiling it (`new Function`
 * for every object in the schema) costs more than that one parse, about 10 ms of a function's cold start.
 * The result is the same either way.
 */
export interface ParseOptions {
  once?: boolean;
}

/** Parse `input` with `schema` or throw a ValidationError naming every problem; never a partial result. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  subject: string,
  options: ParseOptions = {},
): z.output<S> {
  const result = schema.safeParse(input, options.once ? { jitless: true } : undefined);
  if (!result.success) throw new ValidationError(subject, problemsOf(result.error));
  return result.data;
}

/** Parse a JSON text, reporting bad JSON as a ValidationError too (someone edited a parameter by hand). */
export function parseJsonOrThrow<S extends z.ZodType>(
  schema: S,
  text: string,
  subject: string,
  options: ParseOptions = {},
): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e: unknown) {
    throw new ValidationError(subject, [
      { path: '', message: `expected JSON, got text that does not parse (${(e as Error).message})` },
    ]);
  }
  return parseOrThrow(schema, value, subject, options);
}
