import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Just enough of the Lambda Invoke API for the probe's asynchronous invocations of the failover function: moto
 * cannot run the functions, so the drill answers `POST /2015-03-31/functions/<name>/invocations` itself, with
 * 202 at once as Lambda does for `Event`, and hands the payload to the drill, which runs the in-process handler.
 * The probe reaches it through its real Lambda client (`AWS_ENDPOINT_URL_LAMBDA`).
 */
export interface LambdaEndpoint {
  url: string;
  close(): Promise<void>;
}

export async function startLambdaEndpoint(
  onEvent: (functionName: string, payload: unknown) => void,
): Promise<LambdaEndpoint> {
  const server: Server = createServer((req, res) => {
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || !match || req.headers['x-amz-invocation-type'] !== 'Event') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'the drill answers asynchronous invocations only' }));
        return;
      }
      let payload: unknown;
      try {
        payload = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'expected a JSON payload' }));
        return;
      }
      res.writeHead(202);
      res.end();
      onEvent(decodeURIComponent(match[1] ?? ''), payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
