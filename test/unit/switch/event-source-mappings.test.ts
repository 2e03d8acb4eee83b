import {
  CreateEventSourceMappingCommand,
  type EventSourceMappingConfiguration,
  LambdaClient,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import type { DeploymentConfigInput } from '#shared/config/schema.ts';
import { topicMapping } from '#shared/config/topic-mapping.ts';
import { type Claim, EpochClaimLostError } from '#shared/switch/epoch-authority.ts';
import {
  journaledMappingMoves,
  type MappingMove,
  moveEventSourceMappings,
  secretArnOf,
} from '#shared/switch/event-source-mappings.ts';

const lambda = mockClient(LambdaClient);
const sm = mockClient(SecretsManagerClient);

const ACTIVE_ARN =
  'arn:aws:secretsmanager:eu-west-1:111122223333:secret:mm2-failover/orders-dr/active-credentials-AbCdEf';
const PRIMARY = ['p1:9096', 'p2:9096'];
const SECONDARY = ['s1:9096', 's2:9096'];

function config(overrides: Partial<DeploymentConfigInput> = {}) {
  return parseDeploymentConfig({
    name: 'orders-dr',
    mode: 'active-passive',
    replicationPolicy: 'default',
    clusters: {
      primary: { alias: 'primary', auth: 'sasl-scram' },
      secondary: { alias: 'secondary', auth: 'sasl-scram' },
    },
    topics: ['orders', 'payments'],
    consumerGroups: ['billing', 'shipping'],
    mirror: { kind: 'manual' },
    eventSourceMappings: [
      { functionName: 'billing-fn', consumerGroup: 'billing', topic: 'orders' },
      { functionName: 'shipping-fn', consumerGroup: 'shipping', topic: 'payments', batchSize: 50 },
    ],
    ...overrides,
  });
}

function target(c: ReturnType<typeof config>, cluster: 'primary' | 'secondary') {
  return {
    cluster,
    bootstrapServers: cluster === 'primary' ? PRIMARY : SECONDARY,
    topics: topicMapping(c, cluster),
  } satisfies Pick<ActiveConfig, 'cluster' | 'bootstrapServers' | 'topics'>;
}

const claim = { record: { epoch: 2 }, leaseUntil: 0 } as unknown as Claim;

function mapping(
  uuid: string,
  o: { servers: string[]; topic: string; group: string; state: string },
): EventSourceMappingConfiguration {
  return {
    UUID: uuid,
    State: o.state,
    Topics: [o.topic],
    SelfManagedEventSource: { Endpoints: { KAFKA_BOOTSTRAP_SERVERS: o.servers } },
    SelfManagedKafkaEventSourceConfig: { ConsumerGroupId: o.group },
  };
}

/** Everything that happened, in order: the authority's checks and Lambda's writes. */
let events: string[];
let moves: Array<{ key: string; move: MappingMove }>;

function deps(check: () => Promise<void> = async () => undefined) {
  return {
    lambda: new LambdaClient({}),
    secretArn: secretArnOf(new SecretsManagerClient({})),
    authority: {
      check: async (c: Claim) => {
        events.push('check');
        await check();
        return c;
      },
    },
    logger: { info: () => undefined, warn: () => undefined },
  };
}

function input(t: ReturnType<typeof target>, done: string[] = []) {
  return {
    claim,
    target: t,
    done: (key: string) => done.includes(key),
    onMoved: async (key: string, move: MappingMove) => {
      moves.push({ key, move });
    },
  };
}

function listing(byFunction: Record<string, EventSourceMappingConfiguration[]>) {
  lambda.on(ListEventSourceMappingsCommand).callsFake((i: { FunctionName?: string }) => ({
    EventSourceMappings: byFunction[i.FunctionName ?? ''] ?? [],
  }));
}

describe('moveEventSourceMappings', () => {
  beforeEach(() => {
    lambda.reset();
    sm.reset();
    events = [];
    moves = [];
    sm.on(DescribeSecretCommand).resolves({ ARN: ACTIVE_ARN });
    lambda.on(UpdateEventSourceMappingCommand).callsFake((i: { UUID: string; Enabled: boolean }) => {
      events.push(`update ${i.UUID} enabled=${i.Enabled}`);
      return { UUID: i.UUID };
    });
    lambda.on(CreateEventSourceMappingCommand).callsFake((i: { FunctionName: string }) => {
      events.push(`create ${i.FunctionName}`);
      return { UUID: `new-${i.FunctionName}` };
    });
  });

  it('on failover disables the mapping on the primary, then creates one on the secondary with the active secret and the same group', async () => {
    const c = config();
    listing({
      'billing-fn': [
        mapping('old-b', { servers: PRIMARY, topic: 'orders', group: 'billing', state: 'Enabled' }),
      ],
    });

    const out = await moveEventSourceMappings(
      input(target(c, 'secondary')),
      { config: c, activeCredentialsSecret: 'mm2-failover/orders-dr/active-credentials' },
      deps(),
    );

    expect(events).toEqual([
      'check',
      'update old-b enabled=false',
      'check',
      'create billing-fn',
      'check',
      'create shipping-fn',
    ]);
    expect(lambda.commandCalls(CreateEventSourceMappingCommand)[0]?.args[0].input).toEqual({
      FunctionName: 'billing-fn',
      Enabled: true,
      Topics: ['primary.orders'],
      BatchSize: 100,
      StartingPosition: 'TRIM_HORIZON',
      SelfManagedEventSource: { Endpoints: { KAFKA_BOOTSTRAP_SERVERS: SECONDARY } },
      SelfManagedKafkaEventSourceConfig: { ConsumerGroupId: 'billing' },
      SourceAccessConfigurations: [{ Type: 'SASL_SCRAM_512_AUTH', URI: ACTIVE_ARN }],
    });
    expect(lambda.commandCalls(CreateEventSourceMappingCommand)[1]?.args[0].input.BatchSize).toBe(50);
    expect(out).toEqual([
      {
        functionName: 'billing-fn',
        consumerGroup: 'billing',
        cluster: 'secondary',
        topic: 'primary.orders',
        ok: true,
        target: 'created',
        uuid: 'new-billing-fn',
        disabled: ['old-b'],
      },
      expect.objectContaining({ functionName: 'shipping-fn', ok: true, target: 'created', disabled: [] }),
    ]);
    expect(moves.map((m) => m.key)).toEqual([
      'event-source-mapping:billing-fn:billing',
      'event-source-mapping:shipping-fn:shipping',
    ]);
  });

  it('on failback enables the disabled mapping on the primary instead of creating a second one', async () => {
    const c = config();
    listing({
      'billing-fn': [
        mapping('old-b', { servers: PRIMARY, topic: 'orders', group: 'billing', state: 'Disabled' }),
        mapping('new-b', { servers: SECONDARY, topic: 'primary.orders', group: 'billing', state: 'Enabled' }),
      ],
      'shipping-fn': [
        mapping('old-s', { servers: PRIMARY, topic: 'payments', group: 'shipping', state: 'Disabled' }),
        mapping('new-s', {
          servers: SECONDARY,
          topic: 'primary.payments',
          group: 'shipping',
          state: 'Disabled',
        }),
      ],
    });

    const out = await moveEventSourceMappings(
      input(target(c, 'primary')),
      { config: c, activeCredentialsSecret: 'mm2-failover/orders-dr/active-credentials' },
      deps(),
    );

    expect(events).toEqual([
      'check',
      'update new-b enabled=false',
      'check',
      'update old-b enabled=true',
      'check',
      'update old-s enabled=true',
    ]);
    expect(lambda.commandCalls(CreateEventSourceMappingCommand)).toHaveLength(0);
    expect(out.map((m) => [m.target, m.uuid, m.disabled])).toEqual([
      ['enabled', 'old-b', ['new-b']],
      ['enabled', 'old-s', []],
    ]);
  });

  it('resumed after a crash, skips journaled mappings and finds the one created before the crash', async () => {
    const c = config();
    listing({
      'shipping-fn': [
        mapping('old-s', { servers: PRIMARY, topic: 'payments', group: 'shipping', state: 'Disabled' }),
        // Created by the crashed invocation, which died before journaling it; server order differs.
        mapping('made-s', {
          servers: [...SECONDARY].reverse(),
          topic: 'primary.payments',
          group: 'shipping',
          state: 'Enabled',
        }),
      ],
    });

    const out = await moveEventSourceMappings(
      input(target(c, 'secondary'), ['event-source-mapping:billing-fn:billing']),
      { config: c, activeCredentialsSecret: 'mm2-failover/orders-dr/active-credentials' },
      deps(),
    );

    expect(events).toEqual([]);
    expect(
      lambda.commandCalls(ListEventSourceMappingsCommand).map((call) => call.args[0].input.FunctionName),
    ).toEqual(['shipping-fn']);
    expect(out).toEqual([expect.objectContaining({ target: 'already-enabled', uuid: 'made-s', ok: true })]);
  });

  it('fenced out, throws the authority refusal and moves nothing', async () => {
    const c = config();
    listing({
      'billing-fn': [
        mapping('old-b', { servers: PRIMARY, topic: 'orders', group: 'billing', state: 'Enabled' }),
      ],
    });
    const lost = new EpochClaimLostError('check', 2, 3);

    await expect(
      moveEventSourceMappings(
        input(target(c, 'secondary')),
        { config: c, activeCredentialsSecret: 'mm2-failover/orders-dr/active-credentials' },
        deps(async () => {
          throw lost;
        }),
      ),
    ).rejects.toBe(lost);
    expect(lambda.commandCalls(UpdateEventSourceMappingCommand)).toHaveLength(0);
    expect(lambda.commandCalls(CreateEventSourceMappingCommand)).toHaveLength(0);
    expect(moves).toEqual([]);
  });

  it('records a mapping Lambda refuses and still moves the next one', async () => {
    const c = config();
    listing({});
    lambda
      .on(CreateEventSourceMappingCommand, { FunctionName: 'billing-fn' })
      .rejects(
        Object.assign(new Error('Missing EventSourceArn'), { name: 'InvalidParameterValueException' }),
      );

    const out = await moveEventSourceMappings(
      input(target(c, 'secondary')),
      { config: c, activeCredentialsSecret: 'mm2-failover/orders-dr/active-credentials' },
      deps(),
    );

    expect(out).toEqual([
      expect.objectContaining({
        functionName: 'billing-fn',
        ok: false,
        target: 'not-moved',
        error: 'InvalidParameterValueException: Missing EventSourceArn',
      }),
      expect.objectContaining({ functionName: 'shipping-fn', ok: true, target: 'created' }),
    ]);
    expect(moves.map((m) => m.move.ok)).toEqual([false, true]);
  });

  it('over mTLS in a VPC uses the configured client certificate and CA secrets and the functions subnets', async () => {
    const cert = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:billing-secondary-cert-Xy12';
    const ca = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:secondary-ca-Xy12';
    const c = config({
      clusters: {
        primary: { alias: 'primary', auth: 'mtls' },
        secondary: { alias: 'secondary', auth: 'mtls' },
      },
      vpc: { vpcId: 'vpc-1', subnetIds: ['subnet-a', 'subnet-b'], securityGroupIds: ['sg-1'] },
      eventSourceMappings: [
        {
          functionName: 'billing-fn',
          consumerGroup: 'billing',
          topic: 'orders',
          secrets: {
            primary: { clientCertificate: cert },
            secondary: { clientCertificate: cert, serverRootCaCertificate: ca },
          },
        },
      ],
    });
    listing({});

    await moveEventSourceMappings(
      input(target(c, 'secondary')),
      { config: c, activeCredentialsSecret: 'mm2-failover/orders-dr/active-credentials' },
      deps(),
    );

    expect(
      lambda.commandCalls(CreateEventSourceMappingCommand)[0]?.args[0].input.SourceAccessConfigurations,
    ).toEqual([
      { Type: 'CLIENT_CERTIFICATE_TLS_AUTH', URI: cert },
      { Type: 'SERVER_ROOT_CA_CERTIFICATE', URI: ca },
      { Type: 'VPC_SUBNET', URI: 'subnet:subnet-a' },
      { Type: 'VPC_SUBNET', URI: 'subnet:subnet-b' },
      { Type: 'VPC_SECURITY_GROUP', URI: 'security_group:sg-1' },
    ]);
    expect(sm.commandCalls(DescribeSecretCommand)).toHaveLength(0);
  });

  it('reads every page of the function mappings before deciding to create', async () => {
    const c = config({
      eventSourceMappings: [{ functionName: 'billing-fn', consumerGroup: 'billing', topic: 'orders' }],
    });
    lambda.on(ListEventSourceMappingsCommand).callsFake((i: { Marker?: string }) =>
      i.Marker === 'page-2'
        ? {
            EventSourceMappings: [
              mapping('there', {
                servers: SECONDARY,
                topic: 'primary.orders',
                group: 'billing',
                state: 'Enabled',
              }),
            ],
          }
        : { EventSourceMappings: [], NextMarker: 'page-2' },
    );

    const out = await moveEventSourceMappings(
      input(target(c, 'secondary')),
      { config: c, activeCredentialsSecret: 'mm2-failover/orders-dr/active-credentials' },
      deps(),
    );

    expect(out[0]).toEqual(expect.objectContaining({ target: 'already-enabled', uuid: 'there' }));
    expect(lambda.commandCalls(CreateEventSourceMappingCommand)).toHaveLength(0);
  });
});

describe('journaledMappingMoves', () => {
  it('reads the moves back from journaled steps and ignores the other steps', () => {
    const move: MappingMove = {
      functionName: 'billing-fn',
      consumerGroup: 'billing',
      cluster: 'secondary',
      topic: 'primary.orders',
      ok: true,
      target: 'created',
      uuid: 'u',
      disabled: [],
    };
    const steps = new Map<string, unknown>([
      ['offsets', { groups: [], at: '2026-12-03T00:00:00.000Z' }],
      ['event-source-mapping:billing-fn:billing', { ...move, at: '2026-12-03T00:00:01.000Z' }],
    ]);

    expect(journaledMappingMoves(steps)).toEqual([move]);
  });
});
