import {
  type ActiveConfig,
  type ActiveCredentials,
  activeConfigSchema,
  activeCredentialsSchema,
  type ClusterCredentials,
  type ClusterParameter,
  clusterCredentialsSchema,
  clusterParameterSchema,
  secretValueMaxBytes,
  standardParameterMaxChars,
} from '../config/contract.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import type { ClusterRole } from '../config/schema.ts';
import { parseJsonOrThrow } from '../config/validate.ts';
import { MissingConfigurationError, ValidationError } from '../errors.ts';
import { Redacted } from './redacted.ts';
import type { CallOptions, ParameterStore, SecretStore } from './stores.ts';

export interface Stores {
  parameters: ParameterStore;
  secrets: SecretStore;
}

/** A cluster as the operator described it: its parameter, and its credentials (redacted). */
export interface ClusterDefinition {
  role: ClusterRole;
  parameter: ClusterParameter;
  credentials: Redacted<ClusterCredentials>;
}

export async function readClusterDefinition(
  stores: Stores,
  paths: DeploymentPaths,
  role: ClusterRole,
  secretId = paths.clusterSecret(role),
): Promise<ClusterDefinition> {
  const name = paths.clusterParameter(role);
  const [param, secret] = await Promise.all([stores.parameters.get(name), stores.secrets.get(secretId)]);
  if (!param)
    throw new MissingConfigurationError(`parameter ${name} (the ${role} cluster's bootstrap and protocol)`);
  if (!secret) throw new MissingConfigurationError(`secret ${secretId} (the ${role} cluster's credentials)`);
  const parameter = parseJsonOrThrow(clusterParameterSchema, param.value, `parameter ${name}`);
  // The secret's text is never echoed: a JSON error message would quote it.
  const credentials = parseSecretJson(secret, `secret ${secretId}`);
  return { role, parameter, credentials: new Redacted(credentials) };
}

/** A cluster's credentials alone, from the operator's secret `secretId` (redacted; never echoed on error). */
export async function readClusterCredentials(
  stores: Stores,
  secretId: string,
): Promise<Redacted<ClusterCredentials>> {
  const secret = await stores.secrets.get(secretId);
  if (!secret) throw new MissingConfigurationError(`secret ${secretId} (a cluster's credentials)`);
  return new Redacted(parseSecretJson(secret, `secret ${secretId}`));
}

function parseSecretJson(secret: Redacted<string>, subject: string): ClusterCredentials {
  let value: unknown;
  try {
    value = JSON.parse(secret.reveal());
  } catch {
    value = Symbol('not JSON');
  }
  const result = clusterCredentialsSchema.safeParse(value);
  if (!result.success) {
    // Only paths and the kinds of problem: never the values.
    throw new MissingConfigurationError(
      `${subject} in a usable form: expected JSON { ca?, cert, key } or { username, password }`,
    );
  }
  return result.data;
}

/** What one read of the active configuration found. */
export type ActiveRead =
  | {
      kind: 'consistent';
      config: ActiveConfig;
      credentials: Redacted<ActiveCredentials>;
      parameterVersion: number;
    }
  /** The parameter's epoch differs from the secret's: a switch is in flight; read again. */
  | { kind: 'torn'; parameterEpoch: number; secretEpoch: number }
  | { kind: 'absent' };

/** Read the active parameter and secret once, and say whether they agree. Never returns a mixed pair. */
export async function readActiveOnce(stores: Stores, paths: DeploymentPaths): Promise<ActiveRead> {
  const param = await stores.parameters.get(paths.activeParameter);
  if (!param) return { kind: 'absent' };
  const config = parseJsonOrThrow(activeConfigSchema, param.value, `parameter ${paths.activeParameter}`);
  const secret = await stores.secrets.get(paths.activeCredentialsSecret);
  if (!secret) throw new MissingConfigurationError(`secret ${paths.activeCredentialsSecret}`);
  let raw: unknown;
  try {
    raw = JSON.parse(secret.reveal());
  } catch {
    raw = undefined;
  }
  const creds = activeCredentialsSchema.safeParse(raw);
  if (!creds.success) {
    throw new MissingConfigurationError(
      `secret ${paths.activeCredentialsSecret} in a usable form: expected JSON { epoch, cluster, ...credentials }`,
    );
  }
  if (creds.data.epoch !== config.epoch || creds.data.cluster !== config.cluster) {
    return { kind: 'torn', parameterEpoch: config.epoch, secretEpoch: creds.data.epoch };
  }
  return {
    kind: 'consistent',
    config,
    credentials: new Redacted(creds.data),
    parameterVersion: param.version,
  };
}

/**
 * The credentials a switch writes into the active-credentials secret: the active cluster's, and during a staged
 * failback switch those of the cluster the held-back role stays on (required exactly when `next.holdback` is set).
 */
export interface ActiveWriteCredentials {
  active: Redacted<ClusterCredentials>;
  holdback?: Redacted<ClusterCredentials>;
}

export type ActiveWriteStep = 'secret' | 'parameter' | 'plain-parameters';
/** The fencing order: a reader that sees the new parameter can already read the matching secret. */
export const activeWriteOrder: readonly ActiveWriteStep[] = ['secret', 'parameter', 'plain-parameters'];

/** Perform one step of an active-configuration switch. Each step is idempotent, so a crashed switch resumes. */
export async function writeActiveStep(
  stores: Stores,
  paths: DeploymentPaths,
  step: ActiveWriteStep,
  next: ActiveConfig,
  credentials: Redacted<ClusterCredentials> | ActiveWriteCredentials,
  options: CallOptions = {},
): Promise<void> {
  switch (step) {
    case 'secret': {
      const { active, holdback } = credentials instanceof Redacted ? { active: credentials } : credentials;
      if ((next.holdback === undefined) !== (holdback === undefined)) {
        // A programming error, not input: the secret and the parameter of one epoch must agree on the holdback.
        throw new Error(
          `active configuration epoch ${next.epoch}: expected holdback credentials exactly when the parameter ` +
            `holds a role back, got ${holdback === undefined ? 'none' : 'some'} for ` +
            (next.holdback ? `${next.holdback.role} on ${next.holdback.cluster}` : 'no holdback'),
        );
      }
      const body: ActiveCredentials = {
        epoch: next.epoch,
        cluster: next.cluster,
        ...active.reveal(),
        ...(next.holdback && holdback
          ? { holdback: { cluster: next.holdback.cluster, ...holdback.reveal() } }
          : {}),
      };
      const text = JSON.stringify(body);
      // Checked before the first write of the switch: refused halfway, it would leave the two stores torn.
      writableParameterText(next);
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > secretValueMaxBytes) {
        throw new ValidationError(`secret ${paths.activeCredentialsSecret} at epoch ${next.epoch}`, [
          {
            path: next.holdback ? 'holdback' : '',
            message: `expected at most ${secretValueMaxBytes} bytes (Secrets Manager's limit), found ${bytes}: the cluster secrets' credentials are too large together`,
          },
        ]);
      }
      await stores.secrets.put(paths.activeCredentialsSecret, new Redacted(text), options);
      return;
    }
    case 'parameter':
      await stores.parameters.put(paths.activeParameter, writableParameterText(next), {
        ...options,
        description: `mm2-failover active configuration, epoch ${next.epoch}`,
      });
      return;
    case 'plain-parameters':
      await stores.parameters.put(paths.activeBootstrapParameter, next.bootstrapServers.join(','), options);
      return;
  }
}

/** The active parameter's text for `next`: what a switch writes and what its read-back must find. */
export function activeParameterText(next: ActiveConfig): string {
  return JSON.stringify(activeConfigSchema.parse(next));
}

/**
 * {@link activeParameterText}, refused when it would not fit a Standard-tier parameter. The schemas' bounds keep
 * every accepted deployment inside it (docs/design.md, the active parameter's size); this says so in words
 * before anything is written, rather than SSM refusing the parameter after the secret moved to the new epoch.
 */
function writableParameterText(next: ActiveConfig): string {
  const text = activeParameterText(next);
  if (text.length > standardParameterMaxChars) {
    throw new ValidationError(`active configuration epoch ${next.epoch}`, [
      {
        path: '',
        message: `expected at most ${standardParameterMaxChars} characters (an SSM Standard-tier parameter), found ${text.length}`,
      },
    ]);
  }
  return text;
}

/** Write a whole switch in the fencing order (the holdback's credentials, if any, in the same secret write). */
export async function writeActive(
  stores: Stores,
  paths: DeploymentPaths,
  next: ActiveConfig,
  credentials: Redacted<ClusterCredentials> | ActiveWriteCredentials,
  onStep?: (step: ActiveWriteStep) => Promise<void> | void,
): Promise<void> {
  for (const step of activeWriteOrder) {
    await writeActiveStep(stores, paths, step, next, credentials);
    await onStep?.(step);
  }
}
