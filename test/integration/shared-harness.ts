// The harness as seen from a test file (a vitest worker): the info that global-setup.ts provided, and fault
// control through the harness owner's control server.
import { inject } from 'vitest';
import type { HarnessControl } from '#harness/harness-control.ts';
import type { ClusterName, HarnessInfo } from '#harness/info.ts';

/**
 * The shared harness of the integration project (default policy, Connect mode, mTLS listener, moto).
 *
 * @example
 * const h = harness();
 * const producer = kafkaClient(h.info, 'primary').producer();
 * await h.kill('primary');
 */
export function harness(): HarnessControl {
  return controlClient(inject('harness'));
}

/** {@link HarnessControl} over HTTP, for any process that knows a running harness's info. */
function controlClient(info: HarnessInfo): HarnessControl {
  const { controlUrl } = info;
  if (controlUrl === undefined) throw new Error(`harness ${info.runId} runs without a control server`);
  const post = async (route: string): Promise<unknown> => {
    const response = await fetch(`${controlUrl}${route}`, { method: 'POST' });
    const body: unknown = await response.json();
    if (!response.ok) {
      const message = typeof body === 'object' && body !== null && 'error' in body ? String(body.error) : '';
      throw new Error(`harness control POST ${route} failed (${response.status}): ${message}`);
    }
    return body;
  };
  const cluster = (action: string) => async (name: ClusterName) => {
    await post(`/clusters/${name}/${action}`);
  };
  const call = (route: string) => async () => {
    await post(route);
  };
  return {
    info,
    kill: cluster('kill'),
    hang: cluster('hang'),
    resume: cluster('resume'),
    restart: cluster('restart'),
    stopMirror: call('/mm2/stop'),
    startMirror: call('/mm2/start'),
    pauseMirror: call('/mm2/pause'),
    resumeMirror: call('/mm2/resume'),
    startReverseWorker: async () => {
      await post('/reverse-worker/start');
      return { connectUrl: info.reverseWorker.connectUrl };
    },
    stopReverseWorker: call('/reverse-worker/stop'),
    resetMoto: call('/moto/reset'),
  };
}
