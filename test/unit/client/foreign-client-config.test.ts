import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import type { KafkaConfig } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { type ForeignClientView, renderClientConfig } from '#shared/client/foreign-client-config.ts';
import { Redacted } from '#shared/store/redacted.ts';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
/** A PKCS#1 key ("BEGIN RSA PRIVATE KEY"), which the Java client cannot read unencrypted. */
const pkcs1Key = String(privateKey.export({ type: 'pkcs1', format: 'pem' }));
const pkcs8Key = String(privateKey.export({ type: 'pkcs8', format: 'pem' })).trim();
const cert = '-----BEGIN CERTIFICATE-----\nMIIBclient\n-----END CERTIFICATE-----\n';
const ca = '-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n';

function view(
  kafka: KafkaConfig,
  connection: Pick<ForeignClientView, 'securityProtocol'> & Partial<ForeignClientView> = {
    securityProtocol: 'SSL',
  },
): ForeignClientView {
  return {
    deployment: 'orders-dr',
    epoch: 7,
    cluster: 'secondary',
    alias: 'K2',
    switchedAt: '2026-11-21T10:00:00.000Z',
    bootstrapServers: ['b1:9093', 'b2:9093'],
    topics: { orders: { produce: 'K1.orders', subscribe: ['K1.orders'] } },
    kafka: new Redacted(kafka),
    ...connection,
  };
}

const mtls = view({ brokers: ['b1:9093'], ssl: { ca, cert, key: pkcs1Key } });

/** Reads a Java .properties text back: `\n` escapes and doubled backslashes undone, comments dropped. */
function javaProperties(text: string): Map<string, string> {
  const entries = text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l): [string, string] => {
      const at = l.indexOf('=');
      return [l.slice(0, at), l.slice(at + 1).replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c))];
    });
  return new Map(entries);
}

describe('client configuration for Kafka clients in other languages', () => {
  it('gives the Java client its mTLS material inline as PEM, the key as PKCS#8', () => {
    const rendered = renderClientConfig(mtls, 'properties');
    const p = javaProperties(rendered.config.text);

    expect(rendered.config.name).toBe('client.properties');
    expect(rendered.holdsSecrets).toBe(true);
    expect(Object.fromEntries(p)).toEqual({
      'bootstrap.servers': 'b1:9093,b2:9093',
      'security.protocol': 'SSL',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.certificate.chain': cert.trim(),
      'ssl.keystore.key': pkcs8Key,
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.certificates': ca.trim(),
    });
    expect(createPrivateKey(p.get('ssl.keystore.key') ?? '').asymmetricKeyType).toBe('rsa');
  });

  it('starts every properties file with the deployment, the epoch and the topics on that cluster', () => {
    const { text } = renderClientConfig(mtls, 'properties').config;

    expect(text.split('\n').slice(0, 4)).toEqual([
      '# mm2-failover client configuration: deployment orders-dr, epoch 7, cluster secondary (alias K2), switched at 2026-11-21T10:00:00.000Z',
      '# Re-read it when the epoch in /mm2-failover/<deployment>/active changes. Topics on this cluster',
      '# (logical: produce to / subscribe to):',
      '#   orders: K1.orders / K1.orders',
    ]);
  });

  it('gives the Java client SCRAM credentials in its JAAS line, quotes escaped', () => {
    const scram = view(
      {
        brokers: ['b1:9096'],
        ssl: true,
        sasl: { mechanism: 'scram-sha-512', username: 'app', password: 'p"w\\d' },
      },
      { securityProtocol: 'SASL_SSL', sasl: { mechanism: 'scram-sha-512' } },
    );

    const p = javaProperties(renderClientConfig(scram, 'properties').config.text);

    expect(p.get('sasl.mechanism')).toBe('SCRAM-SHA-512');
    expect(p.get('sasl.jaas.config')).toBe(
      'org.apache.kafka.common.security.scram.ScramLoginModule required username="app" password="p\\"w\\\\d";',
    );
    expect(p.has('ssl.truststore.type')).toBe(false);
  });

  it('names MSK IAM for the Java client without any secret', () => {
    const iam = view(
      {
        brokers: ['b1:9098'],
        ssl: true,
        sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: 't' }) },
      },
      { securityProtocol: 'SASL_SSL', sasl: { mechanism: 'oauthbearer' } },
    );

    const rendered = renderClientConfig(iam, 'properties');

    expect(rendered.holdsSecrets).toBe(false);
    expect(Object.fromEntries(javaProperties(rendered.config.text))).toMatchObject({
      'sasl.mechanism': 'AWS_MSK_IAM',
      'sasl.jaas.config': 'software.amazon.msk.auth.iam.IAMLoginModule required;',
      'sasl.client.callback.handler.class': 'software.amazon.msk.auth.iam.IAMClientCallbackHandler',
    });
  });

  it('names PEM files by path for librdkafka, written next to its properties', () => {
    const rendered = renderClientConfig(mtls, 'librdkafka', { dir: '/etc/app/kafka' });

    expect(rendered.config.name).toBe('librdkafka.properties');
    expect(rendered.config.text.split('\n').filter((l) => !l.startsWith('#'))).toEqual([
      'bootstrap.servers=b1:9093,b2:9093',
      'security.protocol=SSL',
      'ssl.ca.location=/etc/app/kafka/ca.pem',
      'ssl.certificate.location=/etc/app/kafka/client.crt',
      'ssl.key.location=/etc/app/kafka/client.key',
      '',
    ]);
    expect(rendered.pemFiles).toEqual([
      { name: 'ca.pem', text: ca },
      { name: 'client.crt', text: cert },
      { name: 'client.key', text: pkcs1Key },
    ]);
  });

  it('refuses librdkafka properties that would need a PEM file when there is no folder to write it to', () => {
    expect(() => renderClientConfig(mtls, 'librdkafka')).toThrow(
      'librdkafka properties name PEM files (ssl.ca.location) and epoch 7 has a ca: expected a folder to write ' +
        'them to (--out-dir), got none; or use --format json, which holds them inline',
    );
  });

  it('gives librdkafka SASL credentials inline and needs no folder without PEM', () => {
    const plain = view(
      { brokers: ['b1:9092'], sasl: { mechanism: 'plain', username: 'app', password: 'pw' } },
      { securityProtocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'plain' } },
    );

    const rendered = renderClientConfig(plain, 'librdkafka');

    expect(rendered.holdsSecrets).toBe(true);
    expect(rendered.config.text).toContain(
      'security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=PLAIN\nsasl.username=app\nsasl.password=pw\n',
    );
  });

  it('puts the epoch, the topics, the credentials and a ready librdkafka map with PEM inline in one JSON document', () => {
    const rendered = renderClientConfig(mtls, 'json');

    expect(JSON.parse(rendered.config.text)).toEqual({
      deployment: 'orders-dr',
      epoch: 7,
      cluster: 'secondary',
      alias: 'K2',
      switchedAt: '2026-11-21T10:00:00.000Z',
      bootstrapServers: ['b1:9093', 'b2:9093'],
      securityProtocol: 'SSL',
      tls: { ca, cert, key: pkcs1Key },
      topics: { orders: { produce: 'K1.orders', subscribe: ['K1.orders'] } },
      librdkafka: {
        'bootstrap.servers': 'b1:9093,b2:9093',
        'security.protocol': 'SSL',
        'ssl.ca.pem': ca,
        'ssl.certificate.pem': cert,
        'ssl.key.pem': pkcs1Key,
      },
    });
    expect(rendered.holdsSecrets).toBe(true);
  });

  it('says a plaintext configuration holds no secret', () => {
    const plaintext = view({ brokers: ['b1:9092'] }, { securityProtocol: 'PLAINTEXT' });

    const rendered = renderClientConfig(plaintext, 'librdkafka');

    expect(rendered.holdsSecrets).toBe(false);
    expect(rendered.pemFiles).toEqual([]);
  });
});
