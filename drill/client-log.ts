import { appendFileSync } from 'node:fs';
import { type logCreator, logLevel } from 'kafkajs';
import type { ClientLogger } from '#shared/client/client-logger.ts';

/**
 * The application's client-library log (switches, drains, rewinds) as JSON lines in a file of its own, to read
 * beside the functions' log when a figure (a duplicate count, a follow time) needs explaining.
 */
export function clientLogFile(file: string): ClientLogger {
  const append =
    (level: string) =>
    (message: string, ...attributes: Array<Record<string, unknown>>) =>
      appendFileSync(
        file,
        `${JSON.stringify({ at: new Date().toISOString(), level, message, ...Object.assign({}, ...attributes) })}\n`,
      );
  return { info: append('INFO'), warn: append('WARN'), error: append('ERROR') };
}

/**
 * The application's kafkajs clients log into the same file: the connection errors they report while the drill
 * kills a cluster are expected, and on the console they buried the drill's own lines.
 */
export function clientKafkaLog(file: string): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...rest } = log;
      appendFileSync(
        file,
        `${JSON.stringify({ at: new Date().toISOString(), level: logLevel[level], source: `kafkajs ${namespace}`, message, ...rest })}\n`,
      );
    };
}
