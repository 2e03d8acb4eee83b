import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import * as z from 'zod';
import { identifyAwsCall } from './aws-call.ts';
import { awsErrorResponse } from './aws-error-response.ts';
import { type AwsCall, type AwsFault, AwsFaultSchedule, parseAwsFaults } from './aws-fault.ts';

export const awsCallCountsSchema = z.object({
  /** Calls received, by `<service>:<operation>` (`ssm:PutParameter`), SDK retries included. */
  seen: z.record(z.string(), z.int()),
  /** Of those, the calls a fault was applied to. */
  faulted: z.record(z.string(), z.int()),
  /** Calls held by a `hang` fault right now. */
  hanging: z.int(),
});
export type AwsCallCounts = z.infer<typeof awsCallCountsSchema>;

export interface AwsFaultProxyOptions {
  /** moto's endpoint, `http://127.0.0.1:<port>`. */
  upstream: string;
  /** Port on 127.0.0.1; any free one when omitted. */
  port?: number;
}

// Hop-by-hop headers describe one connection, not the message: the proxy's two legs each set their own.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

interface Exchange {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of moto that SDK v3 clients use as their endpoint, and that injects
 * the failures AWS has (latency, throttling, 5xx, hangs, resets) into the calls a test selects. Without a
 * fault in force every call goes through untouched.
 *
 * Requests are read whole before anything happens to them (SNS names its operation in the body). A hung
 * request is held until {@link clear} or the next {@link set}, which reset its connection: the caller sees
 * ECONNRESET (which the SDKs retry), and the call never reaches moto unless the fault said `applied`.
 *
 * @example
 * const proxy = await startAwsFaultProxy({ upstream: info.moto.endpoint });
 * proxy.set({ kind: 'throttle', service: 'ssm', operation: 'PutParameter', times: 1 });
 * const ssm = new SSMClient({ ...awsClientConfig(info), endpoint: proxy.endpoint });
 */
export class AwsFaultProxy {
  readonly endpoint: string;
  readonly upstream: URL;
  readonly #server: Server;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  readonly #schedule = new AwsFaultSchedule();
  readonly #hanging = new Set<ServerResponse>();
  #seen = new Map<string, number>();
  #faulted = new Map<string, number>();

  /** Use {@link startAwsFaultProxy}. */
  constructor(server: Server, port: number, upstream: URL) {
    this.#server = server;
    this.endpoint = `http://127.0.0.1:${port}`;
    this.upstream = upstream;
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      this.#handle(request, response).catch(() => {
        // The caller went away or moto failed mid-exchange: the connection goes too, as AWS's would.
        response.socket?.destroy();
      });
    });
  }

  /**
   * Puts these faults in force, replacing any before (and releasing the calls they held). Validated: a
   * fault that does not parse throws a ValidationError naming the field.
   */
  set(faults: AwsFault | readonly AwsFault[]): void {
    const parsed = parseAwsFaults(faults);
    this.#releaseHanging();
    this.#schedule.set(parsed);
  }

  /** No fault any more; hung calls are released by resetting their connections. Counts are kept. */
  clear(): void {
    this.#schedule.clear();
    this.#releaseHanging();
  }

  get faults(): readonly AwsFault[] {
    return this.#schedule.active;
  }

  counts(): AwsCallCounts {
    return {
      seen: Object.fromEntries(this.#seen),
      faulted: Object.fromEntries(this.#faulted),
      hanging: this.#hanging.size,
    };
  }

  resetCounts(): void {
    this.#seen = new Map();
    this.#faulted = new Map();
  }

  /** Releases hung calls, closes every connection and stops listening. */
  close(): Promise<void> {
    this.#schedule.clear();
    this.#releaseHanging();
    this.#agent.destroy();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let closed = false;
    response.once('close', () => {
      closed = true;
    });
    const body = await readBody(request);
    const call = identifyAwsCall(request.method ?? 'GET', request.url ?? '/', request.headers, body);
    const key = `${call.service}:${call.operation}`;
    this.#seen.set(key, (this.#seen.get(key) ?? 0) + 1);
    const fault = this.#schedule.pick(call);
    if (fault !== undefined) this.#faulted.set(key, (this.#faulted.get(key) ?? 0) + 1);

    switch (fault?.kind) {
      case undefined:
        return this.#answer(response, await this.#forward(request, body, call));
      case 'latency':
        await delayUnlessClosed(fault.ms, response);
        if (closed) return;
        return this.#answer(response, await this.#forward(request, body, call));
      case 'throttle':
        return this.#answer(response, asExchange(awsErrorResponse(call, 'throttle')));
      case 'server-error':
        return this.#answer(response, asExchange(awsErrorResponse(call, fault.status)));
      case 'hang':
        if (fault.applied) await this.#forward(request, body, call);
        if (closed) return;
        this.#hanging.add(response);
        response.once('close', () => this.#hanging.delete(response));
        return;
      case 'reset':
        if (fault.applied) await this.#forward(request, body, call);
        request.socket.resetAndDestroy();
        return;
    }
  }

  /** One exchange with moto, read whole; moto unreachable becomes a 502 naming it. */
  #forward(request: IncomingMessage, body: Buffer, call: AwsCall): Promise<Exchange> {
    const headers: OutgoingHttpHeaders = { 'content-length': body.length };
    for (const [name, value] of Object.entries(request.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    }
    return new Promise<Exchange>((resolve) => {
      const upstream = httpRequest(
        {
          hostname: this.upstream.hostname,
          port: this.upstream.port,
          method: request.method,
          path: request.url,
          headers,
          agent: this.#agent,
        },
        (answer) => {
          readBody(answer).then(
            (answerBody) =>
              resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: answerBody }),
            (e: unknown) => resolve(badGateway(this.upstream, call, e)),
          );
        },
      );
      upstream.once('error', (e) => resolve(badGateway(this.upstream, call, e)));
      upstream.end(body);
    });
  }

  #answer(response: ServerResponse, exchange: Exchange): void {
    if (response.destroyed) return;
    const headers: OutgoingHttpHeaders = { 'content-length': exchange.body.length };
    for (const [name, value] of Object.entries(exchange.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    }
    response.writeHead(exchange.status, headers);
    response.end(exchange.body);
  }

  #releaseHanging(): void {
    for (const response of this.#hanging) {
      if (response.socket === null) response.destroy();
      else response.socket.resetAndDestroy();
    }
    this.#hanging.clear();
  }
}

/** Starts the proxy on 127.0.0.1 and resolves once it listens. */
export async function startAwsFaultProxy(options: AwsFaultProxyOptions): Promise<AwsFaultProxy> {
  const upstream = new URL(options.upstream);
  if (upstream.protocol !== 'http:') {
    throw new Error(`AWS fault proxy: expected an http:// upstream (moto), got '${options.upstream}'`);
  }
  const server = createServer();
  // Longer than the SDK's idle sockets live, so the proxy does not close one just as a client reuses it.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') {
    server.close();
    throw new Error('AWS fault proxy: expected to listen on a TCP port');
  }
  return new AwsFaultProxy(server, address.port, upstream);
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => {
      ended = true;
      resolve(Buffer.concat(chunks));
    });
    stream.once('error', reject);
    stream.once('close', () => {
      if (!ended) reject(new Error('expected a whole message body, the connection closed first'));
    });
  });
}

function delayUnlessClosed(ms: number, response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    response.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function asExchange(error: ReturnType<typeof awsErrorResponse>): Exchange {
  return { status: error.status, headers: error.headers, body: Buffer.from(error.body) };
}

function badGateway(upstream: URL, call: AwsCall, cause: unknown): Exchange {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return {
    status: 502,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'BadGateway' },
    body: Buffer.from(
      JSON.stringify({
        __type: 'BadGateway',
        message: `AWS fault proxy: expected moto at ${upstream.origin} to answer ${call.service}:${call.operation}, got ${reason}`,
      }),
    ),
  };
}
