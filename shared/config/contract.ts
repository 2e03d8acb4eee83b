import * as z from 'zod';

/**
 * Schemas of what lives in SSM and Secrets Manager (the contract in docs/design.md). Everything read
 * back from a store passes one of these: a parameter edited by hand is refused with every problem listed.
 */

const securityProtocols = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof securityProtocols)[number];

const saslSchema = z
  .object({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer']),
    /** For `oauthbearer` (MSK IAM): the region the token is signed for. */
    region: z.string().optional(),
  })
  .strict();

/** `bootstrapServers` accepts `"h1:9092,h2:9092"` (Kafka's own form, and Aiven's URI) or an array. */
const bootstrapServers = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0)
      : v,
  z
    .array(z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'expected host:port'))
    .min(1, 'expected at least one host:port'),
);

/** `/mm2-failover/<name>/clusters/<role>`: written once by the operator. */
export const clusterParameterSchema = z
  .object({
    alias: z.string().min(1),
    bootstrapServers,
    securityProtocol: z.enum(securityProtocols),
    sasl: saslSchema.optional(),
  })
  .strict();
export type ClusterParameter = z.output<typeof clusterParameterSchema>;

const tlsCredentials = z
  .object({
    /** PEM CA bundle; absent when the brokers use a publicly trusted certificate. */
    ca: z
      .string()
      .includes('-----BEGIN CERTIFICATE-----', { message: 'expected a PEM certificate' })
      .optional(),
    cert: z.string().includes('-----BEGIN CERTIFICATE-----', { message: 'expected a PEM certificate' }),
    key: z.string().includes('PRIVATE KEY-----', { message: 'expected a PEM private key' }),
  })
  .strict();
const saslCredentials = z
  .object({
    username: z.string().min(1),
    password: z.string().min(1),
    ca: z
      .string()
      .includes('-----BEGIN CERTIFICATE-----', { message: 'expected a PEM certificate' })
      .optional(),
  })
  .strict();
/** `none` and `msk-iam` need no stored credentials; a CA alone is allowed for TLS without client auth. */
const noCredentials = z
  .object({ ca: z.string().includes('-----BEGIN CERTIFICATE-----').optional() })
  .strict();

/** `mm2-failover/<name>/clusters/<role>`: written once by the operator. */
export const clusterCredentialsSchema = z.union([tlsCredentials, saslCredentials, noCredentials]);
export type ClusterCredentials = z.output<typeof clusterCredentialsSchema>;

const topicRouteSchema = z
  .object({
    /** Topic to produce to on the active cluster. */
    produce: z.string().min(1),
    /** Topics the group reads on the active cluster in normal running (active-active: the local one only). */
    subscribe: z.array(z.string().min(1)).min(1),
    /**
     * Active-active: the copies MirrorMaker 2 mirrors in from the other cluster (`K2.orders`). Read only by
     * consumers that ask for the global view (`subscription: 'aggregate'`); the documented model leaves them to
     * the other cluster's own consumers.
     */
    remote: z.array(z.string().min(1)).optional(),
    /**
     * After a failover that moves clients onto a cluster they were not producing into: the mirrored topics to
     * read to their end first (`K1.orders`, `primary.orders`), from the offsets translated into the drain group
     * ({@link drainGroupOf}), before joining the group on `subscribe`.
     */
    drain: z.array(z.string().min(1)).optional(),
  })
  .strict();
export type TopicRoute = z.output<typeof topicRouteSchema>;

/**
 * The consumer group that reads a route's `drain` topics for `group`. It is not `group` itself: in active-active
 * the other cluster's consumers are members of `group` there, reading `subscribe` only, and kafkajs' leader assigns
 * only the topics it subscribes to, so one group cannot read two subscriptions at once. The failover commits the
 * offsets translated from the checkpoints into this group.
 */
export function drainGroupOf(group: string): string {
  return `${group}.drain`;
}

/** The two roles a staged failback switch moves one after the other. */
const clientRoles = ['producers', 'consumers'] as const;
export type ClientRole = (typeof clientRoles)[number];

/** `/mm2-failover/<name>/active`: written only by failover and failback. */
export const activeConfigSchema = z
  .object({
    /** Fencing token: +1 on every switch. */
    epoch: z.int().min(0),
    cluster: z.enum(['primary', 'secondary']),
    alias: z.string().min(1),
    bootstrapServers: z.array(z.string().min(1)).min(1),
    securityProtocol: z.enum(securityProtocols),
    sasl: saslSchema.optional(),
    credentialsSecret: z.string().min(1),
    /** Logical topic → where to produce and what to subscribe to on the active cluster. */
    topics: z.record(z.string(), topicRouteSchema),
    switchedAt: z.iso.datetime(),
    reason: z.string(),
    /**
     * Only during a staged failback switch: clients of `role` stay on this cluster until the next epoch, while
     * the other role already uses the fields above. Their credentials are in the active-credentials secret under
     * `holdback`, written in the same fenced switch; `credentialsSecret` names that secret. (Parameters written
     * by earlier versions named the operator's cluster secret here; they still parse, but clients never read
     * that secret: applications are only granted the active ones.)
     */
    holdback: z
      .object({
        role: z.enum(clientRoles),
        cluster: z.enum(['primary', 'secondary']),
        alias: z.string().min(1),
        bootstrapServers: z.array(z.string().min(1)).min(1),
        securityProtocol: z.enum(securityProtocols),
        sasl: saslSchema.optional(),
        credentialsSecret: z.string().min(1),
        topics: z.record(z.string(), topicRouteSchema),
      })
      .strict()
      .optional(),
  })
  .strict();
export type ActiveConfig = z.output<typeof activeConfigSchema>;

const credentialFields = {
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
};

/**
 * `mm2-failover/<name>/active-credentials`: `{ epoch, cluster, ...credentials, holdback? }`. `holdback` is present
 * exactly when the active parameter of the same epoch has one: the credentials of the cluster the held-back
 * role stays on, so that applications need no access to the operator's cluster secrets.
 */
export const activeCredentialsSchema = z
  .object({
    epoch: z.int().min(0),
    cluster: z.enum(['primary', 'secondary']),
    ...credentialFields,
    holdback: z
      .object({ cluster: z.enum(['primary', 'secondary']), ...credentialFields })
      .strict()
      .optional(),
  })
  .strict();
export type ActiveCredentials = z.output<typeof activeCredentialsSchema>;

const automationStates = ['enabled', 'disabled'] as const;
export const automationSchema = z.enum(automationStates);
