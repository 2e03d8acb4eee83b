import { describe, expect, it } from 'vitest';
import { KafkaOperationError, ValidationError } from '#shared/errors.ts';
import { classifyKafkaError, reasonForErrorType } from '#shared/kafka/failure-reason.ts';

/** Errors shaped as kafkajs 2.2.4 builds them (name, message, code/type, cause chains). */
function kafkajsError(name: string, message: string, extra: Record<string, unknown> = {}): Error {
  const e = new Error(message);
  e.name = name;
  Object.assign(e, extra);
  return e;
}

describe('classifyKafkaError', () => {
  it('says connect-refused when kafkajs reports ECONNREFUSED', () => {
    const e = kafkajsError(
      'KafkaJSConnectionError',
      'Connection error: connect ECONNREFUSED 127.0.0.1:9092',
      {
        code: 'ECONNREFUSED',
      },
    );
    expect(classifyKafkaError(e)).toBe('connect-refused');
  });

  it('looks through the retry wrapper to the original error', () => {
    const original = kafkajsError(
      'KafkaJSConnectionError',
      'Connection error: connect ECONNREFUSED 127.0.0.1:1',
    );
    const wrapped = kafkajsError('KafkaJSNumberOfRetriesExceeded', original.message, { cause: original });
    expect(classifyKafkaError(wrapped)).toBe('connect-refused');
  });

  it('says timeout for a connection timeout, a request timeout and a lock timeout', () => {
    expect(classifyKafkaError(kafkajsError('KafkaJSConnectionError', 'Connection timeout'))).toBe('timeout');
    expect(
      classifyKafkaError(
        kafkajsError('KafkaJSRequestTimeoutError', 'Request Metadata(key: 3, version: 6) timed out'),
      ),
    ).toBe('timeout');
    expect(classifyKafkaError(kafkajsError('KafkaJSLockTimeout', 'Timeout while acquiring lock'))).toBe(
      'timeout',
    );
  });

  it('says auth-failed for SASL failures, authorization errors and TLS handshake failures', () => {
    expect(
      classifyKafkaError(
        kafkajsError('KafkaJSSASLAuthenticationError', 'SASL SCRAM SHA512 authentication failed'),
      ),
    ).toBe('auth-failed');
    expect(
      classifyKafkaError(
        kafkajsError('KafkaJSProtocolError', 'Not authorized', { type: 'TOPIC_AUTHORIZATION_FAILED' }),
      ),
    ).toBe('auth-failed');
    expect(
      classifyKafkaError(
        kafkajsError('KafkaJSConnectionError', 'Connection error: unable to verify the first certificate', {
          code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        }),
      ),
    ).toBe('auth-failed');
    expect(
      classifyKafkaError(
        kafkajsError('KafkaJSConnectionError', 'Connection error: tlsv13 alert certificate required'),
      ),
    ).toBe('auth-failed');
  });

  it('says connection-closed when the broker closes the connection', () => {
    expect(classifyKafkaError(kafkajsError('KafkaJSConnectionClosedError', 'Closed connection'))).toBe(
      'connection-closed',
    );
    expect(
      classifyKafkaError(
        kafkajsError('KafkaJSConnectionError', 'Connection error: read ECONNRESET', { code: 'ECONNRESET' }),
      ),
    ).toBe('connection-closed');
  });

  it('says unresolvable for an unknown host', () => {
    expect(
      classifyKafkaError(
        kafkajsError('KafkaJSConnectionError', 'Connection error: getaddrinfo ENOTFOUND nope', {
          code: 'ENOTFOUND',
        }),
      ),
    ).toBe('unresolvable');
  });

  it("keeps the reason of the product's own KafkaOperationError and maps a ValidationError to config-error", () => {
    expect(
      classifyKafkaError(new KafkaOperationError('timeout', 'metadata did not answer within 2000 ms')),
    ).toBe('timeout');
    expect(
      classifyKafkaError(new ValidationError('Kafka connection settings', [{ path: 'x', message: 'y' }])),
    ).toBe('config-error');
  });

  it('says unknown for anything else, including non-errors', () => {
    expect(classifyKafkaError(new Error('boom'))).toBe('unknown');
    expect(classifyKafkaError('a string')).toBe('unknown');
    expect(classifyKafkaError(undefined)).toBe('unknown');
  });
});

describe('reasonForErrorType', () => {
  it('maps Kafka error types to reasons', () => {
    expect(reasonForErrorType('LEADER_NOT_AVAILABLE')).toBe('no-leader');
    expect(reasonForErrorType('NOT_ENOUGH_REPLICAS')).toBe('not-writable');
    expect(reasonForErrorType('DELEGATION_TOKEN_AUTHORIZATION_FAILED')).toBe('auth-failed');
    expect(reasonForErrorType('CORRUPT_MESSAGE')).toBe('protocol-error');
  });
});
