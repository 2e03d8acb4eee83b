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
    region: z.string().max(32).optional(),
  })
  .strict();

/**
 * Bounds that keep the active parameter inside SSM's Standard tier (4,096 characters) for every input the schemas
 * accept, a staged failback's holdback (a second cluster) included: the parameter holds the brokers of up to two
 * clusters, so those are what is bounded. test/unit/config/active-parameter-size.test.ts writes the largest one.
 */
const maxBootstrapServers = 16;
const maxBootstrapLength = 1_024;
/** SSM Standard-tier parameter value limit, in characters (the active parameter is a Standard parameter). */
export const standardParameterMaxChars = 4_096;
/** Secrets Manager's limit on a secret value (the active-credentials secret), in bytes. */
export const secretValueMaxBytes = 65_536;
/** The reason a switch records is cut to this many characters of JSON, so that no reason can outgrow the parameter. */
const maxReasonJsonChars = 400;

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
    .min(1, 'expected at least one host:port')
    .max(
      maxBootstrapServers,
      `expected at most ${maxBootstrapServers} host:port (clients need only a few to bootstrap)`,
    )
    .refine((servers) => servers.join(',').length <= maxBootstrapLength, {
      error: (i) =>
        `expected at most ${maxBootstrapLength} characters joined with commas, got ${(i.input as string[]).join(',').length}`,
    }),
);

/** `/mm2-failover/<name>/clusters/<role>`: written once by the operator. */
export const clusterParameterSchema = z
  .object({
    alias: z.string().min(1).max(64),
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
 * How every logical topic maps on one cluster, as prefixes (format 2): produce to `producePrefix + topic`, subscribe
 * to `subscribePrefix + topic` for each prefix. The deployment's routes are a rule (mode, replication policy,
 * aliases; shared/config/topic-mapping.ts), so the parameter carries the rule and not one entry per topic: its size
 * does not grow with the topic list, and any reader (the client library, a foreign client) applies it in one line.
 */
const topicRoutingSchema = z
  .object({
    /** `''` (the topic itself) or a remote prefix such as `primary.`. */
    producePrefix: z.string(),
    subscribePrefixes: z.array(z.string()).min(1),
    /** Active-active: the copies mirrored in from the other cluster, read only for the global view (`aggregate`). */
    remotePrefixes: z.array(z.string()).min(1).optional(),
    /** What moved consumers read to its end before they join their group on the subscription (drain-then-switch). */
    drainPrefixes: z.array(z.string()).min(1).optional(),
  })
  .strict();
export type TopicRouting = z.output<typeof topicRoutingSchema>;

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

/** The parameter format switches write. Format 1 (no `format` field) carried the whole topic map in `topics`. */
export const activeConfigFormat = 2;

/**
 * The routes of one cluster in either format: format 2 has `routing` (and `topics` only for a topic whose route
 * differs from the rule; none today), format 1 has `topics` for every topic and no `routing`.
 */
const routeFields = {
  routing: topicRoutingSchema.optional(),
  /** Logical topic → where to produce and what to subscribe to on this cluster (format 1: every topic). */
  topics: z.record(z.string(), topicRouteSchema).optional(),
};

/** A reason cut so that its JSON stays within {@link maxReasonJsonChars}; idempotent, so a read-back compares equal. */
function boundedReason(reason: string): string {
  if (JSON.stringify(reason).length <= maxReasonJsonChars) return reason;
  const chars = [...reason];
  let kept = chars.length;
  while (kept > 0 && JSON.stringify(`${chars.slice(0, kept).join('')}…`).length > maxReasonJsonChars)
    kept -= 1;
  return `${chars.slice(0, kept).join('')}…`;
}

/** `/mm2-failover/<name>/active`: written only by failover and failback. */
export const activeConfigSchema = z
  .object({
    /** Absent in format 1 parameters (written before the routes became a rule). */
    format: z.literal(activeConfigFormat).optional(),
    /** Fencing token: +1 on every switch. */
    epoch: z.int().min(0),
    cluster: z.enum(['primary', 'secondary']),
    alias: z.string().min(1),
    bootstrapServers: z.array(z.string().min(1)).min(1),
    securityProtocol: z.enum(securityProtocols),
    sasl: saslSchema.optional(),
    credentialsSecret: z.string().min(1),
    ...routeFields,
    switchedAt: z.iso.datetime(),
    reason: z.string().transform(boundedReason),
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
        ...routeFields,
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const formatted = c.format === activeConfigFormat;
    for (const [path, routes] of [
      [[], c],
      [['holdback'], c.holdback],
    ] as const) {
      if (routes === undefined) continue;
      if (formatted && routes.routing === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'routing'],
          message: `expected the topic routing rule in a format ${activeConfigFormat} parameter, found none`,
        });
      }
      if (!formatted && (routes.routing !== undefined || routes.topics === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, routes.routing === undefined ? 'topics' : 'format'],
          message:
            routes.routing === undefined
              ? 'expected the topic map of a format 1 parameter (no format field), found none'
              : `expected format ${activeConfigFormat} with a routing rule, found no format field`,
        });
      }
    }
  });
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
