import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { coldStart } from '#functions/common/cold-start.ts';
import { parseOrThrow } from '#shared/config/validate.ts';
import { ValidationError } from '#shared/errors.ts';
import { writeConfigFile } from '../../fakes/config-file.ts';
import { testConfig } from '../failover/fakes.ts';

const configFile = writeConfigFile(testConfig());
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  MM2_FAILOVER_CONFIG_FILE: configFile,
  ...extra,
});
const tableSchema = z.object({ MM2_FAILOVER_TABLE: z.string().min(1) });
const readTable = (e: NodeJS.ProcessEnv) => parseOrThrow(tableSchema, e, 'environment');

/** The first log line the logger prints, parsed. */
function firstLogLine(log: () => void): Record<string, unknown> {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    log();
    return JSON.parse(String(write.mock.calls[0]?.[0]));
  } finally {
    write.mockRestore();
  }
}

describe('coldStart', () => {
  it('reads the config and the variables through the function schema', () => {
    const start = coldStart('status', readTable, env({ MM2_FAILOVER_TABLE: 'locks' }));

    expect(start.config.name).toBe('orders-dr');
    expect(start.variables).toEqual({ MM2_FAILOVER_TABLE: 'locks' });
  });

  it('fails naming the config variable when the bundled config file is missing, and the file', () => {
    const missing = `${configFile}.gone`;
    const start = () => coldStart('status', readTable, env({ MM2_FAILOVER_CONFIG_FILE: missing }));

    expect(start).toThrow(ValidationError);
    expect(start).toThrow(`invalid deployment config ${missing} (MM2_FAILOVER_CONFIG_FILE)`);
    expect(start).toThrow(/cannot read the file \(ENOENT\)/);
  });

  it('fails naming the variable that is missing', () => {
    const start = () => coldStart('status', readTable, env());

    expect(start).toThrow(ValidationError);
    expect(start).toThrow(/MM2_FAILOVER_TABLE/);
  });

  it('names the service after POWERTOOLS_SERVICE_NAME and keys every line with the deployment and the function', () => {
    const { logger } = coldStart(
      'failback',
      undefined,
      env({ POWERTOOLS_SERVICE_NAME: 'mm2-failover-failback-prod' }),
    );

    const line = firstLogLine(() => logger.info('hello'));

    expect(line).toMatchObject({
      service: 'mm2-failover-failback-prod',
      deployment: 'orders-dr',
      fn: 'failback',
      message: 'hello',
    });
  });

  it('names the service mm2-failover-<fn> where the environment does not say', () => {
    const { logger } = coldStart('probe', undefined, env());

    expect(firstLogLine(() => logger.info('hello'))).toMatchObject({
      service: 'mm2-failover-probe',
      fn: 'probe',
    });
  });
});
