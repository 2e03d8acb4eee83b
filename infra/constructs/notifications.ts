import { ArnFormat, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '#shared/config/schema.ts';

export interface NotificationsProps {
  config: DeploymentConfig;
}

/**
 * The SNS topic every alarm and every switch report goes to, encrypted with its own KMS key (CloudWatch cannot
 * publish to a topic encrypted with the AWS-managed `aws/sns` key), reachable only over TLS.
 */
export class Notifications extends Construct {
  readonly key: Key;
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);

    this.key = new Key(this, 'Key', {
      description: `mm2-failover ${config.name}: encrypts the notifications topic`,
      enableKeyRotation: true,
    });
    // CloudWatch alarm actions publish as the CloudWatch service, which must be able to encrypt for the topic.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        // In a key policy, "*" is this key.
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );

    this.topic = new Topic(this, 'Topic', {
      displayName: `mm2-failover ${config.name}`,
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of config.notifications.emails) {
      this.topic.addSubscription(new EmailSubscription(email));
    }
  }
}
