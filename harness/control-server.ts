import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { HarnessControl } from './harness-control.ts';
import { CLUSTER_NAMES, type ClusterName } from './info.ts';

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Fault control over HTTP on 127.0.0.1, for test files that run in vitest workers while the harness lives
 * in the main process. Routes (all answer JSON; errors are `{ error }` with status 4xx/5xx):
 *
 *   GET  /info
 *   POST /clusters/<primary|secondary>/<kill|hang|resume|restart>
 *   POST /mm2/<stop|start|pause|resume>
 *   POST /reverse-worker/<start|stop>
 *   POST /moto/reset
 *
 * Requests run one at a time: two faults racing on one process would leave it in an unknown state.
 */
export async function startControlServer(control: HarnessControl): Promise<ControlServer> {
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(work, work);
    queue = result.catch(() => undefined);
    return result;
  };

  const route = (method: string, url: string): (() => Promise<unknown>) | undefined => {
    if (method === 'GET' && url === '/info') return async () => control.info;
    if (method !== 'POST') return undefined;
    const [, area, first, second] = url.split('/');
    if (area === 'clusters' && isClusterName(first)) {
      const actions: Record<string, (c: ClusterName) => Promise<void>> = {
        kill: (c) => control.kill(c),
        hang: (c) => control.hang(c),
        resume: (c) => control.resume(c),
        restart: (c) => control.restart(c),
      };
      const action = second === undefined ? undefined : actions[second];
      return action && (() => action(first));
    }
    if (second !== undefined) return undefined;
    const actions: Record<string, () => Promise<unknown>> = {
      'mm2/stop': () => control.stopMirror(),
      'mm2/start': () => control.startMirror(),
      'mm2/pause': () => control.pauseMirror(),
      'mm2/resume': () => control.resumeMirror(),
      'reverse-worker/start': () => control.startReverseWorker(),
      'reverse-worker/stop': () => control.stopReverseWorker(),
      'moto/reset': () => control.resetMoto(),
    };
    return actions[`${area}/${first}`];
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const handler = route(request.method ?? 'GET', (request.url ?? '/').split('?')[0] ?? '/');
    request.resume();
    const send = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body ?? {}));
    };
    if (handler === undefined) {
      send(404, { error: `no route ${request.method} ${request.url}` });
      return;
    }
    serialized(handler).then(
      (result) => send(200, result),
      (e: unknown) => send(500, { error: e instanceof Error ? e.message : String(e) }),
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
