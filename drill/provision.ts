import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetParameterHistoryCommand,
  type GetParameterHistoryCommandOutput,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { awsClientConfig } from '#harness/aws-clients.ts';
import type { HarnessInfo } from '#harness/info.ts';
import { activeConfigSchema, type ClusterParameter } from '#shared/config/contract.ts';
import { bundledConfigFileName, configFileVariable } from '#shared/config/load.ts';
import { type DeploymentPaths, deploymentPaths } from '#shared/config/paths.ts';
import type { ClusterRole, DeploymentConfig } from '#shared/config/schema.ts';
import { parseJsonOrThrow } from '#shared/config/validate.ts';
import { initialiseActiveConfig } from '#shared/failover/initialise-active.ts';
import type { Stores } from '#shared/store/active-config.ts';
import { awsClientOptions } from '#shared/store/aws-client-options.ts';
import { ensureFailoverTable } from '#shared/store/dynamo-table.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { SsmParameterStore } from '#shared/store/ssm-parameter-store.ts';
import { dynamoFencing } from '#shared/switch/dynamo-epoch-authority.ts';

export interface Provisioned {
  stores: Stores;
  table: string;
  topicArn: string;
  /**
   * The environment the stack gives the functions, plus what points the SDK at moto (or its fault proxy). The
   * config reaches them as it does in Lambda: a file (in the harness's run folder, not a bundle) named by
   * MM2_FAILOVER_CONFIG_FILE.
   */
  functionEnv: Record<string, string>;
  /** Every epoch the active parameter held, oldest first, from SSM's parameter history (straight to moto). */
  activeEpochHistory(): Promise<number[]>;
}

export interface ProvisionOptions {
  /** The functions' AWS endpoint is the harness's AWS fault proxy instead of moto itself. */
  functionsThroughFaultProxy?: boolean;
}

/**
 * What an operator does after `cdk deploy`, done against moto: the per-cluster parameter and secret of the
 * contract, the table and topic the stack would create, automation on, and the first activation (primary,
 * epoch 0). The clusters are reached over their mTLS listeners with the harness's generated certificates.
 */
export async function provisionDeployment(
  config: DeploymentConfig,
  info: HarnessInfo,
  options: ProvisionOptions = {},
): Promise<Provisioned> {
  const aws = awsClientConfig(info);
  const functionsAws = awsClientConfig(info, { faultProxy: options.functionsThroughFaultProxy === true });
  // The operator's tools bounded as the functions are: a hung call fails the drill's set-up instead of holding it.
  const clientOptions = { ...aws, ...awsClientOptions(config.aws) };
  const paths = deploymentPaths(config.name);
  const ssm = new SSMClient(clientOptions);
  const stores: Stores = {
    parameters: new SsmParameterStore(ssm),
    secrets: new SecretsManagerStore(new SecretsManagerClient(clientOptions)),
  };
  await putClusterDefinitions(config, info, stores, paths);
  await stores.parameters.put(paths.automationParameter, 'enabled');

  const table = `mm2-failover-${config.name}`;
  const dynamodb = new DynamoDBClient(clientOptions);
  await ensureFailoverTable(dynamodb, table);
  const topic = await new SNSClient(clientOptions).send(
    new CreateTopicCommand({ Name: `mm2-failover-${config.name}` }),
  );
  if (!topic.TopicArn) throw new Error('moto created no SNS topic');

  // Epoch 0 claimed from the epoch authority under the lock, as `mm2-failover init --table` does.
  const init = await initialiseActiveConfig(
    { requestedBy: 'drill', reason: 'drill start' },
    {
      config,
      stores,
      paths,
      fencing: dynamoFencing(dynamodb, {
        table,
        deployment: config.name,
        versions: new SecretsManagerStore(new SecretsManagerClient(clientOptions)),
      }),
    },
  );
  if (init.status !== 'initialised')
    throw new Error(`active configuration already existed (epoch ${init.epoch})`);

  const configFile = path.join(info.runDir, bundledConfigFileName);
  writeFileSync(configFile, JSON.stringify(config));

  return {
    stores,
    table,
    topicArn: topic.TopicArn,
    functionEnv: {
      [configFileVariable]: configFile,
      MM2_FAILOVER_TABLE: table,
      MM2_FAILOVER_TOPIC_ARN: topic.TopicArn,
      POWERTOOLS_METRICS_NAMESPACE: paths.metricsNamespace,
      AWS_ENDPOINT_URL: functionsAws.endpoint,
      AWS_REGION: aws.region,
      AWS_DEFAULT_REGION: aws.region,
      AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    },
    activeEpochHistory: async () => {
      const epochs: number[] = [];
      let token: string | undefined;
      do {
        const page: GetParameterHistoryCommandOutput = await ssm.send(
          new GetParameterHistoryCommand({ Name: paths.activeParameter, NextToken: token }),
        );
        for (const p of page.Parameters ?? []) {
          const version = `parameter ${paths.activeParameter} version ${p.Version}`;
          epochs.push(parseJsonOrThrow(activeConfigSchema, p.Value ?? '', version).epoch);
        }
        token = page.NextToken;
      } while (token);
      return epochs;
    },
  };
}

/** Each cluster's parameter and secret of the contract, reached over the harness's mTLS listener. */
async function putClusterDefinitions(
  config: DeploymentConfig,
  info: HarnessInfo,
  stores: Stores,
  paths: DeploymentPaths,
): Promise<void> {
  if (!info.tls) throw new Error('the drill needs the harness with its mTLS listener');
  const tls = info.tls;
  const credentials = {
    ca: readFileSync(tls.caPath, 'utf8'),
    cert: readFileSync(tls.certPath, 'utf8'),
    key: readFileSync(tls.keyPath, 'utf8'),
  };
  for (const role of ['primary', 'secondary'] as const satisfies readonly ClusterRole[]) {
    const cluster = info.clusters[role];
    if (!cluster.tlsBootstrapServers) throw new Error(`harness cluster ${role} has no mTLS listener`);
    const parameter: ClusterParameter = {
      alias: config.clusters[role].alias,
      bootstrapServers: cluster.tlsBootstrapServers.split(','),
      securityProtocol: 'SSL',
    };
    await stores.parameters.put(paths.clusterParameter(role), JSON.stringify(parameter));
    await stores.secrets.put(paths.clusterSecret(role), new Redacted(JSON.stringify(credentials)));
  }
}
