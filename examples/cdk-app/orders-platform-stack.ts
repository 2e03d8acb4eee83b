import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { Mm2Failover } from 'mm2-failover/cdk';

/**
 * An application team's stack that is not mm2-failover's: it deploys one mm2-failover deployment beside its
 * own service and lets the service's role read the active configuration, nothing more. The config is written
 * inline here; `JSON.parse(readFileSync('failover.config.json', 'utf8'))` works the same (the construct
 * validates either against failover.config.schema.json's zod schema).
 */
export class OrdersPlatformStack extends Stack {
  readonly failover: Mm2Failover;
  readonly serviceRole: Role;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);

    this.failover = new Mm2Failover(this, 'OrdersDr', {
      config: {
        name: 'orders-dr',
        mode: 'active-passive',
        replicationPolicy: 'identity',
        clusters: {
          primary: { alias: 'primary', auth: 'sasl-scram' },
          secondary: { alias: 'secondary', auth: 'sasl-scram' },
        },
        topics: ['orders', 'payments'],
        consumerGroups: ['billing'],
        mirror: {
          kind: 'kafka-connect',
          forwardUrl: 'http://connect-secondary.internal:8083',
          reverseUrl: 'http://connect-primary.internal:8083',
        },
        notifications: { emails: ['orders-oncall@example.com'] },
      },
    });

    // The orders service (here a Lambda function's role; an ECS task role works the same) follows the active
    // cluster with mm2-failover's client library.
    this.serviceRole = new Role(this, 'OrdersServiceRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'orders service: reads the active Kafka configuration of orders-dr',
    });
    this.failover.grantReadActiveConfig(this.serviceRole);

    if (this.failover.failbackDriver) {
      new CfnOutput(this, 'FailbackStateMachineArn', {
        value: this.failover.failbackDriver.stateMachine.stateMachineArn,
      });
    }
    new CfnOutput(this, 'FailoverTableName', { value: this.failover.table.tableName });
  }
}
