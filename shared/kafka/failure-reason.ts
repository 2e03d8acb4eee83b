import { KafkaOperationError } from '../errors.ts';

/**
 * Machine-readable reasons a Kafka cluster is judged less than healthy. They appear in the probe result, in
 * logs and in the failover preflight, so they are a contract: add, never rename.
 */
export const failureReasons = [
  /** TCP connection refused: nothing listens (process dead, wrong port). */
  'connect-refused',
  /** No answer in time: a hung broker (TCP accepted, never answered), a black-holed network, a slow cluster. */
  'timeout',
  /** The connection was reset or closed by the broker mid-conversation. */
  'connection-closed',
  /** Host or network unreachable. */
  'unreachable',
  /** The bootstrap host name does not resolve. */
  'unresolvable',
  /** SASL or TLS authentication failed, or the principal is not authorised. */
  'auth-failed',
  /** Metadata answered, but no broker is listed. */
  'no-brokers',
  /** Fewer brokers alive than `expectedBrokers`. */
  'brokers-missing',
  /** At least one watched partition has no leader. */
  'no-leader',
  /** At least one watched partition has fewer in-sync replicas than replicas. */
  'under-replicated',
  /** The canary could not be written with acks=all to at least one partition. */
  'not-writable',
  /** A watched topic does not exist on the cluster. */
  'topic-missing',
  /** The Kafka client configuration is unusable (missing credentials, bad bootstrap list). */
  'config-error',
  /** The broker answered with an error the probe does not classify further. */
  'protocol-error',
  'unknown',
] as const;
export type FailureReason = (typeof failureReasons)[number];

const byCode: Record<string, FailureReason> = {
  ECONNREFUSED: 'connect-refused',
  ETIMEDOUT: 'timeout',
  ECONNRESET: 'connection-closed',
  EPIPE: 'connection-closed',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  ENOTFOUND: 'unresolvable',
  EAI_AGAIN: 'unresolvable',
};

const byProtocolType: Record<string, FailureReason> = {
  REQUEST_TIMED_OUT: 'timeout',
  LEADER_NOT_AVAILABLE: 'no-leader',
  NOT_LEADER_FOR_PARTITION: 'no-leader',
  NOT_LEADER_OR_FOLLOWER: 'no-leader',
  NOT_ENOUGH_REPLICAS: 'not-writable',
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 'not-writable',
  UNKNOWN_TOPIC_OR_PARTITION: 'topic-missing',
  SASL_AUTHENTICATION_FAILED: 'auth-failed',
  TOPIC_AUTHORIZATION_FAILED: 'auth-failed',
  CLUSTER_AUTHORIZATION_FAILED: 'auth-failed',
  GROUP_AUTHORIZATION_FAILED: 'auth-failed',
  ILLEGAL_SASL_STATE: 'auth-failed',
  UNSUPPORTED_SASL_MECHANISM: 'auth-failed',
};

/** The reason for a Kafka protocol error type (`LEADER_NOT_AVAILABLE` -> `no-leader`). */
export function reasonForErrorType(type: string): FailureReason {
  return byProtocolType[type] ?? (type.includes('AUTHORIZATION') ? 'auth-failed' : 'protocol-error');
}

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  type?: unknown;
  message?: unknown;
  reason?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

/**
 * Classify anything kafkajs (or a deadline) threw. Looks through kafkajs' retry wrappers (`cause`,
 * `originalError`) to the first error it recognises.
 */
export function classifyKafkaError(e: unknown): FailureReason {
  const seen = new Set<unknown>();
  let current: unknown = e;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const reason = classifyOne(current as ErrorLike);
    if (reason) return reason;
    const err = current as ErrorLike;
    current = err.originalError ?? err.cause;
  }
  return 'unknown';
}

function classifyOne(err: ErrorLike): FailureReason | undefined {
  if (err instanceof KafkaOperationError)
    return (failureReasons as readonly string[]).includes(err.reason)
      ? (err.reason as FailureReason)
      : 'unknown';
  const name = typeof err.name === 'string' ? err.name : '';
  const code = typeof err.code === 'string' ? err.code : '';
  const type = typeof err.type === 'string' ? err.type : '';
  const message = typeof err.message === 'string' ? err.message : '';
  if (name === 'ValidationError') return 'config-error';
  if (code && byCode[code]) return byCode[code];
  if (type && byProtocolType[type]) return byProtocolType[type];
  if (name === 'KafkaJSSASLAuthenticationError') return 'auth-failed';
  if (name === 'KafkaJSRequestTimeoutError' || name === 'KafkaJSLockTimeout' || name === 'KafkaJSTimeout')
    return 'timeout';
  if (name === 'KafkaJSConnectionError' && message === 'Connection timeout') return 'timeout';
  if (name === 'KafkaJSConnectionClosedError' || message.includes('Connection closed'))
    return 'connection-closed';
  // TLS: Node's codes (ERR_SSL_*, ERR_TLS_*, CERT_*, *_CERT_*) and OpenSSL alerts from the broker.
  if (
    /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(code) ||
    /alert|certificate|SSL routines/i.test(message)
  ) {
    return 'auth-failed';
  }
  for (const [c, reason] of Object.entries(byCode)) if (message.includes(c)) return reason;
  if (name === 'KafkaJSProtocolError') return 'protocol-error';
  return undefined;
}
