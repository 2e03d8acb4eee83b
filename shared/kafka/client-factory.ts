import { createHash } from 'node:crypto';
import {
  type Admin,
  Kafka,
  type KafkaConfig,
  type logCreator,
  logLevel,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { ActiveCredentials, ClusterCredentials, SecurityProtocol } from '../config/contract.ts';
import { describeError, ValidationError, type ValidationProblem } from '../errors.ts';
import type { Redacted } from '../store/redacted.ts';
import { fixRequestQueueTimer } from './request-queue-timer-fix.ts';

// Every kafkajs client of the product (functions, CLI, drill, client library) is built from here: the fix goes in
// before any of them connects.
fixRequestQueueTimer();

/**
 * From the contract's cluster description (a `ClusterParameter` or the `ActiveConfig`) and the cluster's
 * credentials to a kafkajs configuration, for every auth kind the product supports:
 *
 * | securityProtocol | sasl.mechanism                 | credentials               | kafkajs                          |
 * |------------------|--------------------------------|---------------------------|----------------------------------|
 * | PLAINTEXT        | -                              | -                         | no ssl, no sasl                  |
 * | SSL              | -                              | `{ ca?, cert, key }`      | `ssl: { ca, cert, key }` (mTLS)   |
 * | SSL              | -                              | `{ ca? }`                 | `ssl: { ca }` or `ssl: true`      |
 * | SASL_SSL         | plain / scram-sha-256 / -512   | `{ username, password, ca? }` | `sasl`, `ssl: { ca }` or `true` |
 * | SASL_PLAINTEXT   | plain / scram-sha-256 / -512   | `{ username, password }`  | `sasl`, no ssl                   |
 * | SASL_SSL         | oauthbearer (MSK IAM)          | `{ ca? }`                 | `oauthbearer` signed by aws-msk-iam-sasl-signer-js |
 *
 * Credentials arrive {@link Redacted} and are revealed only into the returned config; errors name what is
 * missing, never a value.
 */

/** Where a cluster is and how it speaks: the shape shared by `ClusterParameter` and `ActiveConfig`. */
export interface KafkaConnection {
  bootstrapServers: string[];
  securityProtocol: SecurityProtocol;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512' | 'oauthbearer'; region?: string };
}

export interface KafkaClientOptions {
  /** kafkajs `clientId` (shows in broker logs and quotas). */
  clientId: string;
  /** TCP + TLS connect timeout. */
  connectTimeoutMs: number;
  /** Per-request timeout; also bounds SASL authentication unless `authenticationTimeoutMs` is given. */
  requestTimeoutMs: number;
  /** kafkajs `retry.retries` (default 0: callers that probe want an answer, not a retry loop). */
  retries?: number;
  authenticationTimeoutMs?: number;
  /** Default `logLevel.WARN`. */
  logLevel?: logLevel;
  /** Route kafkajs' own log lines somewhere else (e.g. a Powertools logger). */
  logCreator?: logCreator;
  /** MSK IAM signing region when `sasl.region` is absent; defaults to `AWS_REGION`. */
  region?: string;
}

export interface ClientFactoryDeps {
  /** MSK IAM token signer (a fake in tests). */
  generateAuthToken?: (options: { region: string }) => Promise<{ token: string; expiryTime: number }>;
  env?: NodeJS.ProcessEnv;
}

type AnyCredentials = ClusterCredentials | ActiveCredentials;

/**
 * The MSK IAM signer, loaded on the first token a client asks for: with it come an STS client and the AWS
 * credential providers, which a deployment without MSK IAM never needs and each cold start would otherwise
 * evaluate.
 */
async function signMskIamToken(options: { region: string }): Promise<{ token: string; expiryTime: number }> {
  const { generateAuthToken } = await import('aws-msk-iam-sasl-signer-js');
  return generateAuthToken(options);
}

/** Build a kafkajs `KafkaConfig`; throws a {@link ValidationError} listing every missing piece. */
export function buildKafkaConfig(
  connection: KafkaConnection,
  credentials: Redacted<AnyCredentials>,
  options: KafkaClientOptions,
  deps: ClientFactoryDeps = {},
): KafkaConfig {
  const creds = credentials.reveal() as Partial<
    Record<'ca' | 'cert' | 'key' | 'username' | 'password', string>
  >;
  const problems: ValidationProblem[] = [];
  const protocol = connection.securityProtocol;
  const tls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const usesSasl = protocol === 'SASL_SSL' || protocol === 'SASL_PLAINTEXT';

  if (connection.bootstrapServers.length === 0) {
    problems.push({ path: 'bootstrapServers', message: 'expected at least one host:port, found none' });
  }

  let ssl: KafkaConfig['ssl'];
  if (tls) {
    const hasCert = creds.cert !== undefined;
    const hasKey = creds.key !== undefined;
    if (hasCert !== hasKey) {
      problems.push({
        path: hasCert ? 'credentials.key' : 'credentials.cert',
        message: 'mTLS needs both a client certificate and its private key, found only one',
      });
    }
    const mtls = protocol === 'SSL' && hasCert && hasKey;
    ssl =
      creds.ca === undefined && !mtls
        ? true
        : {
            ...(creds.ca === undefined ? {} : { ca: creds.ca }),
            ...(mtls ? { cert: creds.cert, key: creds.key } : {}),
          };
  } else if (connection.sasl?.mechanism === 'oauthbearer') {
    problems.push({
      path: 'securityProtocol',
      message: 'MSK IAM (oauthbearer) needs SASL_SSL, got SASL_PLAINTEXT',
    });
  }

  let sasl: SASLOptions | undefined;
  if (usesSasl) {
    const mechanism = connection.sasl?.mechanism;
    if (mechanism === undefined) {
      problems.push({
        path: 'sasl.mechanism',
        message: `expected a SASL mechanism for ${protocol}, found none`,
      });
    } else if (mechanism === 'oauthbearer') {
      const region = connection.sasl?.region ?? options.region ?? (deps.env ?? process.env).AWS_REGION;
      if (!region) {
        problems.push({
          path: 'sasl.region',
          message: 'expected the MSK cluster region for IAM signing (sasl.region or AWS_REGION), found none',
        });
      } else {
        const sign = deps.generateAuthToken ?? signMskIamToken;
        sasl = {
          mechanism: 'oauthbearer',
          oauthBearerProvider: async () => {
            const { token } = await sign({ region });
            return { value: token };
          },
        };
      }
    } else {
      if (!creds.username)
        problems.push({
          path: 'credentials.username',
          message: `expected a username for SASL ${mechanism}, found none`,
        });
      if (!creds.password)
        problems.push({
          path: 'credentials.password',
          message: `expected a password for SASL ${mechanism}, found none`,
        });
      if (creds.username && creds.password) {
        sasl = { mechanism, username: creds.username, password: creds.password } as SASLOptions;
      }
    }
  } else if (connection.sasl !== undefined) {
    problems.push({ path: 'sasl', message: `SASL settings given but securityProtocol is ${protocol}` });
  }

  if (problems.length > 0) throw new ValidationError('Kafka connection settings', problems);

  return {
    clientId: options.clientId,
    brokers: [...connection.bootstrapServers],
    connectionTimeout: options.connectTimeoutMs,
    authenticationTimeout: options.authenticationTimeoutMs ?? options.requestTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    enforceRequestTimeout: true,
    retry: {
      retries: options.retries ?? 0,
      initialRetryTime: 100,
      maxRetryTime: Math.max(200, Math.floor(options.requestTimeoutMs / 2)),
    },
    logLevel: options.logLevel ?? logLevel.WARN,
    ...(options.logCreator ? { logCreator: options.logCreator } : {}),
    ...(ssl === undefined ? {} : { ssl }),
    ...(sasl === undefined ? {} : { sasl }),
  };
}

/**
 * A stable digest of a kafkajs config, secrets included (hashed, never kept or printed): a cached client is
 * rebuilt when the bootstrap servers, the auth or the timeouts change (a rotated certificate, a switch).
 */
export function configFingerprint(config: KafkaConfig): string {
  const canonical = JSON.stringify(config, (_k, v: unknown) => {
    if (typeof v === 'function') return `fn:${v.name}`;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
      );
    }
    return v;
  });
  return createHash('sha256').update(canonical).digest('hex');
}

interface CacheEntry<T> {
  fingerprint: string;
  promise: Promise<T>;
}

/**
 * Clients once per container (docs/design.md): `get` makes a client on first use, hands the same one to every
 * later caller, across cycles and invocations; a failed creation is forgotten so the next call tries afresh;
 * `forget` drops a client after an operation on it failed (its sockets may be half-dead) and closes it in the
 * background; a changed fingerprint (new credentials, another cluster) replaces the client.
 */
export class ClientCache<T> {
  readonly #entries = new Map<string, CacheEntry<T>>();
  readonly #close: (client: T) => Promise<void>;
  readonly #onCloseError: (name: string, error: unknown) => void;

  constructor(
    close: (client: T) => Promise<void>,
    onCloseError: (name: string, error: unknown) => void = () => {},
  ) {
    this.#close = close;
    this.#onCloseError = onCloseError;
  }

  get(name: string, fingerprint: string, create: () => Promise<T>): Promise<T> {
    const existing = this.#entries.get(name);
    if (existing && existing.fingerprint === fingerprint) return existing.promise;
    if (existing) this.forget(name);
    const promise = create();
    const entry = { fingerprint, promise };
    this.#entries.set(name, entry);
    promise.catch(() => {
      if (this.#entries.get(name) === entry) this.#entries.delete(name);
    });
    return promise;
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** Drop the client (after a failure) and close it without waiting; the next `get` builds a new one. */
  forget(name: string): void {
    const entry = this.#entries.get(name);
    if (!entry) return;
    this.#entries.delete(name);
    entry.promise.then(
      (client) => this.#close(client).catch((e: unknown) => this.#onCloseError(name, e)),
      () => {},
    );
  }

  /** Close every client (tests, benchmarks, a graceful shutdown). */
  async closeAll(): Promise<void> {
    const entries = [...this.#entries.entries()];
    this.#entries.clear();
    await Promise.all(
      entries.map(async ([name, entry]) => {
        try {
          await this.#close(await entry.promise);
        } catch (e: unknown) {
          this.#onCloseError(name, e);
        }
      }),
    );
  }
}

/**
 * Connected kafkajs admins and producers, one per name (e.g. `primary`, `secondary`), created once per container
 * through {@link ClientCache}. Call `forget(name)` when an operation on one failed.
 */
export class KafkaClientCache {
  readonly #admins = new ClientCache<Admin>((a) => a.disconnect());
  readonly #producers = new ClientCache<Producer>((p) => p.disconnect());
  readonly #createKafka: (config: KafkaConfig) => Kafka;

  constructor(options: { createKafka?: (config: KafkaConfig) => Kafka } = {}) {
    this.#createKafka = options.createKafka ?? ((config) => new Kafka(config));
  }

  admin(name: string, config: KafkaConfig): Promise<Admin> {
    return this.#admins.get(name, configFingerprint(config), async () => {
      const admin = this.#createKafka(config).admin();
      await connectOrDisconnect(admin);
      return admin;
    });
  }

  producer(name: string, config: KafkaConfig): Promise<Producer> {
    return this.#producers.get(name, configFingerprint(config), async () => {
      const producer = this.#createKafka(config).producer({ allowAutoTopicCreation: false });
      await connectOrDisconnect(producer);
      return producer;
    });
  }

  forget(name: string): void {
    this.#admins.forget(name);
    this.#producers.forget(name);
  }

  async closeAll(): Promise<void> {
    await Promise.all([this.#admins.closeAll(), this.#producers.closeAll()]);
  }
}

/** A failed connect leaves sockets and retry timers behind in kafkajs: release them before rethrowing. */
async function connectOrDisconnect(client: {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}): Promise<void> {
  try {
    await client.connect();
  } catch (e: unknown) {
    await client.disconnect().catch(() => {});
    throw e instanceof Error ? e : new Error(describeError(e));
  }
}
