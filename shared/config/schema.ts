import * as z from 'zod';
import { findingCodes } from '../readiness/finding-codes.ts';
import { defaultAwsCallLimits } from '../store/aws-client-options.ts';

/**
 * The deployment config (`failover.config.json`). Validated at `cdk synth` and again at every function's cold
 * start; defaults live here next to their field.
 */

const name = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,39}$/,
    'expected 1-40 lowercase letters, digits or dashes, starting with a letter or digit',
  );

/**
 * The largest deployment the schema accepts, and the one the tests switch (test/unit/config/largest-deployment.ts):
 * 1,000 topics and 500 consumer groups. The active parameter does not grow with them (it carries the routing rule,
 * not a map: docs/design.md), but every probe cycle reads the topics' metadata and a failover journals each
 * group's translated offsets, so the tested size is the supported one.
 */
const maxTopics = 1_000;
const maxConsumerGroups = 500;
/** Kafka's own limit on a group id is none; a topic's is 249 characters, used for both. */
const maxGroupIdLength = 249;
const maxSeparatorLength = 8;

/** A Kafka topic name: Kafka refuses any other (`Topic.validate`: 1-249 of letters, digits, `.`, `_`, `-`). */
const topicName = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'expected a Kafka topic name: 1-249 letters, digits, ., _ or -');

/** MM2 cluster alias: it becomes a topic prefix (`primary.orders`), so no separators or spaces. */
const alias = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected letters, digits, _ or - (it becomes a topic prefix)');

/** How a value that was not allowed is quoted back: `'kerberos'`, `15`, or `nothing` for a missing field. */
function given(input: unknown): string {
  if (input === undefined) return 'nothing';
  return typeof input === 'string' ? `'${input}'` : JSON.stringify(input);
}

/** The allowed values, as an error message lists them: `'a', 'b'` or `10, 20, 30`. */
function listed(values: readonly (string | number)[]): string {
  return values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');
}

/**
 * A string enum whose error names every allowed value and what was given (zod's own message for a literal union
 * is only "Invalid input").
 */
function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: (i) => `expected one of ${listed(values)}, got ${given(i.input)}` });
}

/** {@link oneOf} for numbers (CloudWatch's alarm periods). */
function oneOfNumbers<const T extends readonly [number, ...number[]]>(values: T) {
  return z.literal(values, { error: (i) => `expected one of ${listed(values)}, got ${given(i.input)}` });
}

const authKinds = ['mtls', 'sasl-scram', 'sasl-plain', 'msk-iam', 'none'] as const;

const clusterSchema = z
  .object({
    /** The MM2 cluster alias (`clusters = primary, secondary` in mm2.properties). */
    alias,
    /** How clients authenticate; the credentials live in the cluster's secret. */
    auth: oneOf(authKinds),
    /** SCRAM digest, for `sasl-scram`. */
    scramMechanism: oneOf(['scram-sha-256', 'scram-sha-512']).default('scram-sha-512'),
    /** Use TLS for SASL connections (SASL_SSL). MSK IAM and mTLS always use TLS. */
    tls: z.boolean().default(true),
    /** Brokers the cluster should have; fewer alive makes the verdict `degraded`. */
    expectedBrokers: z.int().min(1).default(3),
    /** An existing secret's full ARN, when the operator keeps credentials elsewhere; otherwise the contract name. */
    secretArn: z.string().startsWith('arn:').optional(),
    /** AWS region of an MSK cluster (MSK IAM signing). */
    region: z.string().optional(),
    /**
     * The MSK cluster's ARN, for `msk-iam`: the stack scopes the functions' `kafka-cluster:*` permissions to
     * this cluster and its topics and groups (`cdk synth` refuses an `msk-iam` cluster without it).
     */
    mskClusterArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster\/[^/]+\/[^/]+$/,
        'expected an MSK cluster ARN like arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>',
      )
      .optional(),
  })
  .strict();

const detectionSchema = z
  .object({
    /** Seconds between probe cycles inside one invocation. 10 s matches CloudWatch's finest alarm period. */
    probeIntervalSeconds: z.int().min(1).max(60).default(10),
    /** Alarm period over the 1-second high-resolution metrics: CloudWatch allows 10, 20 or 30 s. */
    alarmPeriodSeconds: oneOfNumbers([10, 20, 30]).default(10),
    /** N: datapoints the alarm looks at. */
    evaluationPeriods: z.int().min(1).max(30).default(3),
    /** M: of those, how many must say "down" (M of N). */
    datapointsToAlarm: z.int().min(1).max(30).default(3),
    /** Hard deadline for one probe cycle of one cluster. Under the interval so cycles never overlap. */
    cycleDeadlineMs: z.int().min(500).max(60_000).default(7_000),
    /** kafkajs connect timeout: a refused or silent broker is judged on this, not on kafkajs' 30 s default. */
    connectTimeoutMs: z.int().min(100).max(30_000).default(2_000),
    /** kafkajs request timeout: a hung broker (TCP accepted, never answers) is judged on this. */
    requestTimeoutMs: z.int().min(200).max(60_000).default(4_000),
    /** Failover re-probes the primary this many times, all must fail, before it believes the alarm. */
    confirmProbes: z.int().min(1).max(10).default(3),
    /** Pause between confirmation probes. The alarm already saw a whole detection window of failures; these
     * probes only guard against acting on a stale alarm, so 3 over ~1 s keep the switch under 2 s. */
    confirmIntervalMs: z.int().min(0).max(30_000).default(500),
    /** Period of the replication-lag alarms. A minute suits production; drills use 10 s to see them fire. */
    lagAlarmPeriodSeconds: oneOfNumbers([10, 20, 30, 60]).default(60),
    /** Canary topic produced on each cluster with acks=all and read back through MM2 on the other. */
    canaryTopic: z.string().min(1).default('mm2-failover-canary'),
    /**
     * The probe applies the alarm's rule to its own results and invokes failover itself when it holds, a
     * window plus one interval after the fault instead of after CloudWatch's evaluation (the alarm stays as the
     * backstop). false: only the alarm triggers failover.
     */
    directTrigger: z.boolean().default(true),
  })
  .strict()
  .refine((d) => d.datapointsToAlarm <= d.evaluationPeriods, {
    message: 'datapointsToAlarm (M) must not exceed evaluationPeriods (N)',
    path: ['datapointsToAlarm'],
  })
  .refine((d) => d.cycleDeadlineMs < d.probeIntervalSeconds * 1000 || d.probeIntervalSeconds === 1, {
    message: 'cycleDeadlineMs must be shorter than probeIntervalSeconds so cycles never overlap',
    path: ['cycleDeadlineMs'],
  });

const safetySchema = z
  .object({
    /** Automatic failover is refused when the last measured backlog exceeds this (records, all partitions). */
    maxLagRecords: z.int().min(0).default(10_000),
    /** ... or when the last replicated record is older than this. */
    maxLagSeconds: z.int().min(0).default(60),
    /** No automatic switch within this many minutes of the last one (stops flapping clusters ping-ponging). */
    cooldownMinutes: z.int().min(0).default(30),
    /** Refuse to fail over to an unhealthy secondary unless forced by hand. */
    requireHealthySecondary: z.boolean().default(true),
    /**
     * An interrupted failover is resumed without a new preflight only within this many minutes of its start;
     * an older one is abandoned and decided afresh (the primary may be back by then). 15 minutes is one Lambda
     * lifetime: an asynchronous retry or the next alarm comes well within it.
     */
    resumeMaxAgeMinutes: z.int().min(1).default(15),
    /**
     * A planned switchover waits at most this long, with the primary's writes fenced, for MM2 to copy everything
     * and checkpoint every group; then it lowers the fence and refuses. Writes stay stopped for the wait.
     */
    plannedDrainTimeoutSeconds: z.int().min(1).max(600).default(30),
  })
  .strict();

const kafkaConnectMirror = z
  .object({
    kind: z.literal('kafka-connect'),
    /** Connect REST URL of the worker(s) writing into the secondary (the forward mirror). */
    forwardUrl: z.url(),
    /** Connect REST URL of the worker(s) writing into the primary (the reverse mirror during failback). */
    reverseUrl: z.url(),
    /** Connector name prefix; connectors are `<prefix>-<source alias>-<target alias>-{source,checkpoint,heartbeat}`. */
    connectorPrefix: z.string().min(1).default('mm2'),
  })
  .strict();

const aivenMirror = z
  .object({
    kind: z.literal('aiven'),
    apiUrl: z.url().default('https://api.aiven.io'),
    project: z.string().min(1),
    /** The Aiven for Apache Kafka MirrorMaker 2 service. */
    service: z.string().min(1),
    /** Name of the Secrets Manager secret holding `{ "token": "..." }`. */
    tokenSecret: z.string().min(1),
  })
  .strict();

const manualMirror = z.object({ kind: z.literal('manual') }).strict();

const mirrors = [kafkaConnectMirror, aivenMirror, manualMirror] as const;
const mirrorKinds = mirrors.map((m) => m.shape.kind.value);

const failbackSchema = z
  .object({
    /** Topic on the secondary that receives the primary's never-replicated tail. */
    quarantineTopic: z.string().min(1).default('mm2-failover.quarantine'),
    /** The primary must have been healthy this long before failback starts. */
    stableSeconds: z.int().min(0).default(300),
    /** Catch-up is done when the reverse backlog is at most this many records. */
    catchUpMaxLagRecords: z.int().min(0).default(0),
    /**
     * Which clients move first. Consumers first means they drain what the reverse mirror copied before
     * producers arrive, so no record is produced where nobody reads it yet.
     */
    switchOrder: oneOf(['consumers-first', 'producers-first']).default('consumers-first'),
    /**
     * Seconds between the two stages of the switch (first role moved, then the other). At least the clients'
     * configuration refresh (5 s in the client library, up to 300 s with the Lambda extension's cache).
     */
    switchStageSeconds: z.int().min(0).max(900).default(30),
    /**
     * Before consumers move back, how long to wait for members of `consumerGroups` to leave their groups on the
     * primary (offsets are translated back only for a group without members there). A consumer that was on the
     * primary when it died stays a member of the restarted coordinator's group until its session times out
     * (kafkajs: 30 s). After the wait the switch goes on and reports the group as not translated.
     */
    groupIdleWaitSeconds: z.int().min(0).max(600).default(60),
  })
  .strict();

/** Topic settings whose difference changes how applications behave after a switch (MM2 does not sync some). */
const behaviourConfigs = [
  'cleanup.policy',
  'retention.ms',
  'retention.bytes',
  'max.message.bytes',
  'min.insync.replicas',
  'compression.type',
  'message.timestamp.type',
];

const readinessSchema = z
  .object({
    /** The probe audits the standby at its own cadence and emits `StandbyReady`; false: only `audit` by hand. */
    enabled: z.boolean().default(true),
    /** Seconds between audits inside the probe (each container audits on its first cycle, then this often). */
    intervalSeconds: z.int().min(60).max(86_400).default(300),
    /** Deadline of one audit: it runs beside the probe cycles and must end before the invocation does. */
    timeoutMs: z.int().min(1_000).max(50_000).default(20_000),
    /** Topic settings that must be equal on the mirrored copy. */
    compareConfigs: z.array(z.string().min(1)).default(behaviourConfigs),
    /** Lowest replication factor a mirrored topic may have; default the secondary's expectedBrokers, at most 3. */
    minReplicationFactor: z.int().min(1).optional(),
    /** Principals whose topic and group ACLs must exist on the secondary too, e.g. `User:orders-app`. */
    aclPrincipals: z
      .array(z.string().regex(/^[A-Za-z]+:.+$/, 'expected a Kafka principal like User:orders-app'))
      .default([]),
    /** The schema registry's storage topic (Karapace and Confluent Schema Registry: `_schemas`). */
    schemaTopic: z.string().min(1).default('_schemas'),
    /**
     * Its name on the secondary, where the standby registry reads it; default the same name (the identity
     * policy, or a registry configured with `kafkastore.topic=<primary alias>._schemas` needs this set).
     */
    schemaTopicOnSecondary: z.string().min(1).optional(),
    /** REST URLs of a Karapace or Confluent-compatible registry per cluster: subjects are compared. */
    schemaRegistry: z.object({ primary: z.url(), secondary: z.url() }).strict().optional(),
    /** What MM2's topics allow list must cover: the watched topics, or everything (`.*`). */
    mirrorTopics: z.enum(['watched', 'all']).default('watched'),
    /** `offset-syncs.topic.location` every connector must use (target: syncs survive the primary's loss). */
    offsetSyncsLocation: z.enum(['source', 'target']).default('target'),
    /** The flow's newest heartbeat on the secondary may be at most this old. */
    heartbeatMaxAgeSeconds: z.int().min(1).default(60),
    /** Finding kinds that make failover refuse (unless forced); every other `error` finding is a warning. */
    refuseFailoverOn: z.array(z.enum(findingCodes)).default([]),
  })
  .strict();

/**
 * Limits of every AWS call the functions and the CLI make (SSM, Secrets Manager, DynamoDB, SNS, Lambda): without
 * them a call an endpoint never answers holds a failover until Lambda kills it. The defaults and why they are what
 * they are: shared/store/aws-client-options.ts.
 */
const awsSchema = z
  .object({
    /** Opening the connection (TCP and TLS), per attempt. */
    connectTimeoutMs: z.int().min(100).max(30_000).default(defaultAwsCallLimits.connectTimeoutMs),
    /** One attempt of a call, the connection included: past it the attempt fails with a TimeoutError. */
    requestTimeoutMs: z.int().min(200).max(60_000).default(defaultAwsCallLimits.requestTimeoutMs),
    /** Attempts per call, the first included (throttling, 5xx, resets and timeouts are retried with back-off). */
    maxAttempts: z.int().min(1).max(10).default(defaultAwsCallLimits.maxAttempts),
  })
  .strict()
  .refine((a) => a.connectTimeoutMs <= a.requestTimeoutMs, {
    message:
      'connectTimeoutMs must not exceed requestTimeoutMs: the request timeout counts the connection too',
    path: ['connectTimeoutMs'],
  });

const vpcSchema = z
  .object({
    vpcId: z.string().startsWith('vpc-'),
    subnetIds: z.array(z.string().startsWith('subnet-')).min(1),
    securityGroupIds: z.array(z.string().startsWith('sg-')).min(1),
  })
  .strict();

/** A secret named by its full ARN: Lambda's source access configurations take ARNs, not names. */
const secretArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/,
    'expected a Secrets Manager secret ARN',
  );

/**
 * Secrets in the format Lambda's Kafka event source reads, per cluster. The active credentials secret holds mTLS
 * material as `cert`/`key`/`ca`, while Lambda reads `certificate`/`privateKey` (client certificate) and
 * `certificate` (server root CA), so mTLS needs these; SASL needs none (Lambda reads the active secret's
 * `username`/`password`).
 */
const eventSourceSecretsSchema = z
  .object({
    /** `{ certificate, privateKey }` (PEM): `CLIENT_CERTIFICATE_TLS_AUTH`, required when the cluster uses mTLS. */
    clientCertificate: secretArn.optional(),
    /** `{ certificate }` (PEM): `SERVER_ROOT_CA_CERTIFICATE`, when the brokers' certificate is from a private CA. */
    serverRootCaCertificate: secretArn.optional(),
  })
  .strict();

/** One Lambda function's Kafka event source mapping that the switch moves to the cluster clients use. */
const eventSourceMappingSchema = z
  .object({
    /** The function's name or unqualified ARN. */
    functionName: z
      .string()
      .regex(
        /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}$/,
        'expected a Lambda function name or unqualified function ARN',
      ),
    /**
     * The consumer group, one of `consumerGroups` (the switch translates offsets only for those). Lambda requires
     * it unique among all Kafka event sources, so one mapping per group.
     */
    consumerGroup: z.string().regex(/^[a-zA-Z0-9\-/*:_+=.@]{1,200}$/, 'expected a Lambda consumer group id'),
    /**
     * The logical topic, one of `topics`: the mapping reads its name on the cluster it is moved to (after a
     * failover with the default policy, `primary.orders`). One topic, because a Kafka mapping takes exactly one.
     */
    topic: z.string().min(1),
    /** Records per invocation (Lambda's Kafka range). */
    batchSize: z.int().min(1).max(10_000).default(100),
    /** Seconds Lambda may gather records before invoking. */
    maximumBatchingWindowInSeconds: z.int().min(0).max(300).optional(),
    /**
     * Where a mapping starts when its group has no committed offset on that cluster. Lambda ignores it when the
     * group has offsets there, which the switch translated; `TRIM_HORIZON` gives duplicates rather than loss.
     */
    startingPosition: oneOf(['TRIM_HORIZON', 'LATEST']).default('TRIM_HORIZON'),
    secrets: z
      .object({
        primary: eventSourceSecretsSchema.optional(),
        secondary: eventSourceSecretsSchema.optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
export type EventSourceMappingConfig = z.output<typeof eventSourceMappingSchema>;

export const deploymentConfigSchema = z
  .object({
    /** The editor's pointer to failover.config.schema.json: accepted, and dropped by the loaders. */
    $schema: z.string().optional(),
    /** The deployment; every parameter and secret lives under `/mm2-failover/<name>/`. */
    name,
    mode: oneOf(['active-passive', 'active-active']),
    replicationPolicy: oneOf(['default', 'identity']),
    /** Separator of the default replication policy (`replication.policy.separator`); part of every mirrored name. */
    separator: z.string().min(1).max(maxSeparatorLength).default('.'),
    clusters: z.object({ primary: clusterSchema, secondary: clusterSchema }).strict(),
    /**
     * Active-passive with the default policy: where clients go on the secondary after a failover. `mirrored`
     * (default): producers write into `primary.<topic>` beside what MM2 copied, consumers read on there. `local`:
     * producers write into `<topic>` on the secondary, consumers first finish `primary.<topic>` and then read
     * `<topic>` (drain-then-switch, as active-active does). Ignored with the identity policy and in active-active.
     */
    failoverTopics: oneOf(['mirrored', 'local']).default('mirrored'),
    /** Logical topic names to watch and map. */
    topics: z
      .array(topicName)
      .min(1)
      .max(maxTopics, `expected at most ${maxTopics} topics (the largest deployment tested)`),
    consumerGroups: z
      .array(z.string().min(1).max(maxGroupIdLength))
      .max(
        maxConsumerGroups,
        `expected at most ${maxConsumerGroups} consumer groups (the largest deployment tested)`,
      )
      .default([]),
    detection: detectionSchema.default(detectionSchema.parse({})),
    safety: safetySchema.default(safetySchema.parse({})),
    mirror: z.discriminatedUnion('kind', mirrors, {
      error: (i) =>
        typeof i.input === 'object' && i.input !== null && !Array.isArray(i.input)
          ? `expected one of ${listed(mirrorKinds)}, got ${given((i.input as { kind?: unknown }).kind)}`
          : `expected an object with kind one of ${listed(mirrorKinds)}, got ${given(i.input)}`,
    }),
    failback: failbackSchema.default(failbackSchema.parse({})),
    /** The standby readiness audit (shared/readiness). */
    readiness: readinessSchema.default(readinessSchema.parse({})),
    notifications: z
      .object({ emails: z.array(z.email()).default([]) })
      .strict()
      .default({ emails: [] }),
    /** Extra regions the active configuration is also written to (clients there read it locally). */
    regions: z
      .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region like eu-west-1'))
      .default([]),
    vpc: vpcSchema.optional(),
    aws: awsSchema.default(awsSchema.parse({})),
    /**
     * Lambda functions behind a self-managed Kafka event source mapping: failover and failback move each mapping
     * to the cluster consumers use (shared/switch/event-source-mappings.ts).
     */
    eventSourceMappings: z.array(eventSourceMappingSchema).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    checkEventSourceMappings(c, ctx);
    if (c.clusters.primary.alias === c.clusters.secondary.alias) {
      ctx.addIssue({
        code: 'custom',
        path: ['clusters', 'secondary', 'alias'],
        message: 'must differ from the primary alias',
      });
    }
    if (c.mode === 'active-active' && c.replicationPolicy === 'identity') {
      ctx.addIssue({
        code: 'custom',
        path: ['replicationPolicy'],
        message: "active-active needs 'default': IdentityReplicationPolicy cannot detect replication cycles",
      });
    }
    const seen = new Set<string>();
    c.topics.forEach((t, i) => {
      if (seen.has(t))
        ctx.addIssue({ code: 'custom', path: ['topics', i], message: `duplicate topic '${t}'` });
      seen.add(t);
    });
  });

/** What the schema outputs, `$schema` included; the loaders (load.ts) drop it. */
export type DeploymentConfigWithPointer = z.output<typeof deploymentConfigSchema>;
/** The validated config, defaults filled in, without the editor's `$schema` pointer. */
export type DeploymentConfig = Omit<DeploymentConfigWithPointer, '$schema'>;
export type DeploymentConfigInput = z.input<typeof deploymentConfigSchema>;
export type ClusterRole = 'primary' | 'secondary';

export const clusterRoles: readonly ClusterRole[] = ['primary', 'secondary'];

/** What a mapping needs that one field alone cannot say: its group, topic and cluster auth fit the rest. */
function checkEventSourceMappings(
  c: Pick<DeploymentConfig, 'eventSourceMappings' | 'consumerGroups' | 'topics' | 'mode' | 'clusters'>,
  ctx: z.RefinementCtx,
): void {
  const groups = new Set<string>();
  c.eventSourceMappings.forEach((m, i) => {
    const at = (...path: (string | number)[]) => ['eventSourceMappings', i, ...path];
    if (!c.consumerGroups.includes(m.consumerGroup)) {
      ctx.addIssue({
        code: 'custom',
        path: at('consumerGroup'),
        message: `expected one of consumerGroups (${listed(c.consumerGroups) || 'none listed'}), whose offsets the switch translates, got '${m.consumerGroup}'`,
      });
    }
    if (groups.has(m.consumerGroup)) {
      ctx.addIssue({
        code: 'custom',
        path: at('consumerGroup'),
        message: `duplicate consumer group '${m.consumerGroup}': Lambda requires a group unique among Kafka event sources`,
      });
    }
    groups.add(m.consumerGroup);
    if (!c.topics.includes(m.topic)) {
      ctx.addIssue({
        code: 'custom',
        path: at('topic'),
        message: `expected one of topics (${listed(c.topics)}), got '${m.topic}'`,
      });
    }
    if (c.mode === 'active-active') {
      ctx.addIssue({
        code: 'custom',
        path: at(),
        message:
          'active-active consumers read two topics per logical topic (local and mirrored), but a Kafka event source mapping reads one topic and its group may be used by no other mapping: not supported',
      });
    }
    for (const role of clusterRoles) {
      const auth = c.clusters[role].auth;
      if (auth === 'msk-iam') {
        ctx.addIssue({
          code: 'custom',
          path: at(),
          message: `the ${role} cluster uses msk-iam, which a self-managed Kafka event source cannot use (an MSK event source is not supported yet)`,
        });
      }
      if (auth === 'mtls' && m.secrets[role]?.clientCertificate === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: at('secrets', role, 'clientCertificate'),
          message: `the ${role} cluster uses mtls: expected the ARN of a { certificate, privateKey } secret for Lambda's CLIENT_CERTIFICATE_TLS_AUTH, got nothing`,
        });
      }
    }
  });
}
