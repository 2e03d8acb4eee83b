/**
 * The one place every AWS SDK client the product creates gets its limits: how long a connection may take to open,
 * how long one attempt of a call may take, and how many attempts a call gets. The SDK's defaults have no timeout
 * at all: a call that an endpoint accepts and never answers (a hung SSM or Secrets Manager call) would hold a
 * failover until Lambda kills the invocation. With these limits it fails, naming the resource, within
 * `maxAttempts × requestTimeoutMs` plus the SDK's back-off, and the caller decides (failover's journal resumes
 * the switch on the next invocation; a client's watcher reads again on its next poll).
 *
 * The functions and the CLI take the limits from the deployment config's `aws` section (schema.ts, whose defaults
 * are these); applications pass them to `createAwsStores`.
 */

/** The limits of one AWS call. */
export interface AwsCallLimits {
  /** Opening the connection (TCP and TLS), per attempt. */
  connectTimeoutMs: number;
  /** One attempt, from sending the request to the whole answer, the connection included. */
  requestTimeoutMs: number;
  /** Attempts per call, the first included: the SDK retries throttling, 5xx, resets and timeouts with back-off. */
  maxAttempts: number;
}

/**
 * - `connectTimeoutMs` 3 s: opening a connection to a regional endpoint or a VPC interface endpoint takes
 *   milliseconds; Linux resends a lost SYN after 1 s, so 3 s survives one lost SYN, while a silently dropped one
 *   (a black-holed endpoint, a security group that drops) would otherwise wait for the kernel's two minutes.
 * - `requestTimeoutMs` 5 s: the product's calls (one parameter, one secret, one item, one message) are answered in
 *   tens of milliseconds, so only a call that is not going to be answered reaches 5 s, and a slow but working
 *   service (a second or two) is still waited for.
 * - `maxAttempts` 3: the SDK's own default. A call that hangs on every attempt fails after about 16 s (3 × 5 s
 *   plus under a second of back-off), well inside the failover's five minutes; throttling is retried with the
 *   SDK's longer throttling back-off (up to 1 s, then 2 s).
 */
export const defaultAwsCallLimits: Readonly<AwsCallLimits> = {
  connectTimeoutMs: 3_000,
  requestTimeoutMs: 5_000,
  maxAttempts: 3,
};

/** Constructor options of any SDK v3 client (`new SSMClient({ region, ...awsClientOptions(limits) })`). */
interface BoundedClientOptions {
  maxAttempts: number;
  /**
   * The SDK builds its Node HTTP handler from this plain object, so the product needs no import of
   * `@smithy/node-http-handler`. `throwOnRequestTimeout` is what makes `requestTimeout` end a hung call: without
   * it the handler (4.14) only logs a warning at the timeout and keeps waiting.
   */
  requestHandler: { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: true };
}

/** The client options for these limits; a limit not given is its default ({@link defaultAwsCallLimits}). */
export function awsClientOptions(limits: Partial<AwsCallLimits> = {}): BoundedClientOptions {
  const l = { ...defaultAwsCallLimits, ...definedOnly(limits) };
  return {
    maxAttempts: l.maxAttempts,
    requestHandler: {
      connectionTimeout: l.connectTimeoutMs,
      requestTimeout: l.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  };
}

/** `{ a: undefined }` must not erase a default when spread over it. */
function definedOnly(limits: Partial<AwsCallLimits>): Partial<AwsCallLimits> {
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined));
}
