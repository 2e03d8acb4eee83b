import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import { ValidationError } from '#shared/errors.ts';

const example = JSON.parse(readFileSync('failover.config.json', 'utf8')) as Record<string, unknown>;

describe('deployment config: readiness', () => {
  it('audits every 5 minutes by default, comparing the settings that change behaviour', () => {
    const { readiness } = parseDeploymentConfig(example);
    expect(readiness).toEqual({
      enabled: true,
      intervalSeconds: 300,
      timeoutMs: 20_000,
      compareConfigs: [
        'cleanup.policy',
        'retention.ms',
        'retention.bytes',
        'max.message.bytes',
        'min.insync.replicas',
        'compression.type',
        'message.timestamp.type',
      ],
      aclPrincipals: [],
      schemaTopic: '_schemas',
      mirrorTopics: 'watched',
      offsetSyncsLocation: 'target',
      heartbeatMaxAgeSeconds: 60,
      refuseFailoverOn: [],
    });
  });

  it('names every wrong readiness setting by path', () => {
    let problems: string[] = [];
    try {
      parseDeploymentConfig({
        ...example,
        readiness: {
          intervalSeconds: 10,
          aclPrincipals: ['orders-app'],
          refuseFailoverOn: ['topic-gone'],
          schemaRegistry: { primary: 'not a url', secondary: 'http://registry:8081' },
          colour: 'blue',
        },
      });
    } catch (e: unknown) {
      if (!(e instanceof ValidationError)) throw e;
      problems = e.problems.map((p) => p.path);
    }
    expect(problems.sort()).toEqual(
      [
        'readiness',
        'readiness.aclPrincipals[0]',
        'readiness.intervalSeconds',
        'readiness.refuseFailoverOn[0]',
        'readiness.schemaRegistry.primary',
      ].sort(),
    );
  });
});
