import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ValidationError } from '#shared/errors.ts';
import { parseAwsFaults } from './aws-fault.ts';
import type { HarnessControl } from './harness-control.ts';
import { CLUSTER_NAMES, type ClusterName } from './info.ts';

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

type Handler = (body: string) => Promise<unknown>;

/** Bodies are fault specs of a few hundred bytes; anything much larger is a mistake. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Fault control over HTTP on 127.0.0.1, for test files that run in vitest workers while the harness lives
 * in the main process. Routes (all answer JSON; errors are `{ error }` with status 4xx/5xx):
 *
 *   GET  /info
 *   POST /clusters/<primary|secondary>/<kill|hang|resume|restart>              every broker of the cluster
 *   POST /clusters/<primary|secondary>/brokers/<index>/<kill|hang|resume|restart>   one broker
 *   POST /mm2/<stop|start|pause|resume>
 *   POST /reverse-worker/<start|stop>
 *   POST /moto/reset
 *   POST /aws-faults                  body: one fault or a list (aws-fault.ts); replaces those in force
 *   POST /aws-faults/clear
 *   GET  /aws-faults/counts
 *   POST /aws-faults/counts/reset
 *
 * Requests run one at a time: two faults racing on one process would leave it in an unknown state.
 * A fault that does not parse is answered 400 with every problem named.
 */
export async function startControlServer(control: HarnessControl): Promise<ControlServer> {
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(work, work);
    queue = result.catch(() => undefined);
    return result;
  };

  const brokerActions: Record<string, (c: ClusterName, broker?: number) => Promise<void>> = {
    kill: (c, b) => control.kill(c, b),
    hang: (c, b) => control.hang(c, b),
    resume: (c, b) => control.resume(c, b),
    restart: (c, b) => control.restart(c, b),
  };

  const route = (method: string, url: string): Handler | undefined => {
    const parts = url.split('/').slice(1);
    const [area, first, second, third, fourth] = parts;
    if (method === 'GET') {
      if (url === '/info') return async () => control.info;
      if (url === '/aws-faults/counts') return () => control.awsFaults.counts();
      return undefined;
    }
    if (method !== 'POST') return undefined;
    if (area === 'clusters' && isClusterName(first)) {
      if (parts.length === 3) {
        const action = second === undefined ? undefined : brokerActions[second];
        return action && (async () => action(first));
      }
      if (parts.length === 5 && second === 'brokers' && third !== undefined && /^\d+$/.test(third)) {
        const action = fourth === undefined ? undefined : brokerActions[fourth];
        return action && (async () => action(first, Number(third)));
      }
      return undefined;
    }
    const actions: Record<string, Handler> = {
      '/mm2/stop': () => control.stopMirror(),
      '/mm2/start': () => control.startMirror(),
      '/mm2/pause': () => control.pauseMirror(),
      '/mm2/resume': () => control.resumeMirror(),
      '/reverse-worker/start': () => control.startReverseWorker(),
      '/reverse-worker/stop': () => control.stopReverseWorker(),
      '/moto/reset': () => control.resetMoto(),
      '/aws-faults': (body) => control.awsFaults.set(parseAwsFaults(parseJsonBody(body))),
      '/aws-faults/clear': () => control.awsFaults.clear(),
      '/aws-faults/counts/reset': () => control.awsFaults.resetCounts(),
    };
    return actions[url];
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const handler = route(request.method ?? 'GET', (request.url ?? '/').split('?')[0] ?? '/');
    const send = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body ?? {}));
    };
    if (handler === undefined) {
      request.resume();
      send(404, { error: `no route ${request.method} ${request.url}` });
      return;
    }
    readText(request)
      .then((body) => serialized(() => handler(body)))
      .then(
        (result) => send(200, result),
        (e: unknown) =>
          send(e instanceof ValidationError ? 400 : 500, {
            error: e instanceof Error ? e.message : String(e),
          }),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string')
    throw new Error('expected the control server on a TCP port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function isClusterName(value: string | undefined): value is ClusterName {
  return CLUSTER_NAMES.includes(value as ClusterName);
}

function parseJsonBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new ValidationError('control request body', [
      { path: '', message: `expected JSON, got ${body === '' ? 'an empty body' : `'${body.slice(0, 80)}'`}` },
    ]);
  }
}

function readText(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`expected a request body under ${MAX_BODY_BYTES} bytes, got more`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.once('error', reject);
  });
}
