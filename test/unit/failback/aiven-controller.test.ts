import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MirrorControlError } from '#shared/errors.ts';
import { AivenController } from '#shared/failback/aiven-controller.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { type FakeAivenApi, startFakeAivenApi } from '../../fakes/aiven-api.ts';

const TOKEN = 'tok-3f9a';
const BASE = '/v1/project/acme/service/mm2-dr/mirrormaker/replication-flows';
const forwardFlow = {
  source_cluster: 'primary',
  target_cluster: 'secondary',
  enabled: true,
  topics: ['.*'],
  'topics.blacklist': ['.*[\\-\\.]internal', '.*\\.replica', '__.*'],
  replication_policy_class: 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy',
  sync_group_offsets_enabled: true,
  offset_syncs_topic_location: 'target',
};
const spec = {
  topics: ['orders', 'payments'],
  excludeTopics: ['mm2-failover.quarantine'],
  groups: ['billing'],
  runId: 'run-A',
  requestedBefore: false,
};

describe('AivenController against a local fake of the replication-flow API', () => {
  let api: FakeAivenApi;
  let controller: AivenController;
  beforeEach(async () => {
    api = await startFakeAivenApi({ project: 'acme', service: 'mm2-dr', token: TOKEN, flows: [forwardFlow] });
    controller = new AivenController({
      apiUrl: api.url,
      project: 'acme',
      service: 'mm2-dr',
      token: async () => new Redacted(TOKEN),
      primaryAlias: 'primary',
      secondaryAlias: 'secondary',
    });
  });
  afterEach(async () => {
    await api.close();
  });

  it('disables the forward flow with a PUT carrying only enabled: false and the aivenv1 token', async () => {
    // Act
    const outcome = await controller.stopForward();

    // Assert
    expect(outcome.done).toBe(true);
    expect(api.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ['GET', `${BASE}/primary/secondary`, 200],
      ['PUT', `${BASE}/primary/secondary`, 200],
    ]);
    expect(api.requests[1]?.body).toEqual({ enabled: false });
    expect(api.requests.every((r) => r.authorization === `aivenv1 ${TOKEN}`)).toBe(true);
    expect(api.requests[1]?.contentType).toBe('application/json');
    expect(api.flows.get('primary/secondary')?.enabled).toBe(false);
  });

  it('is idempotent: a forward flow already disabled is left alone', async () => {
    // Arrange
    await controller.stopForward();
    api.requests.length = 0;

    // Act
    await controller.stopForward();

    // Assert
    expect(api.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it("creates the reverse flow with the forward flow's settings, aliases swapped, the topics and the quarantine excluded", async () => {
    // Act
    const outcome = await controller.startReverse(spec);

    // Assert
    expect(outcome.done).toBe(true);
    const post = api.requests.find((r) => r.method === 'POST');
    expect(post?.path).toBe(BASE);
    expect(post?.status).toBe(200);
    expect(post?.body).toEqual({
      source_cluster: 'secondary',
      target_cluster: 'primary',
      enabled: true,
      topics: ['orders', 'payments'],
      'topics.blacklist': ['.*[\\-\\.]internal', '.*\\.replica', '__.*', 'mm2-failover\\.quarantine'],
      replication_policy_class: 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy',
      sync_group_offsets_enabled: true,
      offset_syncs_topic_location: 'target',
    });
  });

  it('refuses a reverse flow it did not create, because its stored offsets cannot be reset through the API', async () => {
    // Arrange
    api.flows.set('secondary/primary', {
      source_cluster: 'secondary',
      target_cluster: 'primary',
      enabled: false,
    });

    // Act
    const started = controller.startReverse(spec);

    // Assert
    await expect(started).rejects.toBeInstanceOf(MirrorControlError);
    await expect(started).rejects.toThrow('cannot reset its offsets');
    expect(api.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('enables a reverse flow that an earlier invocation of the same failback created', async () => {
    // Arrange
    api.flows.set('secondary/primary', {
      source_cluster: 'secondary',
      target_cluster: 'primary',
      enabled: false,
    });

    // Act
    await controller.startReverse({ ...spec, requestedBefore: true });

    // Assert
    expect(api.flows.get('secondary/primary')?.enabled).toBe(true);
  });

  it('deletes the reverse flow and re-enables the forward one on restore', async () => {
    // Arrange
    await controller.stopForward();
    await controller.startReverse(spec);
    api.requests.length = 0;

    // Act
    await controller.removeReverse();
    await controller.startForward();

    // Assert
    expect(api.requests.map((r) => [r.method, r.path])).toEqual([
      ['DELETE', `${BASE}/secondary/primary`],
      ['GET', `${BASE}/primary/secondary`],
      ['PUT', `${BASE}/primary/secondary`],
    ]);
    expect(api.flows.has('secondary/primary')).toBe(false);
    expect(api.flows.get('primary/secondary')?.enabled).toBe(true);
    expect(controller.canSetForwardOffsets).toBe(false);
  });

  it('treats removing an absent reverse flow as done', async () => {
    // Act
    const outcome = await controller.removeReverse();

    // Assert
    expect(outcome).toEqual({ done: true, detail: 'no replication flow secondary → primary' });
  });

  it("fails with the status and Aiven's message when the token is refused, never echoing the token", async () => {
    // Arrange
    const wrong = new AivenController({
      apiUrl: api.url,
      project: 'acme',
      service: 'mm2-dr',
      token: async () => new Redacted('stolen-token'),
      primaryAlias: 'primary',
      secondaryAlias: 'secondary',
    });

    // Act
    const e = await wrong.stopForward().catch((x: unknown) => x);

    // Assert
    expect(e).toBeInstanceOf(MirrorControlError);
    expect((e as MirrorControlError).status).toBe(403);
    expect((e as Error).message).toContain('Authentication failed');
    expect((e as Error).message).not.toContain('stolen-token');
  });

  it('names the service when the project or service is wrong', async () => {
    // Arrange
    const lost = new AivenController({
      apiUrl: api.url,
      project: 'acme',
      service: 'nope',
      token: async () => new Redacted(TOKEN),
      primaryAlias: 'primary',
      secondaryAlias: 'secondary',
    });

    // Act
    const e = await lost.startForward().catch((x: unknown) => x);

    // Assert
    expect((e as Error).message).toContain('no replication flow primary → secondary on Aiven service nope');
  });
});

describe('the fake Aiven API itself', () => {
  it('rejects what the documented API rejects: unknown fields, missing required fields, bad enums', async () => {
    // Arrange
    const api = await startFakeAivenApi({ project: 'p', service: 's', token: 't' });
    const post = (body: unknown) =>
      fetch(`${api.url}/v1/project/p/service/s/mirrormaker/replication-flows`, {
        method: 'POST',
        headers: { authorization: 'aivenv1 t', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    try {
      // Act
      const unknown = await post({ source_cluster: 'a', target_cluster: 'b', enabled: true, colour: 'red' });
      const missing = await post({ source_cluster: 'a' });
      const badEnum = await post({
        source_cluster: 'a',
        target_cluster: 'b',
        enabled: true,
        offset_syncs_topic_location: 'moon',
      });

      // Assert
      expect(unknown.status).toBe(400);
      expect(((await unknown.json()) as { message: string }).message).toContain('colour: unknown field');
      expect(missing.status).toBe(400);
      expect(((await missing.json()) as { message: string }).message).toContain('enabled: required');
      expect(badEnum.status).toBe(400);
    } finally {
      await api.close();
    }
  });
});
